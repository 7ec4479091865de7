package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-dev/ferry/daemon/datadir"
	"github.com/ferry-dev/ferry/daemon/transfer"
)

// TestSenderRestartResumes stops the sending daemon in the middle of a
// transfer and starts it again on the same data folder: the transfer is
// taken up by itself, goes on from what the receiver holds, and the file
// arrives whole, once.
func TestSenderRestartResumes(t *testing.T) {
	recv := startTestDaemon(t, "receiver")
	dir := t.TempDir()
	send, stop := runTestDaemonIn(t, "sender", dir)
	src, sum := randomFile(t, "film.bin", 96<<20)
	id, err := send.manager.Send(transfer.Direct(recv.Addr().String(), recv.ID()), []string{src})
	if err != nil {
		t.Fatal(err)
	}
	held := func() int64 {
		info, err := recv.manager.Get(id)
		if err != nil {
			return 0
		}
		return info.Done
	}
	for held() < 20<<20 {
		<-recv.manager.Changed()
	}
	stop()
	if info, _ := recv.manager.Get(id); info.State.Final() || info.Done >= info.Bytes {
		t.Fatalf("the transfer ended before the sender stopped: %+v", info)
	}

	send, _ = runTestDaemonIn(t, "sender", dir)
	if _, err := send.manager.Get(id); err != nil {
		t.Fatalf("the restarted sender does not list the transfer: %v", err)
	}
	info := awaitTransfer(t, send, id)
	if info.State != transfer.StateDone {
		t.Fatalf("after the restart: %s %s", info.State, info.Error)
	}
	got := awaitTransfer(t, recv, id)
	if len(got.Resumed) == 0 || got.Resumed[len(got.Resumed)-1] < 16<<20 {
		t.Errorf("the receiver did not continue from what it held: resumed at %v", got.Resumed)
	}
	if fileSum(t, filepath.Join(recv.cfg.Downloads, "film.bin")) != sum {
		t.Fatal("the file differs after the restart")
	}
	if entries, _ := os.ReadDir(recv.cfg.Downloads); len(entries) != 1 {
		t.Fatalf("downloads hold %d entries, want the one file", len(entries))
	}
	if states, _ := send.dir.States().List(); len(states) != 0 {
		t.Errorf("the sender keeps state of a finished transfer: %v", states)
	}
}

// TestSenderRestartFileChanged: a file that changed while the sender was
// stopped is not resumed; the transfer says why.
func TestSenderRestartFileChanged(t *testing.T) {
	recv, _ := runTestDaemonWith(t, "receiver", t.TempDir(), func(c *Config) { c.Accept = datadir.AcceptNone })
	dir := t.TempDir()
	send, stop := runTestDaemonIn(t, "sender", dir)
	src, _ := randomFile(t, "notes.bin", 1<<20)
	id, err := send.manager.Send(transfer.Direct(recv.Addr().String(), recv.ID()), []string{src})
	if err != nil {
		t.Fatal(err)
	}
	// The offer waits for the receiver's owner when the sender stops.
	for info, _ := recv.manager.Get(id); info.State != transfer.StatePending; info, _ = recv.manager.Get(id) {
		<-recv.manager.Changed()
	}
	stop()
	if err := os.WriteFile(src, []byte("shorter now"), 0o600); err != nil {
		t.Fatal(err)
	}
	send, _ = runTestDaemonIn(t, "sender", dir)
	info, err := send.manager.Get(id)
	if err != nil {
		t.Fatal(err)
	}
	if info.State != transfer.StateFailed || !strings.Contains(info.Error, "changed while ferry was stopped") {
		t.Fatalf("after the restart: %s %q", info.State, info.Error)
	}
}
