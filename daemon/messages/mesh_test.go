package messages

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/ferry-dev/ferry/daemon/api"
	"github.com/ferry-dev/ferry/daemon/identity"
	"github.com/ferry-dev/ferry/daemon/mesh"
	"github.com/ferry-dev/ferry/daemon/signal"
	"github.com/gorilla/websocket"
)

// handlerFunc is a signal.Handler made of a function.
type handlerFunc func(signal.Peer, signal.Message)

func (f handlerFunc) HandleSignal(p signal.Peer, m signal.Message) { f(p, m) }

// node is a daemon's messaging as the composition root wires it: a mesh
// behind a real hub on 127.0.0.1:0, whose Local handler passes texts (and
// errors for them) to a Store that sends through the mesh.
type node struct {
	id    string
	addr  string
	mesh  *mesh.Mesh
	store *Store
}

func startNode(t *testing.T, name string) *node {
	t.Helper()
	ident, err := identity.Load(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n := &node{id: ident.ID.String(), addr: ln.Addr().String()}
	log := slog.New(slog.DiscardHandler)
	n.store = New(Config{
		Self: n.id, Name: name, Log: log,
		Send: func(to string, m signal.Message) error { return n.mesh.Send(to, m) },
		Lookup: func(id string) (string, string, bool) {
			for _, p := range n.mesh.Members() {
				if p.ID == id {
					return p.Name, p.Kind, true
				}
			}
			return "", "", false
		},
	})
	n.mesh = mesh.New(mesh.Config{
		ID: ident.ID, Prove: ident.Sign, Name: name, Port: ln.Addr().(*net.TCPAddr).Port, Log: log,
		Local: handlerFunc(func(from signal.Peer, m signal.Message) {
			if m.Type == signal.TypeText || m.Type == signal.TypeError && m.ID != "" {
				n.store.Handle(from, m)
			}
		}),
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.mesh.Run(ctx) }()
	hub := signal.NewHub(signal.HubConfig{ID: n.id, Name: name, Sessions: n.mesh, Log: log})
	mux := http.NewServeMux()
	mux.Handle(signal.HubPath, hub)
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() {
		srv.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	})
	return n
}

// sees waits until n's view of the mesh holds id.
func (n *node) sees(t *testing.T, id string) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		changed := n.mesh.Changed()
		for _, p := range n.mesh.Members() {
			if p.ID == id {
				return
			}
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("%s never saw %s in the mesh", n.id, id)
		}
	}
}

// await waits until n's store lists a message that matches, and returns it.
func (n *node) await(t *testing.T, what string, match func(api.Message) bool) api.Message {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		changed := n.store.Changed()
		for _, m := range n.store.List() {
			if match(m) {
				return m
			}
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("never listed %s: %+v", what, n.store.List())
		}
	}
}

// guest connects a browser guest to n's hub, speaking the hub protocol.
func guest(t *testing.T, n *node, id, name string) *websocket.Conn {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+n.addr+signal.HubPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	if err := ws.WriteJSON(signal.Message{V: 1, Type: signal.TypeHello, Kind: signal.KindGuest, From: id, Name: name}); err != nil {
		t.Fatal(err)
	}
	return ws
}

// readText reads a guest's messages until a text arrives.
func readText(t *testing.T, ws *websocket.Conn) signal.Message {
	t.Helper()
	ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		_, b, err := ws.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		m, err := signal.Decode(b)
		if err != nil {
			t.Fatalf("the guest got an invalid message %s: %v", b, err)
		}
		if m.Type == signal.TypeText {
			return m
		}
	}
}

func count(ms []api.Message, match func(api.Message) bool) int {
	n := 0
	for _, m := range ms {
		if match(m) {
			n++
		}
	}
	return n
}

// TestTextsThroughTheMesh: two daemons linked on loopback and a browser
// guest of one of them send texts to each other; each side lists what it
// sent and received with the right names and kinds.
func TestTextsThroughTheMesh(t *testing.T) {
	a, b := startNode(t, "alpha"), startNode(t, "bravo")
	a.mesh.Want(mustParse(t, b.id), func() (string, bool) { return b.addr, true })
	a.sees(t, b.id)
	b.sees(t, a.id)

	// Daemon to daemon.
	out, err := a.store.Send(b.id, "see https://example.com/\nthanks")
	if err != nil {
		t.Fatal(err)
	}
	if out.Direction != "out" || out.Peer != b.id || out.PeerName != "bravo" || out.PeerKind != api.KindDaemon || out.Error != "" || !signal.ValidMessageID(out.ID) {
		t.Fatalf("Send returned %+v", out)
	}
	in := b.await(t, "alpha's text", func(m api.Message) bool { return m.ID == out.ID })
	if in.Direction != "in" || in.Peer != a.id || in.PeerName != "alpha" || in.PeerKind != api.KindDaemon || in.Text != "see https://example.com/\nthanks" {
		t.Fatalf("bravo listed %+v", in)
	}

	// A guest of bravo to alpha.
	phone := guest(t, b, "guest-phone-1234", "Phone")
	a.sees(t, "guest-phone-1234")
	phone.WriteJSON(signal.Message{V: 1, Type: signal.TypeText, To: a.id, ID: "phone-msg-1", Text: "from the phone"})
	in = a.await(t, "the guest's text", func(m api.Message) bool { return m.ID == "phone-msg-1" })
	if in.Direction != "in" || in.Peer != "guest-phone-1234" || in.PeerName != "Phone" || in.PeerKind != api.KindGuest || in.Text != "from the phone" {
		t.Fatalf("alpha listed %+v", in)
	}

	// Alpha to the guest.
	out, err = a.store.Send("guest-phone-1234", "to the phone")
	if err != nil {
		t.Fatal(err)
	}
	if out.PeerName != "Phone" || out.PeerKind != api.KindGuest {
		t.Fatalf("Send to the guest returned %+v", out)
	}
	got := readText(t, phone)
	if got.From != a.id || got.Name != "alpha" || got.ID != out.ID || got.Text != "to the phone" || got.To != "guest-phone-1234" {
		t.Fatalf("the guest got %+v", got)
	}

	// The same text twice is listed once. The third is a barrier: it
	// comes the same way, after the copy.
	for _, id := range []string{"phone-msg-2", "phone-msg-2", "phone-msg-3"} {
		phone.WriteJSON(signal.Message{V: 1, Type: signal.TypeText, To: a.id, ID: id, Text: "again"})
	}
	a.await(t, "the text after the copy", func(m api.Message) bool { return m.ID == "phone-msg-3" })
	if n := count(a.store.List(), func(m api.Message) bool { return m.ID == "phone-msg-2" }); n != 1 {
		t.Fatalf("alpha listed the copied text %d times", n)
	}

	// To nobody: an error a person can read, and the text listed with it.
	_, err = a.store.Send("nobody-is-here", "anyone?")
	if !errors.Is(err, ErrNoPeer) || err.Error() != "sending a message to nobody-is-here: nobody with that ID is connected" {
		t.Fatalf("Send to nobody = %v", err)
	}
	failed := a.await(t, "the failed text", func(m api.Message) bool { return m.Peer == "nobody-is-here" })
	if failed.Error != "nobody with that ID is connected" || failed.Direction != "out" || failed.PeerName != "" || failed.PeerKind != "" {
		t.Fatalf("alpha listed %+v", failed)
	}
}

func mustParse(t *testing.T, id string) identity.ID {
	t.Helper()
	d, err := identity.ParseID(id)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
