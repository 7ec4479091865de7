package daemon

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/ferry-dev/ferry/daemon/datadir"
	"github.com/ferry-dev/ferry/daemon/transfer"
)

// TestGuestSendSurvivesDaemonRestart: a phone sends a file to a laptop
// whose daemon is stopped mid-file and started again on the same port. The
// page, still open, reconnects to the hub and offers the rest in a new
// session; the restarted daemon, which kept where the transfer stood on
// disk, takes it from there. The bytes after the restart are exactly the
// ones missing.
func TestGuestSendSurvivesDaemonRestart(t *testing.T) {
	l := newGuestLAN(t)
	shapeLink(t, l.ns, "eth0", "40mbit")
	start := restartableLaptop(t, l, func(c *Config) { c.Accept = datadir.AcceptAll })
	d, stop := start(l.hostAddr + ":0")
	addr := d.Addr().String()
	b := guestPage(t, l, "http://"+addr+"/")
	id := guestID(t, b)
	showPageOnFailure(t, b)
	const size = 48 << 20
	src, sum := randomFile(t, "recording.bin", size)
	sendFromPage(t, b, d.ID().String(), src)
	in := incomingFrom(t, d, id, 12<<20)
	stop()

	d, _ = start(addr)
	info := awaitTransfer(t, d, in.ID)
	if info.State != transfer.StateDone {
		t.Fatalf("after the restart the receipt ended %s %q", info.State, info.Error)
	}
	if len(info.Resumed) == 0 || info.Resumed[0] < 12<<20 {
		t.Fatalf("the restarted daemon took up from %v; it held 12 MiB or more", info.Resumed)
	}
	if info.Arrived != size-info.Resumed[0] {
		t.Fatalf("%d bytes arrived after the restart for the %d missing", info.Arrived, size-info.Resumed[0])
	}
	if fileSum(t, filepath.Join(d.cfg.Downloads, "recording.bin")) != sum {
		t.Fatal("the file on disk differs from the one the page sent")
	}
	b.waitText(t, "#transfers", "Sent to laptop, every file verified")
	t.Logf("took up from %d of %d after the restart", info.Resumed[0], size)
}

// incomingFrom waits until d receives from peer and holds at least n bytes.
func incomingFrom(t *testing.T, d *Daemon, peer string, n int64) transfer.Info {
	t.Helper()
	timeout := time.After(transferPatience)
	for {
		changed := d.manager.Changed()
		for _, info := range d.manager.List() {
			if info.Direction == "in" && info.Peer == peer && info.Done >= n {
				return info
			}
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("%s never held %d bytes from %s: %+v", d.cfg.Name, n, peer, d.manager.List())
		}
	}
}
