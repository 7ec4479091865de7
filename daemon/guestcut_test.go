package daemon

import (
	"path/filepath"
	"testing"

	"github.com/ferry-dev/ferry/daemon/transfer"
)

// TestGuestSendLinkDrops: a phone sends a laptop a file; the phone's link
// goes down for ten seconds mid-file. The page shows the transfer paused;
// once the link is back either its ICE restart brings the session back, or
// it makes a new session and the laptop goes on from the bytes it holds;
// the file lands verified. The laptop took each byte from the wire once;
// the page sent again at most what the cut lost in flight (nothing, when
// the session was restarted in place).
func TestGuestSendLinkDrops(t *testing.T) {
	l, d, b, id := shapedGuest(t)
	const size = 32 << 20
	src, sum := randomFile(t, "video.bin", size)
	watchSending(t, b)
	sendFromPage(t, b, d.ID().String(), src)
	in := incomingFrom(t, d, id, 8<<20)
	// What the laptop holds now it holds at the cut, and keeps.
	held := in.Done
	if now, err := d.manager.Get(in.ID); err == nil && now.Done > held {
		held = now.Done
	}
	outage(t, l, b)

	info := awaitTransfer(t, d, in.ID)
	if info.State != transfer.StateDone {
		t.Fatalf("the laptop's receipt ended %s %q", info.State, info.Error)
	}
	if fileSum(t, filepath.Join(d.cfg.Downloads, "video.bin")) != sum {
		t.Fatal("the file on disk differs from the one the page sent")
	}
	b.waitText(t, "#transfers", "Sent to laptop, every file verified")
	s := sending(t, b)
	if len(s) == 0 {
		t.Fatal("the page lists no transfer it sends")
	}
	got := s[len(s)-1]
	if len(info.Resumed) == 0 {
		// The page's ICE restart reached the laptop before its side of
		// the session gave up: the session went on, and nothing may have
		// gone twice.
		if len(got.Resumed) != 1 || got.SentBytes != size || info.Arrived != size {
			t.Fatalf("no new session, yet the page's sessions started at %v and it sent %d file bytes, the laptop took %d, for a file of %d",
				got.Resumed, got.SentBytes, info.Arrived, size)
		}
		t.Logf("restarted in place: %d file bytes sent for %d", got.SentBytes, size)
		return
	}
	for _, at := range info.Resumed {
		if at < held {
			t.Fatalf("the laptop took up from %v; it held %d bytes at the cut", info.Resumed, held)
		}
	}
	// Each byte came off the wire once: what the laptop holds is the file,
	// and the chunks it took add up to the file, no more.
	if info.Done != size || info.Arrived != size {
		t.Fatalf("the laptop holds %d bytes and took %d from the wire, for a file of %d", info.Done, info.Arrived, size)
	}
	if len(got.Resumed) < 2 || got.Resumed[len(got.Resumed)-1] != info.Resumed[len(info.Resumed)-1] {
		t.Fatalf("the page's sessions started at %v; the laptop's resumes at %v", got.Resumed, info.Resumed)
	}
	// What the page sends again is what it had put on the data channel and
	// the laptop never took: what waited in the page's queue (up to the
	// high mark and a chunk) and what SCTP had sent without an
	// acknowledgement. The laptop advertises a 16 MiB window, but on this
	// link the congestion window bounds the unacknowledged bytes far below
	// that: tbf holds 100 ms at 40 Mbit/s (500 kB) and a 256 kB burst, and
	// drops the rest, which halves the window. inFlightSlack's 5 MiB for
	// them is room to spare, and one cut is one slack.
	if got.SentBytes < size || got.SentBytes > size+inFlightSlack {
		t.Fatalf("%d file bytes went out in %d sessions for a file of %d (slack %d)", got.SentBytes, len(got.Resumed), size, inFlightSlack)
	}
	t.Logf("the laptop held %d at the cut and took up from %v; the page sent %d file bytes for %d: %d sent again",
		held, info.Resumed, got.SentBytes, size, got.SentBytes-size)
}

// TestGuestReceiveSurvivesDaemonRestart: a laptop sends a phone a file and
// its daemon is stopped mid-file and started again on the same port with
// the same data folder. The page, still open, waits for the laptop; the
// restarted daemon, which kept the transfer on disk, offers it again, the
// page answers with where it stands, and the daemon sends only the rest.
// The file the page saves has the source's SHA-256.
func TestGuestReceiveSurvivesDaemonRestart(t *testing.T) {
	l := newGuestLAN(t)
	// Slow what the laptop sends to 40 Mbit/s, so the file is still on its
	// way when the daemon stops.
	shapeLink(t, "", l.hostIf, "40mbit")
	start := restartableLaptop(t, l, nil)
	d, stop := start(l.hostAddr + ":0")
	addr := d.Addr().String()
	b := guestPage(t, l, "http://"+addr+"/")
	id := guestID(t, b)
	showPageOnFailure(t, b)
	const size = 40 << 20
	src, sum := randomFile(t, "holiday.bin", size)
	out, err := transfers{d}.Send(id, []string{src})
	if err != nil {
		t.Fatal(err)
	}
	b.waitText(t, "#incoming", "laptop wants to send you 1 file")
	b.click(t, `#incoming [data-transfer] button.accept`)
	// The page acknowledges every MiB it holds: it holds at least this.
	acked := awaitInfo(t, d, out, "8 MiB at the page", func(i transfer.Info) bool { return i.Done >= 8<<20 }).Done
	stop()
	b.waitText(t, "#transfers", "reconnecting, waiting for laptop to come back")

	d, _ = start(addr)
	if _, err := d.manager.Get(out); err != nil {
		t.Fatalf("the restarted daemon does not know its send %s to the page: %v", out, err)
	}
	info := awaitTransfer(t, d, out)
	if info.State != transfer.StateDone {
		t.Fatalf("after the restart the send ended %s %q", info.State, info.Error)
	}
	b.waitText(t, "#transfers", "Received from laptop, every file verified")
	if got := saveReceived(t, b, "holiday.bin"); got != sum {
		t.Fatalf("the page holds a file with SHA-256 %x, the daemon sent %x", got, sum)
	}
	if len(info.Resumed) == 0 || info.Resumed[0] < acked {
		t.Fatalf("the restarted daemon went on from %v; the page had acknowledged %d bytes", info.Resumed, acked)
	}
	// Nothing is lost in flight in the sessions after the restart unless
	// one of them breaks too: each break adds one slack.
	from := info.Resumed[0]
	if info.Sent < size-from || info.Sent > size-from+int64(len(info.Resumed)-1)*inFlightSlack {
		t.Fatalf("after the restart %d file bytes went out in %d sessions for the %d the page was missing", info.Sent, len(info.Resumed), size-from)
	}
	t.Logf("the page had acknowledged %d; the restarted daemon went on from %v and sent %d of %d", acked, info.Resumed, info.Sent, size)
}
