package signal

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ferry-dev/ferry/daemon/proto"
	"github.com/gorilla/websocket"
)

// dialFrom opens a WebSocket to the hub at addr from the loopback address
// local (127.0.0.x), with header.
func dialFrom(local, addr string, header http.Header) (*websocket.Conn, *http.Response, error) {
	d := websocket.Dialer{NetDialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}).DialContext}
	return d.Dial("ws://"+addr+HubPath, header)
}

// readRefusal reads the error a refused connection gets and the close
// code that follows it.
func readRefusal(t *testing.T, ws *websocket.Conn) (Message, int) {
	t.Helper()
	ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	var m Message
	for {
		_, b, err := ws.ReadMessage()
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return m, ce.Code
		}
		if err != nil {
			t.Fatalf("reading a refusal: %v", err)
		}
		if got, derr := Decode(b); derr == nil && got.Type == TypeError {
			m = got
		}
	}
}

// TestHubTakeover: a hello that claims another daemon's ID without its
// key is refused, whatever it sends, and the real daemon's connection
// stays.
func TestHubTakeover(t *testing.T) {
	hub, _, addr := startHub(t)
	victim := newIdentity(t)
	c, _, err := Dial(context.Background(), addr, Message{From: victim.ID.String(), Name: "victim"}, victim.Sign)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	thief := newIdentity(t)
	forged := []struct {
		name  string
		hello func(nonce string) Message
	}{
		{"no proof", func(string) Message { return Message{From: victim.ID.String()} }},
		{"its own certificate", func(nonce string) Message {
			cert, sig, _ := thief.Sign(challenge(nonce, hub.cfg.ID, victim.ID.String(), KindPeer))
			return Message{From: victim.ID.String(), Cert: base64.StdEncoding.EncodeToString(cert), Sig: base64.StdEncoding.EncodeToString(sig)}
		}},
		{"the victim's certificate, its own signature", func(nonce string) Message {
			_, sig, _ := thief.Sign(challenge(nonce, hub.cfg.ID, victim.ID.String(), KindPeer))
			return Message{From: victim.ID.String(), Cert: base64.StdEncoding.EncodeToString(victim.Cert.Raw), Sig: base64.StdEncoding.EncodeToString(sig)}
		}},
		{"a signature of another hub's challenge", func(nonce string) Message {
			cert, sig, _ := victim.Sign(challenge(nonce, "ANOTHERHUB", victim.ID.String(), KindPeer))
			return Message{From: victim.ID.String(), Cert: base64.StdEncoding.EncodeToString(cert), Sig: base64.StdEncoding.EncodeToString(sig)}
		}},
		{"a mesh link", func(string) Message { return Message{From: victim.ID.String(), Kind: KindMesh} }},
	}
	for _, f := range forged {
		t.Run(f.name, func(t *testing.T) {
			ws, resp, err := dialFrom("127.0.0.1", addr, http.Header{DeviceHeader: {victim.ID.String()}})
			if err != nil {
				t.Fatal(err)
			}
			defer ws.Close()
			hello := f.hello(resp.Header.Get(challengeHeader))
			hello.V, hello.Type = Version, TypeHello
			ws.WriteJSON(hello)
			m, code := readRefusal(t, ws)
			if m.Code != proto.CodeIdentity || code != websocket.ClosePolicyViolation {
				t.Fatalf("refusal = %+v, close %d; want identity and close 1008", m, code)
			}
		})
	}
	// A browser cannot take a daemon's kind of connection at all.
	ws, _, err := dialFrom("127.0.0.1", addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	ws.WriteJSON(Message{V: Version, Type: TypeHello, From: victim.ID.String()})
	if m, _ := readRefusal(t, ws); m.Code != proto.CodeBadMessage {
		t.Fatalf("a daemon's hello without %s: %+v", DeviceHeader, m)
	}
	ws.Close()
	if err := hub.Send(victim.ID.String(), Message{Type: TypeBye, Conn: "still-here"}); err != nil {
		t.Fatal(err)
	}
	if m, err := c.Read(); err != nil || m.Conn != "still-here" {
		t.Fatalf("the real daemon's connection after the attempts: %+v, %v", m, err)
	}
}

// TestHubLimits: connections that never say hello fill neither another
// address's places nor a daemon's: limits hold per source address and per
// kind, and a daemon still connects when browsers fill theirs.
func TestHubLimits(t *testing.T) {
	rec := &recorder{got: make(chan Message, 16)}
	hub := NewHub(HubConfig{ID: "HUB", Handler: rec, Log: slog.New(slog.DiscardHandler), MaxGuests: 4, PerSource: 2})
	srv := httptest.NewServer(hub)
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	var open []*websocket.Conn
	defer func() {
		for _, ws := range open {
			ws.Close()
		}
	}()
	try := func(local string) int {
		ws, resp, err := dialFrom(local, addr, nil)
		if err != nil {
			if resp == nil {
				t.Fatal(err)
			}
			return resp.StatusCode
		}
		open = append(open, ws)
		return http.StatusSwitchingProtocols
	}
	for i, want := range []int{101, 101, 503} {
		if got := try("127.0.0.2"); got != want {
			t.Fatalf("connection %d from 127.0.0.2: status %d, want %d", i+1, got, want)
		}
	}
	for i, want := range []int{101, 101, 503} {
		if got := try("127.0.0.3"); got != want {
			t.Fatalf("connection %d from 127.0.0.3: status %d, want %d", i+1, got, want)
		}
	}
	if got := try("127.0.0.4"); got != http.StatusServiceUnavailable {
		t.Fatalf("a fifth browser connection: status %d, want 503", got)
	}
	peer := newIdentity(t)
	c, _, err := Dial(context.Background(), addr, Message{From: peer.ID.String()}, peer.Sign)
	if err != nil {
		t.Fatalf("a daemon with every browser place taken: %v", err)
	}
	c.Close()
}

// TestHubOrigin: a web page of another origin cannot open the hub; the
// daemon's own page can.
func TestHubOrigin(t *testing.T) {
	_, _, addr := startHub(t)
	for _, origin := range []string{"http://evil.example", "http://127.0.0.1:1", "http://" + addr + ".evil.example"} {
		_, resp, err := dialFrom("127.0.0.1", addr, http.Header{"Origin": {origin}})
		if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Fatalf("Origin %s: %v; want 403", origin, err)
		}
	}
	ws, _, err := dialFrom("127.0.0.1", addr, http.Header{"Origin": {"http://" + addr}})
	if err != nil {
		t.Fatalf("the daemon's own page: %v", err)
	}
	ws.Close()
}

// TestQueueFallsBehind: a peer that stops reading is told why before it
// is cut off.
func TestQueueFallsBehind(t *testing.T) {
	conns := make(chan *Conn, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		c := newConn(ws)
		c.Ready()
		conns <- c
		<-c.Done()
	}))
	defer srv.Close()
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	c := <-conns
	big := Message{Type: TypeText, To: "somebody", ID: "message-1", Text: strings.Repeat("x", MaxTextBytes)}
	var qerr error
	for range 100 * queueLen {
		if qerr = c.Queue(big); qerr != nil {
			break
		}
	}
	if qerr == nil {
		t.Fatal("a peer that reads nothing never fell behind")
	}
	m, code := readRefusal(t, ws)
	if m.Code != proto.CodeBusy || !strings.Contains(m.Text, "fell") || code != websocket.CloseTryAgainLater {
		t.Fatalf("the peer was told %+v, close %d; want busy and close 1013", m, code)
	}
}

// TestDialerDialsOnce: transfers that start at once to one address share
// one connection; two would make the hub close the first.
func TestDialerDialsOnce(t *testing.T) {
	hub, _, addr := startHub(t)
	peer := newIdentity(t)
	dialer := NewDialer(Message{From: peer.ID.String()}, peer.Sign)
	subs := make([]*Subscription, 8)
	errs := make(chan error, len(subs))
	for i := range subs {
		go func() {
			var err error
			subs[i], err = dialer.Open(context.Background(), addr, fmt.Sprintf("t%d", i))
			errs <- err
		}()
	}
	for range subs {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for i, s := range subs {
		if s.c != subs[0].c {
			t.Fatalf("transfer %d dialed a connection of its own", i)
		}
		if err := hub.Send(peer.ID.String(), Message{Type: TypeBye, Conn: s.id}); err != nil {
			t.Fatal(err)
		}
		if m, ok := <-s.C; !ok || m.Conn != s.id {
			t.Fatalf("transfer %d got %+v, %v", i, m, ok)
		}
	}
}
