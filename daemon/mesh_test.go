package daemon

import (
	"context"
	"crypto/sha256"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-dev/ferry/daemon/datadir"
	"github.com/ferry-dev/ferry/daemon/identity"
	"github.com/ferry-dev/ferry/daemon/proto"
	"github.com/ferry-dev/ferry/daemon/signal"
	"github.com/ferry-dev/ferry/daemon/transfer"
	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"
)

// wsClient speaks the hub protocol from the test, as a browser guest or as
// another daemon would.
type wsClient struct {
	t    *testing.T
	ws   *websocket.Conn
	msgs chan signal.Message
	wmu  sync.Mutex
}

func dialHub(t *testing.T, d *Daemon, hello signal.Message) (*wsClient, signal.Message) {
	t.Helper()
	return dialHubAs(t, d, nil, hello)
}

// dialHubAs is dialHub for a daemon's kind of connection, proving hello's
// ID with as (nil sends no proof).
func dialHubAs(t *testing.T, d *Daemon, as *identity.Identity, hello signal.Message) (*wsClient, signal.Message) {
	t.Helper()
	var h http.Header
	if hello.Kind != signal.KindGuest {
		h = http.Header{signal.DeviceHeader: {hello.From}}
	}
	ws, resp, err := websocket.DefaultDialer.Dial("ws://"+d.Addr().String()+signal.HubPath, h)
	if err != nil {
		t.Fatal(err)
	}
	if as != nil {
		if err := signal.Prove(&hello, resp.Header, as.Sign); err != nil {
			t.Fatal(err)
		}
	}
	c := &wsClient{t: t, ws: ws, msgs: make(chan signal.Message, 256)}
	t.Cleanup(func() { ws.Close() })
	hello.Type = signal.TypeHello
	c.send(hello)
	var first signal.Message
	if err := ws.ReadJSON(&first); err != nil {
		t.Fatalf("reading the answer to hello: %v", err)
	}
	go func() {
		defer close(c.msgs)
		for {
			var m signal.Message
			if err := ws.ReadJSON(&m); err != nil {
				return
			}
			c.msgs <- m
		}
	}()
	return c, first
}

func dialGuest(t *testing.T, d *Daemon, id, name string) *wsClient {
	t.Helper()
	c, welcome := dialHub(t, d, signal.Message{Kind: signal.KindGuest, From: id, Name: name})
	if welcome.Type != signal.TypeWelcome || welcome.From != d.ID().String() {
		t.Fatalf("guest %s: got %+v, want a welcome from %s", id, welcome, d.ID().Short())
	}
	return c
}

func (c *wsClient) send(m signal.Message) {
	c.t.Helper()
	m.V = signal.Version
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.ws.WriteJSON(m); err != nil {
		c.t.Error(err)
	}
}

// await returns the first message that matches, skipping the others.
func (c *wsClient) await(what string, match func(signal.Message) bool) signal.Message {
	c.t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case m, ok := <-c.msgs:
			if !ok {
				c.t.Fatalf("connection closed while waiting for %s", what)
			}
			if match(m) {
				return m
			}
		case <-timeout:
			c.t.Fatalf("no %s", what)
		}
	}
}

// awaitClosed waits until the hub closes the connection.
func (c *wsClient) awaitClosed() {
	c.t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case _, ok := <-c.msgs:
			if !ok {
				return
			}
		case <-timeout:
			c.t.Fatal("the connection stayed open")
		}
	}
}

func isType(typ string) func(signal.Message) bool {
	return func(m signal.Message) bool { return m.Type == typ }
}

// awaitView waits until d's view of the mesh satisfies ok.
func awaitView(t *testing.T, d *Daemon, what string, ok func([]signal.Member) bool) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		changed := d.mesh.Changed()
		if ok(d.mesh.Members()) {
			return
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("%s: %s never happened; the view is %+v", d.cfg.Name, what, d.mesh.Members())
		}
	}
}

func has(id string) func([]signal.Member) bool {
	return func(ms []signal.Member) bool {
		return slices.ContainsFunc(ms, func(m signal.Member) bool { return m.ID == id })
	}
}

func not(f func([]signal.Member) bool) func([]signal.Member) bool {
	return func(ms []signal.Member) bool { return !f(ms) }
}

// meshOf starts daemons and connects every pair by address, as daemons on
// a network without multicast would be.
func meshOf(t *testing.T, names ...string) ([]*Daemon, []func()) {
	t.Helper()
	var ds []*Daemon
	var stops []func()
	for _, n := range names {
		d, stop := runTestDaemon(t, n)
		ds, stops = append(ds, d), append(stops, stop)
	}
	for _, a := range ds {
		for _, b := range ds {
			if a != b {
				if _, err := a.nearby.Connect(context.Background(), b.Addr().String()); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for _, a := range ds {
		for _, b := range ds {
			awaitView(t, a, "seeing "+b.cfg.Name, has(b.ID().String()))
		}
	}
	return ds, stops
}

// TestMeshForwards: a guest on A reaches a guest and the daemon homed on C,
// gets an answer back, and keeps doing so after B, in the middle of the
// list, is gone.
func TestMeshForwards(t *testing.T) {
	ds, stops := meshOf(t, "alpha", "bravo", "charlie")
	a, b, c := ds[0], ds[1], ds[2]
	ga := dialGuest(t, a, "guest-on-alpha", "Phone A")
	gc := dialGuest(t, c, "guest-on-charlie", "Phone C")
	awaitView(t, a, "seeing Phone C", has("guest-on-charlie"))
	awaitView(t, c, "seeing Phone A", has("guest-on-alpha"))
	ga.await("presence listing Phone C", func(m signal.Message) bool {
		return m.Type == signal.TypePresence && has("guest-on-charlie")(m.Members)
	})

	exchange := func(round uint64) {
		t.Helper()
		ga.send(signal.Message{Type: signal.TypeOffer, To: "guest-on-charlie", Conn: "c1", Session: round, SDP: "v=0 offer"})
		got := gc.await("the offer", isType(signal.TypeOffer))
		if got.From != "guest-on-alpha" || got.Name != "Phone A" || got.Session != round || got.SDP != "v=0 offer" {
			t.Fatalf("Phone C got %+v", got)
		}
		gc.send(signal.Message{Type: signal.TypeAnswer, To: got.From, Conn: "c1", Session: round, SDP: "v=0 answer"})
		ans := ga.await("the answer", isType(signal.TypeAnswer))
		if ans.From != "guest-on-charlie" || ans.SDP != "v=0 answer" {
			t.Fatalf("Phone A got %+v", ans)
		}
	}
	exchange(1)

	// To the daemon C itself: its transfer manager refuses an offer whose
	// session description does not parse, and the refusal comes back the
	// same way.
	ga.send(signal.Message{Type: signal.TypeOffer, To: c.ID().String(), Conn: "c2", Session: 1, SDP: "v=0"})
	refusal := ga.await("C's answer", func(m signal.Message) bool { return m.Conn == "c2" })
	if refusal.Type != signal.TypeError || refusal.Code != proto.CodeBadMessage || refusal.From != c.ID().String() {
		t.Fatalf("got %+v, want a bad-message error from charlie", refusal)
	}

	ga.send(signal.Message{Type: signal.TypeOffer, To: "nobody-at-all", Conn: "c3", Session: 1, SDP: "v=0"})
	if e := ga.await("no-peer", func(m signal.Message) bool { return m.Conn == "c3" }); e.Code != proto.CodeNoPeer {
		t.Fatalf("got %+v, want no-peer", e)
	}

	stops[1]()
	awaitView(t, a, "losing bravo", not(has(b.ID().String())))
	awaitView(t, c, "losing bravo", not(has(b.ID().String())))
	if _, ok := a.nearby.Get(b.ID()); ok {
		t.Error("bravo is still in alpha's table after its link dropped")
	}
	exchange(2)
	for _, id := range []string{c.ID().String(), "guest-on-charlie"} {
		if !has(id)(a.mesh.Members()) {
			t.Errorf("alpha lost %s when bravo left", id)
		}
	}
}

// TestMeshCarriesWebRTC: a WebRTC peer connected as a guest of A sets up a
// real peer connection with daemon C, every offer, answer and candidate
// passing through the mesh, and finds C's certificate at the other end.
func TestMeshCarriesWebRTC(t *testing.T) {
	ds, _ := meshOf(t, "alpha", "bravo", "charlie")
	a, c := ds[0], ds[2]
	me, err := identity.Load(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	g := dialGuest(t, a, me.ID.String(), "Browser")
	awaitView(t, c, "seeing the browser", has(me.ID.String()))

	rtc := transfer.NewAPI(transfer.RTCConfig{InterfaceFilter: func(name string) bool { return name == "lo" }, Loopback: true})
	pc, err := rtc.NewPeerConnection(webrtc.Configuration{Certificates: []webrtc.Certificate{webrtc.CertificateFromX509(me.Key, me.Cert)}})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	to, conn := c.ID().String(), "through-the-mesh"
	connected := make(chan struct{})
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		if st == webrtc.PeerConnectionStateConnected {
			close(connected)
		}
	})
	// Candidates go after the offer, as a browser sends them.
	var (
		mu        sync.Mutex
		offerSent bool
		early     []signal.Message
	)
	pc.OnICECandidate(func(ic *webrtc.ICECandidate) {
		if ic == nil {
			return
		}
		init := ic.ToJSON()
		m := signal.Message{Type: signal.TypeCandidate, To: to, Conn: conn, Session: 1,
			Candidate: &signal.Candidate{Candidate: init.Candidate, SDPMid: init.SDPMid, SDPMLineIndex: init.SDPMLineIndex}}
		mu.Lock()
		defer mu.Unlock()
		if !offerSent {
			early = append(early, m)
			return
		}
		g.send(m)
	})
	if _, err := pc.CreateDataChannel("ferry-control", nil); err != nil {
		t.Fatal(err)
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil || pc.SetLocalDescription(offer) != nil {
		t.Fatal(err)
	}
	mu.Lock()
	g.send(signal.Message{Type: signal.TypeOffer, To: to, Conn: conn, Session: 1, SDP: offer.SDP})
	for _, m := range early {
		g.send(m)
	}
	offerSent = true
	mu.Unlock()
	timeout := time.After(30 * time.Second)
	for done := false; !done; {
		select {
		case m := <-g.msgs:
			switch {
			case m.Conn != conn:
			case m.Type == signal.TypeAnswer && m.From == to:
				if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: m.SDP}); err != nil {
					t.Fatal(err)
				}
			case m.Type == signal.TypeCandidate && m.From == to:
				pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: m.Candidate.Candidate, SDPMid: m.Candidate.SDPMid, SDPMLineIndex: m.Candidate.SDPMLineIndex})
			case m.Type == signal.TypeError:
				t.Fatalf("charlie refused: %+v", m)
			}
		case <-connected:
			done = true
		case <-timeout:
			t.Fatal("the peer connection never connected")
		}
	}
	remote := pc.SCTP().Transport().GetRemoteCertificate()
	if sha256.Sum256(remote) != [32]byte(c.ID()) {
		t.Fatal("the far end of the connection is not charlie")
	}
}

// TestMeshDuplicateGuest: a guest that connects again replaces its old
// connection, keeps its rooms, and is listed once.
func TestMeshDuplicateGuest(t *testing.T) {
	ds, _ := meshOf(t, "alpha", "charlie")
	a, c := ds[0], ds[1]
	old := dialGuest(t, a, "guest-phone-1", "Phone")
	code, err := c.mesh.Create()
	if err != nil {
		t.Fatal(err)
	}
	tag := signal.RoomTag(signal.RoomKey(code))
	awaitView(t, a, "hearing of the room", func([]signal.Member) bool { return a.mesh.Heard(tag) })
	old.send(signal.Message{Type: signal.TypeJoin, Room: code})
	old.await("joined", isType(signal.TypeJoined))

	fresh := dialGuest(t, a, "guest-phone-1", "Phone")
	old.awaitClosed()
	n := 0
	for _, m := range a.mesh.Members() {
		if m.ID == "guest-phone-1" {
			n++
			if !slices.Contains(m.Rooms, code) {
				t.Errorf("the reconnected guest lost its room: %+v", m)
			}
		}
	}
	if n != 1 {
		t.Fatalf("the guest is listed %d times", n)
	}
	gc := dialGuest(t, c, "guest-on-charlie", "Phone C")
	awaitView(t, c, "seeing the phone", has("guest-phone-1"))
	gc.send(signal.Message{Type: signal.TypeOffer, To: "guest-phone-1", Conn: "x", Session: 1, SDP: "v=0"})
	fresh.await("the offer on the new connection", isType(signal.TypeOffer))
}

// TestMeshStaleAndForeign plays a daemon at the wire level: presence older
// than the last is dropped, members it has no right to claim are ignored,
// messages from peers it does not carry are dropped, and a second link from
// the same daemon replaces the first.
func TestMeshStaleAndForeign(t *testing.T) {
	ds, _ := meshOf(t, "alpha", "charlie")
	a, c := ds[0], ds[1]
	fake, err := identity.Load(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	me := fake.ID.String()
	link, welcome := dialHubAs(t, a, fake, signal.Message{Kind: signal.KindMesh, From: me, Name: "fake"})
	if welcome.Type != signal.TypeWelcome {
		t.Fatalf("got %+v", welcome)
	}
	guest := func(id string) signal.Member {
		return signal.Member{ID: id, Name: id, Kind: signal.MemberGuest, Home: me}
	}
	self := signal.Member{ID: me, Name: "fake", Kind: signal.MemberDaemon, Home: me}
	// barrier: a message to nobody is answered, and a link is read in order,
	// so once the answer is back everything sent before it is handled.
	barrier := func(cl *wsClient, n uint64) {
		cl.send(signal.Message{Type: signal.TypeOffer, From: me, To: "nobody-here", Conn: "b", Session: n, SDP: "v=0"})
		cl.await("the barrier", func(m signal.Message) bool { return m.Conn == "b" && m.Session == n })
	}
	link.send(signal.Message{Type: signal.TypePresence, From: me, Session: 10, Members: []signal.Member{self, guest("guest-xxxx-1")}})
	barrier(link, 1)
	link.send(signal.Message{Type: signal.TypePresence, From: me, Session: 5, Members: []signal.Member{self, guest("guest-yyyy-2")}})
	barrier(link, 2)
	view := a.mesh.Members()
	if !has("guest-xxxx-1")(view) || has("guest-yyyy-2")(view) {
		t.Fatalf("stale presence was not dropped: %+v", view)
	}

	// Someone else's device ID, and a guest said to be on another daemon.
	charlieAsMine := signal.Member{ID: c.ID().String(), Name: "impostor", Kind: signal.MemberDaemon, Home: me}
	elsewhere := signal.Member{ID: "guest-zzzz-3", Name: "z", Kind: signal.MemberGuest, Home: c.ID().String()}
	link.send(signal.Message{Type: signal.TypePresence, From: me, Session: 11, Members: []signal.Member{self, charlieAsMine, elsewhere, guest("guest-xxxx-1")}})
	barrier(link, 3)
	for _, m := range a.mesh.Members() {
		if m.Name == "impostor" || m.ID == "guest-zzzz-3" {
			t.Fatalf("a foreign claim was taken: %+v", m)
		}
	}

	// A message claiming to come from alpha's own guest.
	ga := dialGuest(t, a, "guest-on-alpha", "Phone A")
	link.send(signal.Message{Type: signal.TypeOffer, From: "guest-elsewhere", To: "guest-on-alpha", Conn: "spoof", Session: 1, SDP: "v=0"})
	link.send(signal.Message{Type: signal.TypeOffer, From: "guest-xxxx-1", To: "guest-on-alpha", Conn: "real", Session: 1, SDP: "v=0"})
	if m := ga.await("an offer", isType(signal.TypeOffer)); m.Conn != "real" {
		t.Fatalf("a message from a peer the link does not carry was delivered: %+v", m)
	}

	second, _ := dialHubAs(t, a, fake, signal.Message{Kind: signal.KindMesh, From: me, Name: "fake"})
	link.awaitClosed()
	second.send(signal.Message{Type: signal.TypePresence, From: me, Session: 12, Members: []signal.Member{self}})
	barrier(second, 4)
	if has("guest-xxxx-1")(a.mesh.Members()) {
		t.Error("the replaced link's guests are still listed")
	}
}

// TestHubBadInput: what a guest may not send, and what the hub answers.
func TestHubBadInput(t *testing.T) {
	a := startTestDaemon(t, "alpha")

	_, refusal := dialHub(t, a, signal.Message{Kind: signal.KindGuest, From: "bad id!", Name: "x"})
	if refusal.Type != signal.TypeError || refusal.Code != proto.CodeBadMessage {
		t.Errorf("a bad guest ID: got %+v", refusal)
	}
	_, refusal = dialHub(t, a, signal.Message{Kind: signal.KindGuest, From: a.ID().String(), Name: "x"})
	if refusal.Code != proto.CodeIdentity {
		t.Errorf("a guest with the daemon's ID: got %+v", refusal)
	}
	_, refusal = dialHub(t, a, signal.Message{Kind: "spaceship", From: "guest-12345678"})
	if refusal.Code != proto.CodeBadMessage {
		t.Errorf("an unknown kind: got %+v", refusal)
	}

	g := dialGuest(t, a, "guest-12345678", "Phone")
	g.ws.WriteMessage(websocket.TextMessage, []byte(`{"v":1,"type":"wave"}`))
	if e := g.await("unknown-type", isType(signal.TypeError)); e.Code != proto.CodeUnknownType {
		t.Errorf("an unknown type: got %+v", e)
	}
	g.send(signal.Message{Type: signal.TypeOffer, Conn: "c", Session: 1, SDP: "v=0"})
	if e := g.await("bad-message", isType(signal.TypeError)); e.Code != proto.CodeBadMessage || !strings.Contains(e.Text, "needs to") {
		t.Errorf("an offer to nobody named: got %+v", e)
	}
	g.send(signal.Message{Type: signal.TypePresence, From: "guest-12345678"})
	if e := g.await("bad-message", isType(signal.TypeError)); e.Code != proto.CodeBadMessage {
		t.Errorf("presence from a guest: got %+v", e)
	}
	g.send(signal.Message{Type: signal.TypeJoin, Room: "ABCDEFGH"})
	if e := g.await("no-room", isType(signal.TypeError)); e.Code != proto.CodeNoRoom || e.Room != "ABCDEFGH" {
		t.Errorf("joining a room that does not exist: got %+v", e)
	}
	g.ws.WriteMessage(websocket.TextMessage, []byte(`{"v":1,"type":"join","room":"O0I1L5"}`))
	g.await("closing on a bad room code", func(m signal.Message) bool { return m.Code == proto.CodeBadMessage })
	g.awaitClosed()

	big := dialGuest(t, a, "guest-87654321", "Phone")
	big.ws.WriteMessage(websocket.TextMessage, []byte(`{"v":1,"type":"offer","to":"x","sdp":"`+strings.Repeat("a", signal.MaxMessageBytes)+`"}`))
	if e := big.await("too-large", isType(signal.TypeError)); e.Code != proto.CodeTooLarge {
		t.Errorf("an oversized message: got %+v", e)
	}
	big.awaitClosed()
}

// TestRoomsAcrossTheMesh: a room made on one daemon is joined from another
// daemon and by a guest of a third; a send to the room reaches every other
// daemon in it, in parallel.
func TestRoomsAcrossTheMesh(t *testing.T) {
	ds, _ := meshOf(t, "alpha", "bravo", "charlie")
	a, b, c := ds[0], ds[1], ds[2]
	room, err := (rooms{a}).Create()
	if err != nil {
		t.Fatal(err)
	}
	code := room.Code
	if !room.Joined || len(room.Members) != 1 || !strings.HasSuffix(room.Link, "/r/"+code) {
		t.Fatalf("created %+v", room)
	}
	for _, d := range []*Daemon{b, c} {
		// The room is known once alpha's presence has brought its tag.
		awaitView(t, d, "joining the room", func([]signal.Member) bool {
			_, err := (rooms{d}).Join(strings.ToLower(code[:4] + "-" + code[4:]))
			return err == nil
		})
	}
	g := dialGuest(t, b, "guest-on-bravo", "Phone B")
	g.send(signal.Message{Type: signal.TypeJoin, Room: code})
	g.await("joined", isType(signal.TypeJoined))
	awaitView(t, a, "four in the room", func([]signal.Member) bool {
		r, _ := a.mesh.Room(code)
		return len(r.Members) == 4
	})
	if _, err := (rooms{a}).Join("ZZZZZZZZ"); err == nil || !strings.Contains(err.Error(), "no room ZZZZZZZZ") {
		t.Errorf("joining an unknown room: %v", err)
	}

	// The page a join link opens, from the network side.
	resp, err := http.Get("http://" + a.Addr().String() + "/r/" + code)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), `data-room="`+code+`"`) {
		t.Errorf("room page: %d\n%s", resp.StatusCode, page)
	}
	resp, err = http.Get("http://" + a.Addr().String() + "/r/" + code + "/qr.svg")
	if err != nil {
		t.Fatal(err)
	}
	svg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(string(svg), "<svg") {
		t.Errorf("QR code: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if resp, err := http.Get("http://" + a.Addr().String() + "/r/ZZZZZZZ"); err != nil || resp.StatusCode != 404 {
		t.Errorf("page of what is not a code: %v %v", resp.StatusCode, err)
	}

	src := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(src, []byte("for everyone in the room\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sent, err := (rooms{a}).Send(code, []string{src})
	if err != nil {
		t.Fatal(err)
	}
	if len(sent.Transfers) != 2 || len(sent.Skipped) != 0 {
		t.Fatalf("sent %+v", sent)
	}
	for _, st := range sent.Transfers {
		info := awaitTransfer(t, a, st.ID)
		if info.State != transfer.StateDone {
			t.Fatalf("to %s: %s %s", st.Name, info.State, info.Error)
		}
	}
	for _, d := range []*Daemon{b, c} {
		got, err := os.ReadFile(filepath.Join(d.cfg.Downloads, "notes.txt"))
		if err != nil || string(got) != "for everyone in the room\n" {
			t.Errorf("%s has %q, %v", d.cfg.Name, got, err)
		}
	}
}

// transferPatience bounds a wait for a transfer to end. It only catches a
// hang: on a loaded machine running the race detector, 64 MiB to a browser
// takes a minute.
const transferPatience = 3 * time.Minute

// awaitTransfer waits until transfer id on d has ended.
func awaitTransfer(t *testing.T, d *Daemon, id string) transfer.Info {
	t.Helper()
	return awaitInfo(t, d, id, "the end of transfer "+id, func(i transfer.Info) bool { return i.State.Final() })
}

// awaitInfo waits until the daemon's transfer id satisfies ok.
func awaitInfo(t *testing.T, d *Daemon, id, what string, ok func(transfer.Info) bool) transfer.Info {
	t.Helper()
	timeout := time.After(transferPatience)
	for {
		changed := d.manager.Changed()
		info, err := d.manager.Get(id)
		if err != nil {
			t.Fatal(err)
		}
		if ok(info) {
			return info
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("%s never happened: %+v", what, info)
		}
	}
}

// TestRoomsSurviveRestart: a daemon restarted within the hour is back in
// its rooms, and a damaged rooms file does not stop it.
func TestRoomsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	d, stop := runTestDaemonIn(t, "alpha", dir)
	room, err := (rooms{d}).Create()
	if err != nil {
		t.Fatal(err)
	}
	stop()
	d, stop = runTestDaemonIn(t, "alpha", dir)
	if r, err := d.mesh.Room(room.Code); err != nil || !r.Joined || len(r.Members) != 1 {
		t.Fatalf("after a restart: %+v, %v", r, err)
	}
	stop()
	if err := os.WriteFile(filepath.Join(dir, "data", datadir.RoomsFile), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	d, _ = runTestDaemonIn(t, "alpha", dir)
	if rs := d.mesh.Rooms(); len(rs) != 0 {
		t.Fatalf("rooms from a damaged file: %+v", rs)
	}
}

// TestLinkedOneWay: only A knows B's address (multicast blocked, `ferry
// connect` run on A alone). B learns A from A's link and sends to it by
// name; when A goes, B forgets it.
func TestLinkedOneWay(t *testing.T) {
	a, stopA := runTestDaemon(t, "alpha")
	b := startTestDaemon(t, "bravo")
	if _, err := a.nearby.Connect(context.Background(), b.Addr().String()); err != nil {
		t.Fatal(err)
	}
	awaitView(t, b, "alpha's link", has(a.ID().String()))
	addr, want, err := b.nearby.Resolve("alpha")
	if err != nil || want != a.ID() || addr != a.Addr().String() {
		t.Fatalf("Resolve(alpha) on bravo: %s %s %v", addr, want.Short(), err)
	}
	src := filepath.Join(t.TempDir(), "back.txt")
	os.WriteFile(src, []byte("the other way"), 0o600)
	id, err := b.manager.Send(transfer.Direct(addr, want), []string{src})
	if err != nil {
		t.Fatal(err)
	}
	if info := awaitTransfer(t, b, id); info.State != transfer.StateDone {
		t.Fatalf("bravo to alpha: %s %s", info.State, info.Error)
	}
	stopA()
	awaitView(t, b, "alpha leaving", not(has(a.ID().String())))
	if _, ok := b.nearby.Get(a.ID()); ok {
		t.Error("bravo still lists alpha after its link dropped")
	}
}
