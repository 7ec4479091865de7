package signal

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-dev/ferry/daemon/identity"
	"github.com/ferry-dev/ferry/daemon/proto"
	"github.com/gorilla/websocket"
)

// newIdentity returns a fresh device identity.
func newIdentity(t *testing.T) *identity.Identity {
	t.Helper()
	id, err := identity.Load(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestDecode(t *testing.T) {
	big := `{"v":1,"type":"hello","from":"a","name":"` + strings.Repeat("x", MaxMessageBytes) + `"}`
	tests := []struct {
		in, code, text string
	}{
		{`{"v":1,"type":"hello","from":"A"}`, "", ""},
		{`{"v":1,"type":"offer","conn":"t1","session":1,"sdp":"v=0"}`, "", ""},
		{`{"v":1,"type":"nope"}`, proto.CodeUnknownType, `unknown message type "nope"`},
		{`{"v":1,"type":"hello"`, proto.CodeBadMessage, "malformed JSON: unexpected EOF"},
		{`{"v":1}{"v":1}`, proto.CodeBadMessage, "malformed JSON: data after the message"},
		{`{"v":2,"type":"hello","from":"A"}`, proto.CodeVersion, "protocol version 2 is not supported (this peer speaks 1)"},
		{`{"v":1,"type":"offer","conn":"t1","sdp":"v=0"}`, proto.CodeBadMessage, "offer needs conn, session and sdp"},
		{`{"v":1,"type":"candidate","conn":"t1","session":1}`, proto.CodeBadMessage, "candidate needs conn, session and candidate"},
		{`{"v":1}`, proto.CodeBadMessage, "message has no type"},
		{big, proto.CodeTooLarge, "message is 65579 bytes (the limit is 65536)"},
		// Text messages: up to 4096 bytes of text, an id like a guest ID.
		{`{"v":1,"type":"text","to":"B","id":"msg-0001","text":"see https://example.com/\n\tthanks"}`, "", ""},
		{text(`"id":"` + strings.Repeat("a", 64) + `","text":"` + strings.Repeat("é", MaxTextBytes/2) + `"`), "", ""},
		{text(`"id":"msg-0001","text":"` + strings.Repeat("x", MaxTextBytes+1) + `"`), proto.CodeTooLarge, "text is 4097 bytes (the limit is 4096)"},
		{`{"v":1,"type":"text","id":"msg-0001","text":"hi"}`, proto.CodeBadMessage, "text needs to, id and text"},
		{text(`"text":"hi"`), proto.CodeBadMessage, "text needs to, id and text"},
		{text(`"id":"msg-0001","text":""`), proto.CodeBadMessage, "text needs to, id and text"},
		{text(`"id":"msg-001","text":"hi"`), proto.CodeBadMessage, "a message id is 8 to 64 letters, digits, '-' or '_'"},
		{text(`"id":"msg 0001","text":"hi"`), proto.CodeBadMessage, "a message id is 8 to 64 letters, digits, '-' or '_'"},
		{text(`"id":"` + strings.Repeat("a", 65) + `","text":"hi"`), proto.CodeBadMessage, "from, to, conn or id is longer than 64 bytes"},
		{text(`"id":"msg-0001","text":"a\u0000b"`), proto.CodeBadMessage, "text holds a NUL character"},
		// The larger limit is for text messages only.
		{`{"v":1,"type":"error","code":"busy","text":"` + strings.Repeat("x", 1025) + `"}`, proto.CodeBadMessage, "error text is too long"},
		{`{"v":1,"type":"bye","conn":"c","text":"` + strings.Repeat("x", 1025) + `"}`, proto.CodeBadMessage, "error text is too long"},
	}
	for _, tt := range tests {
		_, err := Decode([]byte(tt.in))
		if tt.code == "" {
			if err != nil {
				t.Errorf("Decode(%.40s) = %v", tt.in, err)
			}
			continue
		}
		pe, ok := err.(*proto.Error)
		if !ok || pe.Code != tt.code || pe.Text != tt.text {
			t.Errorf("Decode(%.40s) = %v; want %s: %s", tt.in, err, tt.code, tt.text)
		}
	}
}

// text returns a text message to B with more fields.
func text(fields string) string { return `{"v":1,"type":"text","to":"B",` + fields + `}` }

// TestValidateText: what JSON cannot carry but a caller can build.
func TestValidateText(t *testing.T) {
	m := Message{V: Version, Type: TypeText, To: "B", ID: "msg-0001", Text: "a\xffb"}
	if err := m.Validate(); proto.CodeOf(err) != proto.CodeBadMessage || err.Error() != "text is not valid UTF-8" {
		t.Errorf("Validate(invalid UTF-8) = %v", err)
	}
	if !ValidMessageID("Abc_-123") || ValidMessageID("abc/1234") || ValidMessageID("") {
		t.Error("ValidMessageID disagrees with the guest ID charset")
	}
}

// TestTextWire: a text message encodes with the field names of the example
// in docs/protocol.md ("Text messages"), and decodes back.
func TestTextWire(t *testing.T) {
	m := Message{V: Version, Type: TypeText, To: "guest-7Qm2xK9pLw", From: "NB2HI4DTHIXS6ZLYMFWXA3DFFZRW63JPOEZS44DEMYAAAAAAAAAA", Name: "studio",
		ID: "K3QF7ZQ2M5XWJ4RRT6YV2NA4DE", Text: "the slides: https://example.com/q3.pdf"}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"v":1,"type":"text","from":"NB2HI4DTHIXS6ZLYMFWXA3DFFZRW63JPOEZS44DEMYAAAAAAAAAA","name":"studio","id":"K3QF7ZQ2M5XWJ4RRT6YV2NA4DE","text":"the slides: https://example.com/q3.pdf","to":"guest-7Qm2xK9pLw"}`
	if string(b) != want {
		t.Fatalf("encoded\n%s\nwant\n%s", b, want)
	}
	if got, err := Decode(b); err != nil || !reflect.DeepEqual(got, m) {
		t.Fatalf("Decode = %+v, %v", got, err)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"v":1,"type":"hello","from":"A","name":"n"}`))
	f.Add([]byte(`{"v":1,"type":"candidate","conn":"c","session":3,"candidate":{"candidate":"x","sdpMid":"0"}}`))
	f.Add([]byte(`{"v":1,"type":"error","code":"busy","text":"t"}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"v":1,"type":"hello","kind":"guest","from":"guest-1234","name":"Phone"}`))
	f.Add([]byte(`{"v":1,"type":"presence","from":"A","session":7,"members":[{"id":"A","name":"a","kind":"daemon","home":"A","rooms":["ABCDEF"]}],"rooms":[{"code":"ABCDEF","idle":3}]}`))
	f.Add([]byte(`{"v":1,"type":"join","room":"ABCDEF"}`))
	f.Add([]byte(`{"v":1,"type":"offer","to":"B","conn":"c","session":1,"sdp":"v=0"}`))
	f.Add([]byte(`{"v":1,"type":"text","to":"B","from":"guest-1234","name":"Phone","id":"msg-0001","text":"https://example.com/ \u00e9\n"}`))
	f.Add([]byte(`{"v":1,"type":"text","to":"B","id":"msg-0001","text":"a\u0000b"}`))
	f.Add([]byte(`{"v":1,"type":"error","code":"no-peer","to":"guest-1234","from":"B","id":"msg-0001","text":"nobody called B is connected"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			if proto.CodeOf(err) == "" {
				t.Fatalf("error without a code: %v", err)
			}
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("decoded message fails validation: %v", err)
		}
	})
}

type recorder struct {
	mu    sync.Mutex
	msgs  []Message
	peers []Peer
	got   chan Message
}

func (r *recorder) HandleSignal(from Peer, m Message) {
	r.mu.Lock()
	r.msgs = append(r.msgs, m)
	r.peers = append(r.peers, from)
	r.mu.Unlock()
	r.got <- m
}

func (r *recorder) lastPeer() Peer {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.peers[len(r.peers)-1]
}

func startHub(t *testing.T) (*Hub, *recorder, string) {
	t.Helper()
	rec := &recorder{got: make(chan Message, 16)}
	hub := NewHub(HubConfig{ID: newIdentity(t).ID.String(), Name: "hub", Handler: rec, Log: slog.New(slog.DiscardHandler)})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(HubPath, hub)
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return hub, rec, ln.Addr().String()
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func recv(t *testing.T, ch <-chan Message) Message {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting for a message")
		return Message{}
	}
}

func TestHubReplacesReconnectingPeer(t *testing.T) {
	hub, rec, addr := startHub(t)
	ctx := context.Background()
	peer := newIdentity(t)
	first, welcome, err := Dial(ctx, addr, Message{From: peer.ID.String(), Name: "p"}, peer.Sign)
	if err != nil {
		t.Fatal(err)
	}
	if welcome.From != hub.cfg.ID || welcome.Name != "hub" {
		t.Fatalf("welcome = %+v", welcome)
	}
	second, _, err := Dial(ctx, addr, Message{From: peer.ID.String(), Name: "p"}, peer.Sign)
	if err != nil {
		t.Fatal(err)
	}
	// The old connection is closed by the hub: reading from it fails.
	if _, err := first.Read(); err == nil {
		t.Fatal("old connection still open after the peer reconnected")
	}
	if ids := hub.Peers(); len(ids) != 1 || ids[0] != peer.ID.String() {
		t.Fatalf("hub peers = %v", ids)
	}
	second.Send(Message{Type: TypeBye, Conn: "c1"})
	if m := recv(t, rec.got); m.Type != TypeBye || m.Conn != "c1" {
		t.Fatalf("hub handler got %+v", m)
	}
	if err := hub.Send(peer.ID.String(), Message{Type: TypeBye, Conn: "c2"}); err != nil {
		t.Fatal(err)
	}
	if m, err := second.Read(); err != nil || m.Conn != "c2" {
		t.Fatalf("peer got %+v, %v", m, err)
	}
}

func TestHubRefusesBadMessages(t *testing.T) {
	_, rec, addr := startHub(t)
	tests := []struct {
		name    string
		payload string
		code    string
	}{
		{"first message not hello", `{"v":1,"type":"bye","conn":"x"}`, proto.CodeBadMessage},
		{"unknown type", `{"v":1,"type":"launch"}`, proto.CodeUnknownType},
		{"old version", `{"v":0,"type":"hello","from":"a"}`, proto.CodeVersion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws, _, err := websocket.DefaultDialer.Dial("ws://"+addr+HubPath, http.Header{DeviceHeader: {"x"}})
			if err != nil {
				t.Fatal(err)
			}
			defer ws.Close()
			ws.WriteMessage(websocket.TextMessage, []byte(tt.payload))
			_, b, err := ws.ReadMessage()
			if err != nil {
				t.Fatal(err)
			}
			m, err := Decode(b)
			if err != nil || m.Type != TypeError || m.Code != tt.code {
				t.Fatalf("reply = %s, %v; want error %s", b, err, tt.code)
			}
			if _, _, err := ws.ReadMessage(); err == nil {
				t.Fatal("connection still open after a refused message")
			}
		})
	}
	t.Run("oversized", func(t *testing.T) {
		ws, _, err := websocket.DefaultDialer.Dial("ws://"+addr+HubPath, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer ws.Close()
		ws.WriteMessage(websocket.TextMessage, []byte(strings.Repeat("x", 2*MaxMessageBytes)))
		_, _, err = ws.ReadMessage()
		if !websocket.IsCloseError(err, websocket.CloseMessageTooBig) {
			t.Fatalf("read after an oversized message = %v; want close 1009", err)
		}
	})
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.msgs) != 0 {
		t.Fatalf("handler saw refused messages: %+v", rec.msgs)
	}
}

func TestDialerSharesOneConnection(t *testing.T) {
	hub, rec, addr := startHub(t)
	peer := newIdentity(t)
	dialer := NewDialer(Message{From: peer.ID.String()}, peer.Sign)
	ctx := context.Background()
	a, err := dialer.Open(ctx, addr, "t1")
	if err != nil {
		t.Fatal(err)
	}
	b, err := dialer.Open(ctx, addr, "t2")
	if err != nil {
		t.Fatal(err)
	}
	if a.c != b.c {
		t.Fatal("two transfers to one address dialed two connections")
	}
	if a.Welcome.From != hub.cfg.ID {
		t.Fatalf("welcome = %+v", a.Welcome)
	}
	for _, id := range []string{"t2", "t1"} {
		if err := hub.Send(peer.ID.String(), Message{Type: TypeBye, Conn: id}); err != nil {
			t.Fatal(err)
		}
	}
	if m := recv(t, b.C); m.Conn != "t2" {
		t.Fatalf("t2 got %+v", m)
	}
	if m := recv(t, a.C); m.Conn != "t1" {
		t.Fatalf("t1 got %+v", m)
	}
	// The hub's handler answers through the peer's Reply, which reaches
	// the subscription of that conn.
	a.Send(Message{Type: TypeBye, Conn: "t1"})
	recv(t, rec.got)
	if err := rec.lastPeer().Reply(Message{Type: TypeBye, Conn: "t1", Text: "reply"}); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, a.C); m.Conn != "t1" || m.Text != "reply" {
		t.Fatalf("t1 got %+v; want the reply", m)
	}
	a.Close()
	b.Close()
	if _, ok := <-a.C; ok {
		t.Fatal("channel not closed after Close")
	}
	waitFor(t, "the idle connection to close", func() bool { return len(hub.Peers()) == 0 })
}

// TestDialerRun: when Run's context ends every connection closes, each
// subscriber sees its channel closed, and Open refuses from then on.
func TestDialerRun(t *testing.T) {
	hub, _, addr := startHub(t)
	peer := newIdentity(t)
	dialer := NewDialer(Message{From: peer.ID.String()}, peer.Sign)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- dialer.Run(ctx) }()
	sub, err := dialer.Open(ctx, addr, "t1")
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
	if _, ok := <-sub.C; ok {
		t.Fatal("subscription still open after Run returned")
	}
	if _, err := dialer.Open(context.Background(), addr, "t2"); !errors.Is(err, ErrDialerStopped) {
		t.Fatalf("Open after Run = %v; want ErrDialerStopped", err)
	}
	waitFor(t, "the hub to see the peer leave", func() bool { return len(hub.Peers()) == 0 })
}

// TestHubWithoutHandler: a hub built without a Handler refuses direct
// peers instead of dropping their messages.
func TestHubWithoutHandler(t *testing.T) {
	hub := NewHub(HubConfig{ID: "HUB", Name: "hub", Log: slog.New(slog.DiscardHandler)})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: hub}
	go srv.Serve(ln)
	defer srv.Close()
	peer := newIdentity(t)
	_, _, err = Dial(context.Background(), ln.Addr().String(), Message{From: peer.ID.String()}, peer.Sign)
	if err == nil {
		t.Fatal("a hub without a handler welcomed a direct peer")
	}
	if !strings.Contains(err.Error(), "refused the connection: this hub takes no transfer connections") {
		t.Fatalf("Dial = %v", err)
	}
}

// TestHubClosesSilentConnections: a connection that never says hello is
// closed after HelloWait, though it answers every ping, and the place it
// held in the hub is free again.
func TestHubClosesSilentConnections(t *testing.T) {
	hub := NewHub(HubConfig{ID: "HUB", Log: slog.New(slog.DiscardHandler), HelloWait: 200 * time.Millisecond})
	srv := httptest.NewServer(hub)
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+addr+HubPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, _, err := ws.ReadMessage(); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a connection that never said hello: %v", err)
	}
	waitFor(t, "the hub to free the place", func() bool {
		hub.mu.Lock()
		defer hub.mu.Unlock()
		return hub.guests.total == 0
	})
}
