package transfer

import (
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-dev/ferry/daemon/identity"
)

// locator is a Config.Locate a test moves a device in.
type locator struct {
	mu    sync.Mutex
	at    map[identity.ID]string
	asked []identity.ID
}

func (l *locator) locate(id identity.ID) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.asked = append(l.asked, id)
	if a, ok := l.at[id]; ok {
		return []string{a}
	}
	return nil
}

func (l *locator) move(id identity.ID, addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.at[id] = addr
}

func (l *locator) wasAsked(id identity.ID) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Contains(l.asked, id)
}

// parts lists the part files under dir.
func parts(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.Walk(dir, func(p string, _ os.FileInfo, _ error) error {
		if strings.HasSuffix(p, ".part") {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// names lists the entries of dir.
func names(dir string) []string {
	des, _ := os.ReadDir(dir)
	var out []string
	for _, de := range des {
		out = append(out, de.Name())
	}
	return out
}

// TestFollowsReceiverToNewPort: a receiver sent to by address stops in
// the middle and comes back on another port. The sender learnt its device
// ID from the first session, asks where that device is now, and continues
// there from what the receiver holds.
func TestFollowsReceiverToNewPort(t *testing.T) {
	where := &locator{at: map[identity.ID]string{}}
	sender := startNode(t, nodeOpts{locate: where.locate})
	receiver := startNode(t, nodeOpts{autoAccept: true})
	const size = 48 << 20
	src := filepath.Join(t.TempDir(), "big.bin")
	want := writeRandom(t, src, size)
	id, err := sender.m.Send(receiver.direct(), []string{src})
	if err != nil {
		t.Fatal(err)
	}
	receiver.wait(id, func(i Info) bool { return i.Done >= 12<<20 })
	receiver.stop()
	moved := startNode(t, nodeOpts{dir: receiver.dir, autoAccept: true})
	in, _ := moved.m.Get(id)
	if moved.addr == receiver.addr || in.State != StateInterrupted {
		t.Fatalf("restarted at %s (was %s) holding %+v", moved.addr, receiver.addr, in)
	}
	where.move(moved.id.ID, moved.addr)

	out := sender.wait(id, final)
	if out.State != StateDone || out.Addr != moved.addr {
		t.Fatalf("sender ended %s at %s (the receiver is at %s): %s", out.State, out.Addr, moved.addr, out.Error)
	}
	if !where.wasAsked(moved.id.ID) {
		t.Error("the sender never asked where the device is")
	}
	if got := fileHash(t, filepath.Join(moved.dl, "big.bin")); got != want {
		t.Fatalf("hash %s, want %s", got, want)
	}
	checkResumedWithoutResend(t, out, in.Done, size)
}

// TestRestoredTransferFollowsReceiver: the sender restarts while the
// receiver is away, and the receiver comes back on another port. The
// transfer the sender takes up from disk goes to the device, wherever it
// is now.
func TestRestoredTransferFollowsReceiver(t *testing.T) {
	where := &locator{at: map[identity.ID]string{}}
	sendDir := t.TempDir()
	sender := startNode(t, nodeOpts{dir: sendDir})
	receiver := startNode(t, nodeOpts{autoAccept: true})
	const size = 32 << 20
	src := filepath.Join(t.TempDir(), "big.bin")
	want := writeRandom(t, src, size)
	id, err := sender.m.Send(receiver.direct(), []string{src})
	if err != nil {
		t.Fatal(err)
	}
	receiver.wait(id, func(i Info) bool { return i.Done >= 8<<20 })
	sender.stop()
	receiver.stop()

	moved := startNode(t, nodeOpts{dir: receiver.dir, autoAccept: true})
	where.move(moved.id.ID, moved.addr)
	sender = startNode(t, nodeOpts{dir: sendDir, locate: where.locate})
	out := sender.wait(id, final)
	if out.State != StateDone || out.Addr != moved.addr {
		t.Fatalf("restored transfer ended %s at %s (the receiver is at %s): %s", out.State, out.Addr, moved.addr, out.Error)
	}
	if got := fileHash(t, filepath.Join(moved.dl, "big.bin")); got != want {
		t.Fatalf("hash %s, want %s", got, want)
	}
}

// interruptAt starts sending src to receiver and stops the receiver
// once it holds at least n bytes; it returns the transfer ID and the size
// of the part file the receiver left.
func interruptAt(t *testing.T, sender, receiver *node, src string, n int64) (string, int64) {
	t.Helper()
	id, err := sender.m.Send(receiver.direct(), []string{src})
	if err != nil {
		t.Fatal(err)
	}
	receiver.wait(id, func(i Info) bool { return i.Done >= n })
	receiver.stop()
	st, err := os.Stat(filepath.Join(receiver.dl, filepath.Base(src)+".part"))
	if err != nil {
		t.Fatal(err)
	}
	return id, st.Size()
}

// appendTo appends n bytes from r to the file at path.
func appendTo(t *testing.T, path string, r io.Reader, n int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := io.CopyN(f, r, n); err != nil {
		t.Fatal(err)
	}
}

// TestResumeTakesUpBytesPastCheckpoint: a receiver killed between two
// checkpoints has written bytes its resume state does not count. They are
// offered with their SHA-256, the sender finds them right, and nothing is
// sent again.
func TestResumeTakesUpBytesPastCheckpoint(t *testing.T) {
	sender := startNode(t, nodeOpts{})
	receiver := startNode(t, nodeOpts{autoAccept: true})
	const size = 32 << 20
	const extra = 3<<20 + 123
	src := filepath.Join(t.TempDir(), "big.bin")
	want := writeRandom(t, src, size)
	id, held := interruptAt(t, sender, receiver, src, 8<<20)
	// What a killed daemon leaves: the next bytes, written, not counted.
	f, _ := os.Open(src)
	f.Seek(held, io.SeekStart)
	appendTo(t, filepath.Join(receiver.dl, "big.bin.part"), f, extra)
	f.Close()

	restarted := startNode(t, nodeOpts{dir: receiver.dir, addr: receiver.addr, autoAccept: true})
	if in, _ := restarted.m.Get(id); in.Done != held {
		t.Fatalf("the restarted receiver counts %d bytes, want the checkpoint's %d", in.Done, held)
	}
	out := sender.wait(id, final)
	if out.State != StateDone {
		t.Fatalf("sender ended %+v", out)
	}
	if got := fileHash(t, filepath.Join(restarted.dl, "big.bin")); got != want {
		t.Fatalf("hash %s, want %s", got, want)
	}
	if len(out.Resumed) == 0 || out.Resumed[len(out.Resumed)-1] != held+extra {
		t.Fatalf("resumed at %v; the receiver held %d on disk", out.Resumed, held+extra)
	}
	// The test wrote extra bytes itself: the sender put the rest on the
	// wire, what was in flight at the stop again, and not those.
	if resent := out.Sent + extra - size; resent < 0 || resent > 2*bufferHigh {
		t.Fatalf("sent %d bytes for the %d the test did not write: %d re-sent", out.Sent, size-extra, resent)
	}
}

// TestResumeRestartsFileThatDiffers: bytes past the checkpoint that are
// not the sender's (zeros after a power cut) are offered, the sender finds
// their SHA-256 wrong and sends the file from its start, and the receiver
// starts it over: the file arrives whole.
func TestResumeRestartsFileThatDiffers(t *testing.T) {
	sender := startNode(t, nodeOpts{})
	receiver := startNode(t, nodeOpts{autoAccept: true})
	const size = 24 << 20
	src := filepath.Join(t.TempDir(), "big.bin")
	want := writeRandom(t, src, size)
	id, held := interruptAt(t, sender, receiver, src, 6<<20)
	appendTo(t, filepath.Join(receiver.dl, "big.bin.part"), rand.Reader, 1<<20)

	restarted := startNode(t, nodeOpts{dir: receiver.dir, addr: receiver.addr, autoAccept: true})
	out := sender.wait(id, final)
	if out.State != StateDone {
		t.Fatalf("sender ended %+v", out)
	}
	if got := fileHash(t, filepath.Join(restarted.dl, "big.bin")); got != want {
		t.Fatalf("hash %s, want %s", got, want)
	}
	if out.Sent < size+held {
		t.Fatalf("sent %d bytes: the file was not sent again from its start after %d held", out.Sent, held)
	}
	if p := parts(t, restarted.dl); len(p) != 0 {
		t.Fatalf("part files left: %v", p)
	}
}

// TestSendAgainContinues: the sender loses its transfer (here its saved
// state goes with a restart) while the receiver holds part of it. Sending
// the same files again to the same device continues what the receiver
// holds: no second copy, the completed file counted as verified, and only
// what was missing on the wire.
func TestSendAgainContinues(t *testing.T) {
	sendDir := t.TempDir()
	sender := startNode(t, nodeOpts{dir: sendDir})
	receiver := startNode(t, nodeOpts{autoAccept: true})
	root := filepath.Join(t.TempDir(), "album")
	const first, second = 2 << 20, 30 << 20
	hashes := map[string]string{
		"a.bin": writeRandom(t, filepath.Join(root, "a.bin"), first),
		"b.bin": writeRandom(t, filepath.Join(root, "b.bin"), second),
	}
	id, err := sender.m.Send(receiver.direct(), []string{root})
	if err != nil {
		t.Fatal(err)
	}
	held := receiver.wait(id, func(i Info) bool { return i.Done >= first+6<<20 }).Done
	sender.stop()
	in := receiver.wait(id, func(i Info) bool { return i.State == StateInterrupted })
	if in.Held == 0 || in.Held != in.Done-first || in.Verified != 1 {
		t.Fatalf("the interrupted transfer shows %d held of %d done, %d verified", in.Held, in.Done, in.Verified)
	}
	// The sender forgets it, as one that gave up or lost its data folder.
	os.RemoveAll(filepath.Join(sendDir, "transfers"))
	sender = startNode(t, nodeOpts{dir: sendDir})

	again, err := sender.m.Send(receiver.direct(), []string{root})
	if err != nil {
		t.Fatal(err)
	}
	out := sender.wait(again, final)
	if out.State != StateDone || out.Verified != 2 {
		t.Fatalf("the second send ended %+v", out)
	}
	if got := names(receiver.dl); !slices.Equal(got, []string{"album"}) {
		t.Fatalf("downloads hold %v, want the one folder", got)
	}
	for name, want := range hashes {
		if got := fileHash(t, filepath.Join(receiver.dl, "album", name)); got != want {
			t.Errorf("%s: hash %s, want %s", name, got, want)
		}
	}
	if len(out.Resumed) == 0 || out.Resumed[0] < in.Done {
		t.Fatalf("the second send started at %v; the receiver held %d", out.Resumed, in.Done)
	}
	if sent := out.Sent; sent > first+second-in.Done+2*bufferHigh {
		t.Fatalf("the second send put %d bytes on the wire for the %d missing", sent, first+second-in.Done)
	}
	t.Logf("held %d (%d at the stop), the second send sent %d of %d", in.Done, held, out.Sent, first+second)
	old, _ := receiver.m.Get(id)
	if old.State != StateCancelled || !strings.Contains(old.Error, again) {
		t.Errorf("the earlier transfer shows %s %q", old.State, old.Error)
	}
	if states, _ := os.ReadDir(filepath.Join(receiver.dir, "transfers")); len(states) != 0 {
		t.Errorf("the receiver keeps states: %v", names(filepath.Join(receiver.dir, "transfers")))
	}
}

// TestCleanDropsHeld: the owner's Clean removes the part files and state
// of every interrupted incoming transfer and says what it removed; a
// transfer in progress is left alone.
func TestCleanDropsHeld(t *testing.T) {
	sender := startNode(t, nodeOpts{})
	receiver := startNode(t, nodeOpts{autoAccept: true})
	src := filepath.Join(t.TempDir(), "big.bin")
	writeRandom(t, src, 16<<20)
	id, held := interruptAt(t, sender, receiver, src, 2<<20)
	sender.stop()
	receiver = startNode(t, nodeOpts{dir: receiver.dir, autoAccept: true})
	if in, _ := receiver.m.Get(id); in.State != StateInterrupted || in.Held != held {
		t.Fatalf("after the restart: %s holding %d, want interrupted holding %d", in.State, in.Held, held)
	}
	dropped := receiver.m.Clean()
	if len(dropped) != 1 || dropped[0].Info.ID != id || dropped[0].Bytes != held || !slices.Equal(dropped[0].Parts, []string{"big.bin.part"}) {
		t.Fatalf("Clean returned %+v", dropped)
	}
	if p := parts(t, receiver.dl); len(p) != 0 {
		t.Fatalf("part files left: %v", p)
	}
	if in, _ := receiver.m.Get(id); in.State != StateCancelled || in.Held != 0 {
		t.Fatalf("after Clean: %+v", in)
	}
	if states := names(filepath.Join(receiver.dir, "transfers")); len(states) != 0 {
		t.Fatalf("states left: %v", states)
	}
	if again := receiver.m.Clean(); len(again) != 0 {
		t.Fatalf("a second Clean removed %+v", again)
	}
}

// TestSweepOldInterrupted: at start, an interrupted transfer nothing
// arrived for in KeepInterrupted goes, its part files with it; a younger
// one stays.
func TestSweepOldInterrupted(t *testing.T) {
	sender := startNode(t, nodeOpts{})
	receiver := startNode(t, nodeOpts{autoAccept: true})
	src := filepath.Join(t.TempDir(), "big.bin")
	writeRandom(t, src, 16<<20)
	id, _ := interruptAt(t, sender, receiver, src, 2<<20)
	sender.stop()

	kept := startNode(t, nodeOpts{dir: receiver.dir, keep: time.Hour})
	if in, _ := kept.m.Get(id); in.State != StateInterrupted || len(parts(t, kept.dl)) != 1 {
		t.Fatalf("a young interrupted transfer: %s, parts %v", in.State, parts(t, kept.dl))
	}
	kept.stop()
	swept := startNode(t, nodeOpts{dir: receiver.dir, keep: time.Millisecond})
	in, _ := swept.m.Get(id)
	if in.State != StateExpired || !strings.Contains(in.Error, "nothing arrived") {
		t.Fatalf("an old interrupted transfer: %s %q", in.State, in.Error)
	}
	if p := parts(t, swept.dl); len(p) != 0 {
		t.Fatalf("part files left: %v", p)
	}
	if states := names(filepath.Join(receiver.dir, "transfers")); len(states) != 0 {
		t.Fatalf("states left: %v", states)
	}
}
