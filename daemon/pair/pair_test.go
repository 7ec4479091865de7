package pair_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ferry-dev/ferry/daemon"
	"github.com/ferry-dev/ferry/daemon/api"
	"github.com/ferry-dev/ferry/daemon/datadir"
	"github.com/ferry-dev/ferry/daemon/pair"
	"github.com/ferry-dev/ferry/daemon/signal"
	"github.com/ferry-dev/ferry/daemon/transfer"
	"github.com/pion/webrtc/v4"
)

// startDaemon runs a real daemon on loopback and returns it with a client
// of its API.
func startDaemon(t *testing.T, name string) (*daemon.Daemon, *api.Client) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ready := make(chan struct{})
	d, err := daemon.New(daemon.Config{
		DataDir: filepath.Join(dir, "data"), Downloads: filepath.Join(dir, "dl"), Name: name,
		Listener: ln, Accept: datadir.AcceptNone, Interfaces: []string{"lo"}, Version: "test",
		Log: slog.New(slog.DiscardHandler), Ready: func() { close(ready) },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	<-ready
	return d, api.NewClient(d.Addr().String())
}

// browser plays a guest page's side of a pairing with a Pion peer
// connection: the ferry-hub channel, the text, and the hub protocol.
type browser struct {
	t    *testing.T
	id   string
	pc   *webrtc.PeerConnection
	dc   *webrtc.DataChannel
	open chan struct{}
	in   chan signal.Message
}

func newBrowser(t *testing.T, id string) *browser {
	t.Helper()
	rtc := transfer.NewAPI(transfer.RTCConfig{InterfaceFilter: func(name string) bool { return name == "lo" }, Loopback: true})
	pc, err := rtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	negotiated, ordered, chID := true, true, uint16(0)
	dc, err := pc.CreateDataChannel(pair.HubLabel, &webrtc.DataChannelInit{Negotiated: &negotiated, ID: &chID, Ordered: &ordered})
	if err != nil {
		t.Fatal(err)
	}
	b := &browser{t: t, id: id, pc: pc, dc: dc, open: make(chan struct{}), in: make(chan signal.Message, 64)}
	dc.OnOpen(func() { close(b.open) })
	dc.OnMessage(func(m webrtc.DataChannelMessage) {
		msg, err := signal.Decode(m.Data)
		if err != nil {
			t.Errorf("the daemon sent a bad message %q: %v", m.Data, err)
			return
		}
		b.in <- msg
	})
	return b
}

// text sets desc as the local description, waits for gathering and
// returns the pairing text of role.
func (b *browser) text(desc webrtc.SessionDescription, err error, role string) string {
	b.t.Helper()
	if err != nil {
		b.t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(b.pc)
	if err := b.pc.SetLocalDescription(desc); err != nil {
		b.t.Fatal(err)
	}
	<-gathered
	info := pair.Info{Role: role, ID: b.id, Name: "Paired Phone", Kind: pair.KindGuest}
	if err := info.FromDescription(b.pc.LocalDescription().SDP); err != nil {
		b.t.Fatal(err)
	}
	text, err := pair.Encode(info)
	if err != nil {
		b.t.Fatal(err)
	}
	return text
}

func (b *browser) offer() string {
	o, err := b.pc.CreateOffer(nil)
	return b.text(o, err, pair.RoleOffer)
}

// answer answers the daemon's offer text.
func (b *browser) answer(offer string) string {
	b.t.Helper()
	info, err := pair.Decode(offer)
	if err != nil {
		b.t.Fatal(err)
	}
	if err := b.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: info.SDP()}); err != nil {
		b.t.Fatal(err)
	}
	a, err := b.pc.CreateAnswer(nil)
	return b.text(a, err, pair.RoleAnswer)
}

// take takes the daemon's answer text.
func (b *browser) take(answer string) pair.Info {
	b.t.Helper()
	info, err := pair.Decode(answer)
	if err != nil {
		b.t.Fatal(err)
	}
	if err := b.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: info.SDP()}); err != nil {
		b.t.Fatal(err)
	}
	return info
}

func (b *browser) send(m signal.Message) {
	b.t.Helper()
	m.V = signal.Version
	raw, _ := json.Marshal(m)
	if err := b.dc.SendText(string(raw)); err != nil {
		b.t.Fatal(err)
	}
}

// next returns the next message of type typ, skipping others.
func (b *browser) next(typ string) signal.Message {
	b.t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case m := <-b.in:
			if m.Type == typ {
				return m
			}
		case <-deadline:
			b.t.Fatalf("no %s from the daemon", typ)
		}
	}
}

// waitFor polls cond until it holds, failing the test after 30 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(30 * time.Second)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("waited 30s for %s", what)
		}
	}
}

func member(c *api.Client, id string) bool {
	var v api.RoomsView
	if c.Do(context.Background(), "GET", "/api/rooms", nil, &v) != nil {
		return false
	}
	return slices.ContainsFunc(v.Nearby, func(m api.Member) bool { return m.ID == id })
}

// TestPairedGuest: a Pion peer playing a browser pairs with a real daemon
// through the owner's API by texts alone, says hello as a guest over
// ferry-hub, gets the welcome and a presence listing the daemon, sends a
// text that lands in the daemon's messages, and leaves presence when its
// peer connection closes.
func TestPairedGuest(t *testing.T) {
	d, c := startDaemon(t, "desk")
	ctx := context.Background()
	const guestID = "paired-guest-0001"
	b := newBrowser(t, guestID)

	var p api.Pairing
	if err := c.Do(ctx, "POST", "/api/pair/answer", api.PairRequest{Text: b.offer()}, &p); err != nil {
		t.Fatal(err)
	}
	if p.Role != "answer" || p.State != api.PairConnecting || p.Peer == nil || p.Peer.ID != guestID || p.Peer.Kind != "guest" {
		t.Fatalf("pairing after the offer: %+v", p)
	}
	info := b.take(p.Text)
	if info.Role != pair.RoleAnswer || info.Kind != pair.KindDaemon || info.ID != d.ID().String() || info.Name != "desk" {
		t.Fatalf("the daemon's answer: %+v", info)
	}
	select {
	case <-b.open:
	case <-time.After(30 * time.Second):
		t.Fatal("ferry-hub did not open")
	}
	b.send(signal.Message{Type: signal.TypeHello, From: guestID, Name: "Paired Phone", Kind: signal.KindGuest})
	if w := b.next(signal.TypeWelcome); w.From != d.ID().String() || w.Name != "desk" {
		t.Fatalf("welcome: %+v", w)
	}
	for {
		pr := b.next(signal.TypePresence)
		if slices.ContainsFunc(pr.Members, func(m signal.Member) bool { return m.ID == d.ID().String() && m.Kind == signal.MemberDaemon }) &&
			slices.ContainsFunc(pr.Members, func(m signal.Member) bool { return m.ID == guestID && m.Name == "Paired Phone" }) {
			break
		}
	}
	waitFor(t, "the paired guest in the daemon's presence", func() bool { return member(c, guestID) })
	if err := c.Do(ctx, "GET", "/api/pair/"+p.ID, nil, &p); err != nil || p.State != api.PairPaired {
		t.Fatalf("pairing once open: %+v, %v", p, err)
	}

	b.send(signal.Message{Type: signal.TypeText, To: d.ID().String(), ID: "paired-text-0001", Text: "hello over a pairing"})
	waitFor(t, "the text in the daemon's messages", func() bool {
		var ms []api.Message
		c.Do(ctx, "GET", "/api/messages", nil, &ms)
		return slices.ContainsFunc(ms, func(m api.Message) bool {
			return m.Direction == "in" && m.Peer == guestID && m.Text == "hello over a pairing" && m.PeerKind == "guest"
		})
	})

	b.pc.Close()
	waitFor(t, "the guest to leave presence", func() bool { return !member(c, guestID) })
	waitFor(t, "the pairing to end", func() bool {
		return c.Do(ctx, "GET", "/api/pair/"+p.ID, nil, &p) == nil && p.State == api.PairClosed
	})
}

// TestPairedOffer: the daemon makes the offer, the browser answers it, and
// the owner gives the answer to the pending offer; a second answer to the
// same offer is refused, and so are texts of the wrong role.
func TestPairedOffer(t *testing.T) {
	_, c := startDaemon(t, "desk")
	ctx := context.Background()
	var p api.Pairing
	if err := c.Do(ctx, "POST", "/api/pair/offer", struct{}{}, &p); err != nil {
		t.Fatal(err)
	}
	if p.State != api.PairWaiting || p.Role != "offer" || time.Until(p.Expires) < 9*time.Minute {
		t.Fatalf("new offer: %+v", p)
	}
	b := newBrowser(t, "paired-guest-0002")
	answer := b.answer(p.Text)
	if err := c.Do(ctx, "POST", "/api/pair/"+p.ID+"/answer", api.PairRequest{Text: p.Text}, nil); err == nil {
		t.Fatal("the offer was taken as its own answer")
	}
	if err := c.Do(ctx, "POST", "/api/pair/answer", api.PairRequest{Text: answer}, nil); err == nil {
		t.Fatal("an answer was taken as an offer")
	}
	if err := c.Do(ctx, "POST", "/api/pair/nosuchpairing/answer", api.PairRequest{Text: answer}, nil); err == nil {
		t.Fatal("an unknown pairing took an answer")
	}
	if err := c.Do(ctx, "POST", "/api/pair/"+p.ID+"/answer", api.PairRequest{Text: answer}, &p); err != nil {
		t.Fatal(err)
	}
	if err := c.Do(ctx, "POST", "/api/pair/"+p.ID+"/answer", api.PairRequest{Text: answer}, nil); err == nil {
		t.Fatal("an offer took a second answer")
	}
	select {
	case <-b.open:
	case <-time.After(30 * time.Second):
		t.Fatal("ferry-hub did not open")
	}
	b.send(signal.Message{Type: signal.TypeHello, From: "paired-guest-0002", Kind: signal.KindGuest})
	b.next(signal.TypeWelcome)
	waitFor(t, "the pairing to be paired", func() bool {
		return c.Do(ctx, "GET", "/api/pair/"+p.ID, nil, &p) == nil && p.State == api.PairPaired
	})
}

// TestPairedHelloChecked: a paired browser whose hello names another guest
// than its text did is refused with identity, and the pairing ends; a
// daemon's text is refused, and a fifth offer waiting at once is too.
func TestPairedHelloChecked(t *testing.T) {
	_, c := startDaemon(t, "desk")
	ctx := context.Background()
	b := newBrowser(t, "paired-guest-0003")
	var p api.Pairing
	if err := c.Do(ctx, "POST", "/api/pair/answer", api.PairRequest{Text: b.offer()}, &p); err != nil {
		t.Fatal(err)
	}
	b.take(p.Text)
	<-b.open
	b.send(signal.Message{Type: signal.TypeHello, From: "someone-else-0003", Kind: signal.KindGuest})
	if e := b.next(signal.TypeError); e.Code != "identity" || e.Text != "the hello is from someone-else-0003, but the pairing was with paired-guest-0003" {
		t.Fatalf("error: %+v", e)
	}
	waitFor(t, "the refused pairing to end", func() bool {
		return c.Do(ctx, "GET", "/api/pair/"+p.ID, nil, &p) == nil && p.State == api.PairClosed
	})

	// The daemon's own answer is a daemon's text: not one to pair with.
	var offer api.Pairing
	if err := c.Do(ctx, "POST", "/api/pair/offer", struct{}{}, &offer); err != nil {
		t.Fatal(err)
	}
	err := c.Do(ctx, "POST", "/api/pair/answer", api.PairRequest{Text: offer.Text}, nil)
	if err == nil || err.Error() != "this daemon pairs with browsers; two daemons link with 'ferry connect HOST:PORT'" {
		t.Fatalf("answering a daemon's offer: %v", err)
	}
	for range 3 {
		if err := c.Do(ctx, "POST", "/api/pair/offer", struct{}{}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Do(ctx, "POST", "/api/pair/offer", struct{}{}, nil); err == nil || err.Error() != pair.ErrTooMany.Error() {
		t.Fatalf("a fifth offer: %v", err)
	}
}
