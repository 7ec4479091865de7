package mesh

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ferry-dev/ferry/daemon/identity"
	"github.com/ferry-dev/ferry/daemon/signal"
	"github.com/gorilla/websocket"
)

// local is a Handler that records what the mesh delivers to its daemon.
type local struct {
	got chan delivered
}

type delivered struct {
	from signal.Peer
	msg  signal.Message
}

func (l *local) HandleSignal(from signal.Peer, m signal.Message) { l.got <- delivered{from, m} }

func (l *local) next(t *testing.T) delivered {
	t.Helper()
	select {
	case d := <-l.got:
		return d
	case <-time.After(30 * time.Second):
		t.Fatal("nothing was delivered to the daemon")
		return delivered{}
	}
}

// served is a mesh behind a real hub on 127.0.0.1:0, built in the order the
// daemon builds them: listener, mesh (with its port and local handler), hub.
type served struct {
	m      *Mesh
	local  *local
	addr   string
	linked chan netip.AddrPort
}

func serveMesh(t *testing.T, name string) *served {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &served{local: &local{got: make(chan delivered, 16)}, addr: ln.Addr().String(), linked: make(chan netip.AddrPort, 4)}
	s.m = newTestMesh(t, Config{Name: name, Port: ln.Addr().(*net.TCPAddr).Port, Local: s.local,
		Linked: func(_ identity.ID, _ string, ap netip.AddrPort) { s.linked <- ap }})
	runMesh(t, s.m)
	hub := signal.NewHub(signal.HubConfig{ID: s.m.self, Name: name, Handler: s.local, Sessions: s.m, Log: slog.New(slog.DiscardHandler)})
	mux := http.NewServeMux()
	mux.Handle(signal.HubPath, hub)
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

func awaitMember(t *testing.T, m *Mesh, id string) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		changed := m.Changed()
		for _, p := range m.Members() {
			if p.ID == id {
				return
			}
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("%s never saw %s: %+v", m.cfg.Name, id, m.Members())
		}
	}
}

func guestOf(t *testing.T, s *served, id string) *websocket.Conn {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+s.addr+signal.HubPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	if err := ws.WriteJSON(signal.Message{V: 1, Type: signal.TypeHello, Kind: signal.KindGuest, From: id, Name: "Phone"}); err != nil {
		t.Fatal(err)
	}
	return ws
}

// readUntil reads a guest's messages until one matches.
func readUntil(t *testing.T, ws *websocket.Conn, match func(signal.Message) bool) signal.Message {
	t.Helper()
	ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		var m signal.Message
		if err := ws.ReadJSON(&m); err != nil {
			t.Fatal(err)
		}
		if match(m) {
			return m
		}
	}
}

// TestDeliverKindAndReply: a message for this daemon reaches Local with the
// sender's kind, and Reply routes the answer back through the mesh, for a
// linked daemon, a guest of a linked daemon and a guest of this one.
func TestDeliverKindAndReply(t *testing.T) {
	a, b := serveMesh(t, "alpha"), serveMesh(t, "bravo")
	a.m.Want(b.m.cfg.ID, func() (string, bool) { return b.addr, true })
	awaitMember(t, a.m, b.m.self)
	awaitMember(t, b.m, a.m.self)
	select {
	case ap := <-b.linked:
		if ap.Port() != uint16(a.m.cfg.Port) {
			t.Errorf("bravo heard alpha serves on port %d; want %d", ap.Port(), a.m.cfg.Port)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("bravo never heard which port alpha serves on")
	}

	// A daemon through the link.
	if err := a.m.Send(b.m.self, signal.Message{Type: signal.TypeBye, Conn: "c1"}); err != nil {
		t.Fatal(err)
	}
	d := b.local.next(t)
	if d.from.ID != a.m.self || d.from.Kind != signal.KindPeer || d.from.Name != "alpha" || d.msg.Conn != "c1" {
		t.Fatalf("bravo got %+v from %+v; want a bye from the daemon alpha", d.msg, d.from)
	}
	if err := d.from.Reply(signal.Message{Type: signal.TypeBye, Conn: "c1", Text: "back"}); err != nil {
		t.Fatal(err)
	}
	if back := a.local.next(t); back.from.ID != b.m.self || back.from.Kind != signal.KindPeer || back.msg.Text != "back" {
		t.Fatalf("alpha got %+v from %+v; want bravo's reply", back.msg, back.from)
	}

	// A guest of the linked daemon. Its ID has the shape of a device ID,
	// which makes it no less a guest.
	other, err := identity.Load(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	remote := guestOf(t, a, other.ID.String())
	awaitMember(t, b.m, other.ID.String())
	remote.WriteJSON(signal.Message{V: 1, Type: signal.TypeBye, To: b.m.self, Conn: "c2"})
	d = b.local.next(t)
	if d.from.ID != other.ID.String() || d.from.Kind != signal.KindGuest {
		t.Fatalf("bravo got %+v from %+v; want a guest", d.msg, d.from)
	}
	d.from.Reply(signal.Message{Type: signal.TypeBye, Conn: "c2", Text: "to the guest"})
	m := readUntil(t, remote, func(m signal.Message) bool { return m.Type == signal.TypeBye })
	if m.From != b.m.self || m.Text != "to the guest" {
		t.Fatalf("the guest got %+v", m)
	}

	// A guest of this daemon.
	near := guestOf(t, b, "guest-near-1234")
	awaitMember(t, b.m, "guest-near-1234")
	near.WriteJSON(signal.Message{V: 1, Type: signal.TypeBye, To: b.m.self, Conn: "c3"})
	if d = b.local.next(t); d.from.ID != "guest-near-1234" || d.from.Kind != signal.KindGuest || d.from.Name != "Phone" {
		t.Fatalf("bravo got %+v from %+v; want its own guest", d.msg, d.from)
	}
}

// TestRunDropsGuests: when Run's context ends the mesh closes its guests'
// connections and returns nil.
func TestRunDropsGuests(t *testing.T) {
	m := newTestMesh(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	hub := signal.NewHub(signal.HubConfig{ID: m.self, Name: "alpha", Sessions: m, Log: slog.New(slog.DiscardHandler)})
	srv := httptest.NewServer(hub)
	defer srv.Close()
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+signal.HubPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	ws.WriteJSON(signal.Message{V: 1, Type: signal.TypeHello, Kind: signal.KindGuest, From: "guest-leaving-1"})
	awaitMember(t, m, "guest-leaving-1")
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
	ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		var msg signal.Message
		if err := ws.ReadJSON(&msg); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatal("the guest's connection stayed open after Run returned")
			}
			break
		}
	}
	if ms := m.Members(); len(ms) != 1 {
		t.Fatalf("after Run the view still holds %+v", ms)
	}
}
