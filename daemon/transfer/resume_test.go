package transfer

import (
	"github.com/ferry-dev/ferry/daemon/proto"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

func TestSendFolderTree(t *testing.T) {
	sender := startNode(t, nodeOpts{})
	receiver := startNode(t, nodeOpts{autoAccept: true})
	root := filepath.Join(t.TempDir(), "album")
	hashes := map[string]string{
		"album/a.jpg":          writeRandom(t, filepath.Join(root, "a.jpg"), 1000),
		"album/2024/b.jpg":     writeRandom(t, filepath.Join(root, "2024", "b.jpg"), 70000),
		"album/2024/deep/c.tx": writeRandom(t, filepath.Join(root, "2024", "deep", "c.tx"), 0),
	}
	os.MkdirAll(filepath.Join(root, "empty", "inner"), 0o755)
	mtime := time.Date(2021, 5, 6, 7, 8, 9, 0, time.UTC)
	os.Chtimes(filepath.Join(root, "a.jpg"), mtime, mtime)
	// The same name exists already: the folder arrives as "album (1)".
	os.MkdirAll(filepath.Join(receiver.dl, "album"), 0o755)

	id, err := sender.m.Send(receiver.direct(), []string{root})
	if err != nil {
		t.Fatal(err)
	}
	if out := sender.wait(id, final); out.State != StateDone || out.Verified != 3 {
		t.Fatalf("sender ended %+v", out)
	}
	for rel, want := range hashes {
		p := filepath.Join(receiver.dl, strings.Replace(rel, "album", "album (1)", 1))
		if got := fileHash(t, p); got != want {
			t.Errorf("%s: hash %s, want %s", rel, got, want)
		}
	}
	if st, err := os.Stat(filepath.Join(receiver.dl, "album (1)", "empty", "inner")); err != nil || !st.IsDir() {
		t.Errorf("empty folder missing: %v", err)
	}
	st, _ := os.Stat(filepath.Join(receiver.dl, "album (1)", "a.jpg"))
	if !st.ModTime().Equal(mtime) {
		t.Errorf("mtime %v, want %v", st.ModTime(), mtime)
	}
	var parts []string
	filepath.Walk(receiver.dl, func(p string, _ os.FileInfo, _ error) error {
		if strings.HasSuffix(p, ".part") {
			parts = append(parts, p)
		}
		return nil
	})
	if len(parts) != 0 {
		t.Errorf("part files left: %v", parts)
	}
}

func TestDeclineAndExpiry(t *testing.T) {
	sender := startNode(t, nodeOpts{})
	receiver := startNode(t, nodeOpts{pendingTTL: 500 * time.Millisecond})
	src := filepath.Join(t.TempDir(), "x.bin")
	writeRandom(t, src, 10)

	id, err := sender.m.Send(receiver.direct(), []string{src})
	if err != nil {
		t.Fatal(err)
	}
	in := receiver.wait(id, func(i Info) bool { return i.State == StatePending })
	if in.PeerName == "" || len(in.Items) != 1 || in.Items[0] != "x.bin" || in.Bytes != 10 {
		t.Fatalf("pending offer shows %+v", in)
	}
	if err := receiver.m.Decline(id); err != nil {
		t.Fatal(err)
	}
	out := sender.wait(id, final)
	if out.State != StateDeclined || out.Code != proto.CodeDeclined || !strings.Contains(out.Error, "declined") {
		t.Fatalf("sender after decline: %+v", out)
	}

	id, _ = sender.m.Send(receiver.direct(), []string{src})
	out = sender.wait(id, final)
	if out.State != StateExpired || out.Code != proto.CodeExpired || !strings.Contains(out.Error, "expired") {
		t.Fatalf("sender after expiry: %+v", out)
	}
	if err := receiver.m.Accept(id); err == nil {
		t.Fatal("accepted an expired offer")
	}
	if entries, _ := os.ReadDir(receiver.dl); len(entries) != 0 {
		t.Fatalf("downloads after decline and expiry: %v", entries)
	}
}

// cutReceiverSessions closes the receiver's peer connections, as a network
// drop would.
func cutReceiverSessions(n *node) {
	n.m.mu.Lock()
	var all []*rsession
	for _, rs := range n.m.rs {
		all = append(all, rs)
	}
	n.m.mu.Unlock()
	for _, rs := range all {
		rs.pc.Close()
	}
}

func TestResumeAfterCut(t *testing.T) {
	sender := startNode(t, nodeOpts{})
	receiver := startNode(t, nodeOpts{autoAccept: true})
	const size = 100 << 20
	src := filepath.Join(t.TempDir(), "big.bin")
	want := writeRandom(t, src, size)
	id, err := sender.m.Send(receiver.direct(), []string{src})
	if err != nil {
		t.Fatal(err)
	}
	receiver.wait(id, func(i Info) bool { return i.Done >= 20<<20 })
	cutReceiverSessions(receiver)
	in := receiver.wait(id, func(i Info) bool { return i.State == StateInterrupted || i.State.Final() })
	if in.State != StateInterrupted {
		t.Fatalf("receiver after the cut: %+v", in)
	}
	if _, err := os.Stat(filepath.Join(receiver.dl, "big.bin")); !os.IsNotExist(err) {
		t.Fatal("the file has its final name before it is complete")
	}
	out := sender.wait(id, final)
	if out.State != StateDone {
		t.Fatalf("sender ended %+v", out)
	}
	if got := fileHash(t, filepath.Join(receiver.dl, "big.bin")); got != want {
		t.Fatalf("hash after resume %s, want %s", got, want)
	}
	checkResumedWithoutResend(t, out, in.Done, size)
}

// checkResumedWithoutResend asserts that the sender resumed from what the
// receiver held, re-sending at most what was in flight at the cut.
func checkResumedWithoutResend(t *testing.T, out Info, heldAtCut, size int64) {
	t.Helper()
	if len(out.Resumed) == 0 || out.Resumed[0] < heldAtCut {
		t.Fatalf("resumed from %v; the receiver held %d at the cut", out.Resumed, heldAtCut)
	}
	resent := out.Sent - size
	if resent < 0 || resent > 2*bufferHigh {
		t.Fatalf("sent %d bytes for %d: %d re-sent, more than what can be in flight", out.Sent, size, resent)
	}
	t.Logf("resumed from %v, re-sent %d bytes", out.Resumed, resent)
}

func TestResumeAfterReceiverRestart(t *testing.T) {
	sender := startNode(t, nodeOpts{})
	receiver := startNode(t, nodeOpts{autoAccept: true})
	const size = 100 << 20
	src := filepath.Join(t.TempDir(), "big.bin")
	want := writeRandom(t, src, size)
	id, err := sender.m.Send(receiver.direct(), []string{src})
	if err != nil {
		t.Fatal(err)
	}
	receiver.wait(id, func(i Info) bool { return i.Done >= 20<<20 })
	receiver.stop()
	states, _ := os.ReadDir(filepath.Join(receiver.dir, "transfers"))
	if len(states) != 1 {
		t.Fatalf("saved states after stop: %v", states)
	}
	restarted := startNode(t, nodeOpts{dir: receiver.dir, addr: receiver.addr, autoAccept: true})
	in, err := restarted.m.Get(id)
	if err != nil || in.State != StateInterrupted || in.Done < 20<<20 {
		t.Fatalf("restarted receiver shows %+v, %v", in, err)
	}
	out := sender.wait(id, final)
	if out.State != StateDone {
		t.Fatalf("sender ended %+v", out)
	}
	if got := fileHash(t, filepath.Join(restarted.dl, "big.bin")); got != want {
		t.Fatalf("hash after restart %s, want %s", got, want)
	}
	checkResumedWithoutResend(t, out, in.Done, size)
	names, _ := os.ReadDir(restarted.dl)
	var list []string
	for _, n := range names {
		list = append(list, n.Name())
	}
	sort.Strings(list)
	if strings.Join(list, ",") != "big.bin" {
		t.Fatalf("downloads hold %v", list)
	}
}

func TestIdentityChangeRefused(t *testing.T) {
	sender := startNode(t, nodeOpts{})
	first := startNode(t, nodeOpts{autoAccept: true})
	src := filepath.Join(t.TempDir(), "x.bin")
	writeRandom(t, src, 100)
	id, _ := sender.m.Send(first.direct(), []string{src})
	if out := sender.wait(id, final); out.State != StateDone || out.Peer != first.id.ID.String() {
		t.Fatalf("first contact: %+v", out)
	}
	// Another device now answers at the same address.
	first.stop()
	impostor := startNode(t, nodeOpts{addr: first.addr, autoAccept: true})
	id, _ = sender.m.Send(impostor.direct(), []string{src})
	out := sender.wait(id, final)
	if out.State != StateFailed || out.Code != "identity-changed" || !strings.Contains(out.Error, "identity changed") {
		t.Fatalf("send to a changed identity: %+v", out)
	}
	if entries, _ := os.ReadDir(impostor.dl); len(entries) != 0 {
		t.Fatalf("impostor received %v", entries)
	}
}
