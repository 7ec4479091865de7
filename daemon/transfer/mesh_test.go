package transfer

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-dev/ferry/daemon/identity"
	"github.com/ferry-dev/ferry/daemon/proto"
	"github.com/ferry-dev/ferry/daemon/signal"
)

// link links a's mesh to b's over their hubs on loopback and waits until
// each sees the other.
func link(t *testing.T, a, b *node) {
	t.Helper()
	a.mesh.Want(b.id.ID, func() (string, bool) { return b.addr, true })
	for _, n := range []*node{a, b} {
		other := a
		if n == a {
			other = b
		}
		timeout := time.After(30 * time.Second)
		for seen := false; !seen; {
			changed := n.mesh.Changed()
			for _, p := range n.mesh.Members() {
				seen = seen || p.ID == other.id.ID.String()
			}
			if seen {
				break
			}
			select {
			case <-changed:
			case <-timeout:
				t.Fatalf("%s never saw %s in the mesh", n.addr, other.addr)
			}
		}
	}
}

// TestSendThroughMesh: a daemon sends a file to another daemon with
// signaling only through their linked meshes; no direct hub connection is
// made, and the receiver proves its device ID.
func TestSendThroughMesh(t *testing.T) {
	sender := startNode(t, nodeOpts{})
	receiver := startNode(t, nodeOpts{autoAccept: true})
	link(t, sender, receiver)
	src := filepath.Join(t.TempDir(), "through.bin")
	want := writeRandom(t, src, 3<<20+17)

	id, err := sender.m.Send(ThroughMesh(sender.mesh, receiver.id.ID.String()), []string{src})
	if err != nil {
		t.Fatal(err)
	}
	out := sender.wait(id, final)
	if out.State != StateDone || out.Peer != receiver.id.ID.String() || out.PeerKind != KindDaemon || out.Addr != "" || !strings.HasPrefix(out.PeerName, "node ") {
		t.Fatalf("sender ended %+v", out)
	}
	if got := fileHash(t, filepath.Join(receiver.dl, "through.bin")); got != want {
		t.Fatalf("received SHA-256 %s, want %s", got, want)
	}
	in := receiver.wait(id, final)
	if in.State != StateDone || in.Peer != sender.id.ID.String() || in.PeerKind != KindDaemon {
		t.Fatalf("receiver ended %+v", in)
	}
	if asked := receiver.asked(); len(asked) != 1 || asked[0].Guest || asked[0].ID != sender.id.ID.String() {
		t.Fatalf("the accept policy was asked about %+v", asked)
	}
	for _, n := range []*node{sender, receiver} {
		if peers := n.hub.Peers(); len(peers) != 0 {
			t.Errorf("%s has direct hub connections %v; the transfer was to use the mesh only", n.addr, peers)
		}
	}
}

// TestSendThroughMeshToNobody: a peer the mesh does not know fails the
// transfer at once with the mesh's reason.
func TestSendThroughMeshToNobody(t *testing.T) {
	sender := startNode(t, nodeOpts{})
	src := filepath.Join(t.TempDir(), "x.bin")
	writeRandom(t, src, 10)
	id, err := sender.m.Send(ThroughMesh(sender.mesh, "guest-nobody-1"), []string{src})
	if err != nil {
		t.Fatal(err)
	}
	out := sender.wait(id, final)
	if out.State != StateFailed || out.PeerKind != KindGuest || out.Error != "cannot reach guest-nobody-1: nobody with that ID is connected" {
		t.Fatalf("send to nobody ended %+v", out)
	}
}

// sender is a Sender made of a function.
type senderFunc func(to string, m signal.Message) error

func (f senderFunc) Send(to string, m signal.Message) error { return f(to, m) }

// TestSendThroughMeshToImpostor: a mesh that carries the messages for one
// device to another daemon (links are not authenticated) does not get the
// files: the answer's certificate is not the device's.
func TestSendThroughMeshToImpostor(t *testing.T) {
	sender := startNode(t, nodeOpts{})
	impostor := startNode(t, nodeOpts{autoAccept: true})
	victim, err := identity.Load(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// Messages for the victim reach the impostor, and its answers come
	// back as if from the victim.
	via := senderFunc(func(to string, m signal.Message) error {
		from := signal.Peer{ID: sender.id.ID.String(), Name: "sender", Reply: func(r signal.Message) error {
			sender.m.HandleSignal(signal.Peer{ID: to, Name: "victim"}, r)
			return nil
		}}
		impostor.m.HandleSignal(from, m)
		return nil
	})
	src := filepath.Join(t.TempDir(), "secret.txt")
	writeRandom(t, src, 100)
	id, err := sender.m.Send(ThroughMesh(via, victim.ID.String()), []string{src})
	if err != nil {
		t.Fatal(err)
	}
	out := sender.wait(id, final)
	if out.State != StateFailed || out.Code != proto.CodeIdentityMismatch || !strings.Contains(out.Error, "not its own") {
		t.Fatalf("send through a lying mesh ended %+v", out)
	}
	if in := impostor.m.List(); len(in) != 0 {
		t.Fatalf("the impostor got an offer: %+v", in)
	}
}
