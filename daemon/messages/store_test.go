package messages

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ferry-dev/ferry/daemon/api"
	"github.com/ferry-dev/ferry/daemon/proto"
	"github.com/ferry-dev/ferry/daemon/signal"
)

const (
	self   = "SELFDEVICE0000000000000000000000000000000000000000AA"
	device = "ABCDEFGH22222222222222222222222222222222222222222222"
)

// sent is what a fake mesh was asked to send.
type sent struct {
	to string
	m  signal.Message
}

// fakeMesh is the Send and Lookup of a mesh, as function fields.
type fakeMesh struct {
	sent   []sent
	err    error
	lookup map[string][2]string // id → name, kind
}

func newStore(f *fakeMesh, now *time.Time, keep int) *Store {
	cfg := Config{Self: self, Name: "alpha", Keep: keep,
		Send: func(to string, m signal.Message) error {
			f.sent = append(f.sent, sent{to, m})
			return f.err
		},
		Lookup: func(id string) (string, string, bool) {
			v, ok := f.lookup[id]
			return v[0], v[1], ok
		},
	}
	if now != nil {
		cfg.Now = func() time.Time { return *now }
	}
	return New(cfg)
}

func text(id, body string) signal.Message {
	return signal.Message{V: 1, Type: signal.TypeText, To: self, ID: id, Text: body}
}

// TestSendRefuses: each bad input is refused with the words the owner sees,
// and nothing is sent or listed.
func TestSendRefuses(t *testing.T) {
	tests := []struct{ to, text, err string }{
		{"", "hi", "choose who to send the message to"},
		{"abc", "hi", `"abc" is not a device or guest ID`},
		{"guest 12345", "hi", `"guest 12345" is not a device or guest ID`},
		{strings.Repeat("g", 65), "hi", `"` + strings.Repeat("g", 65) + `" is not a device or guest ID`},
		{self, "hi", "that is this device; send the message to another device or a guest"},
		{device, "", "the message is empty"},
		{device, " \n\t ", "the message is empty"},
		{device, "\x1b\x07\u202e", "the message is empty"},
		{device, strings.Repeat("x", signal.MaxTextBytes+1), "the message is 4097 bytes; the limit is 4096"},
		{device, strings.Repeat("é", signal.MaxTextBytes/2) + "x", "the message is 4097 bytes; the limit is 4096"},
		{device, "a\x00b", "the message holds a NUL character; remove it"},
		{device, "a\xffb", "the message is not valid UTF-8 text"},
	}
	for _, tt := range tests {
		f := &fakeMesh{}
		s := newStore(f, nil, 0)
		m, err := s.Send(tt.to, tt.text)
		if !errors.Is(err, ErrInvalid) || err.Error() != tt.err {
			t.Errorf("Send(%.20q, %.20q) = %v; want %q", tt.to, tt.text, err, tt.err)
		}
		if m != (api.Message{}) || len(f.sent) != 0 || len(s.List()) != 0 {
			t.Errorf("Send(%.20q, %.20q) returned %+v, sent %d, listed %d", tt.to, tt.text, m, len(f.sent), len(s.List()))
		}
	}
}

// TestSendWire: a text leaves as a signaling message of type text with a
// fresh random ID, cleaned, and is listed as sent.
func TestSendWire(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	f := &fakeMesh{lookup: map[string][2]string{device: {"bravo\x1b[2J", api.KindDaemon}}}
	s := newStore(f, &now, 0)
	long := strings.Repeat("é", signal.MaxTextBytes/2)
	for _, body := range []string{"line one\r\nline\ttwo\x1b[31m \u202Egnp.exe", long} {
		if _, err := s.Send(device, body); err != nil {
			t.Fatal(err)
		}
	}
	if len(f.sent) != 2 {
		t.Fatalf("sent %d messages", len(f.sent))
	}
	w := f.sent[0]
	if w.to != device || w.m.Type != signal.TypeText || w.m.To != device || w.m.Name != "alpha" || w.m.Text != "line one\nline\ttwo[31m gnp.exe" {
		t.Fatalf("sent %q %+v", w.to, w.m)
	}
	w.m.V = signal.Version
	if err := w.m.Validate(); err != nil {
		t.Fatalf("the message sent is invalid: %v", err)
	}
	if f.sent[1].m.Text != long || f.sent[0].m.ID == f.sent[1].m.ID {
		t.Fatalf("second message %+v; IDs must differ", f.sent[1].m)
	}
	want := api.Message{ID: w.m.ID, Direction: "out", Peer: device, PeerName: "bravo[2J", PeerKind: api.KindDaemon, Text: w.m.Text, Time: now}
	if got := s.List()[0]; got != want {
		t.Fatalf("listed %+v; want %+v", got, want)
	}
}

// TestSendFails: a text that could not leave is listed with the reason,
// which the error says too.
func TestSendFails(t *testing.T) {
	tests := []struct {
		cause    error
		sentinel error
		err      string
	}{
		{&proto.Error{Code: proto.CodeNoPeer, Text: "nobody with that ID is connected"}, ErrNoPeer,
			"sending a message to ABCD-EFGH: nobody with that ID is connected"},
		{fmt.Errorf("sending text: %w", net.ErrClosed), ErrNotSent,
			"sending a message to ABCD-EFGH: the connection dropped before the message left; try again"},
	}
	for _, tt := range tests {
		s := newStore(&fakeMesh{err: tt.cause}, nil, 0)
		m, err := s.Send(device, "hi")
		if !errors.Is(err, tt.sentinel) || err.Error() != tt.err {
			t.Errorf("Send failing with %v = %v; want %q", tt.cause, err, tt.err)
		}
		list := s.List()
		if len(list) != 1 || list[0].Error != tt.sentinel.Error() || m != list[0] || m.PeerName != "" {
			t.Errorf("after %v: returned %+v, listed %+v", tt.cause, m, list)
		}
	}
}

// TestHandle: a text is listed with the sender's ID, kind and printable
// name; one that is malformed or of another type is not.
func TestHandle(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	s := newStore(&fakeMesh{}, &now, 0)
	guest := signal.Peer{ID: "guest-phone-1234", Name: "Pho\x07ne\u202e ", Kind: signal.KindGuest}
	nameless := signal.Peer{ID: "guest-noname-12", Name: "\x1b\u2066", Kind: signal.KindGuest}
	daemon := signal.Peer{ID: device, Kind: signal.KindPeer}
	long := signal.Peer{ID: device, Name: strings.Repeat("ñ", 40), Kind: signal.KindPeer}

	s.Handle(guest, text("message-01", "a\x1b[31mb\r\nc\rd\te\u202ef\u200fg"))
	s.Handle(nameless, text("message-02", "hi"))
	s.Handle(daemon, text("message-03", "hello"))
	s.Handle(long, text("message-04", "hello"))
	// None of these is listed.
	s.Handle(guest, text("short", "bad id"))
	s.Handle(guest, text("message-05", strings.Repeat("x", signal.MaxTextBytes+1)))
	s.Handle(guest, text("message-06", "\x1b\x07 \u202e"))
	s.Handle(guest, signal.Message{V: 1, Type: signal.TypeOffer, ID: "message-07", Text: "x", Conn: "c", Session: 1, SDP: "v=0"})
	s.Handle(signal.Peer{Kind: signal.KindGuest}, text("message-08", "no sender"))

	want := []api.Message{
		{ID: "message-01", Direction: "in", Peer: guest.ID, PeerName: "Phone", PeerKind: api.KindGuest, Text: "a[31mb\nc\nd\tef\u200fg", Time: now},
		{ID: "message-02", Direction: "in", Peer: nameless.ID, PeerName: "Guest GUES", PeerKind: api.KindGuest, Text: "hi", Time: now},
		{ID: "message-03", Direction: "in", Peer: device, PeerName: "ABCD-EFGH", PeerKind: api.KindDaemon, Text: "hello", Time: now},
		{ID: "message-04", Direction: "in", Peer: device, PeerName: strings.Repeat("ñ", 32), PeerKind: api.KindDaemon, Text: "hello", Time: now},
	}
	got := s.List()
	if len(got) != len(want) {
		t.Fatalf("listed %d messages: %+v", len(got), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("message %d = %+v; want %+v", i, got[i], want[i])
		}
	}
}

// TestDuplicates: a text is dropped when the same sender sent one with its
// ID before; another sender may use the same ID.
func TestDuplicates(t *testing.T) {
	s := newStore(&fakeMesh{}, nil, 0)
	p := signal.Peer{ID: "guest-phone-1234", Kind: signal.KindGuest}
	q := signal.Peer{ID: "guest-tablet-123", Kind: signal.KindGuest}
	s.Handle(p, text("message-01", "first"))
	s.Handle(p, text("message-01", "first, again"))
	s.Handle(q, text("message-01", "another sender"))
	got := s.List()
	if len(got) != 2 || got[0].Text != "first" || got[1].Peer != q.ID {
		t.Fatalf("listed %+v", got)
	}
}

// TestRateLimit: at most 20 texts per 10 seconds from one sender and 50 a
// second from everyone; a dropped text may come again later.
func TestRateLimit(t *testing.T) {
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	now := t0
	s := newStore(&fakeMesh{}, &now, 1000)
	from := func(peer string, n int) {
		for i := range n {
			s.Handle(signal.Peer{ID: peer, Kind: signal.KindGuest}, text(fmt.Sprintf("%s-%04d", peer, i), "hi"))
		}
	}
	counts := func() map[string]int {
		c := map[string]int{}
		for _, m := range s.List() {
			c[m.Peer]++
		}
		return c
	}
	check := func(when string, want map[string]int) {
		t.Helper()
		got := counts()
		for p, n := range want {
			if got[p] != n {
				t.Errorf("%s: %d texts from %s listed; want %d", when, got[p], p, n)
			}
		}
	}
	from("guest-p-1", 25)
	check("one sender", map[string]int{"guest-p-1": 20})
	from("guest-q-1", 20)
	from("guest-r-1", 20)
	check("everyone in one second", map[string]int{"guest-p-1": 20, "guest-q-1": 20, "guest-r-1": 10})

	now = t0.Add(time.Second)
	from("guest-r-1", 20) // IDs 0000–0009 are copies; 10 of the rest fit
	from("guest-p-1", 25) // still 20 in the last 10 seconds
	check("a second later", map[string]int{"guest-p-1": 20, "guest-r-1": 20})

	now = t0.Add(10 * time.Second)
	from("guest-p-1", 25) // 0000–0019 are copies; 0020–0024 were dropped, not seen
	check("ten seconds later", map[string]int{"guest-p-1": 25})

	// A clock that went back does not hold a sender off.
	now = t0.Add(5 * time.Second)
	from("guest-p-1", 45) // 0000–0024 are copies; the five just taken are "in the future"
	check("the clock back", map[string]int{"guest-p-1": 45})
}

// TestKeep: the list holds the most recent Keep messages, oldest first,
// and List returns a copy.
func TestKeep(t *testing.T) {
	s := newStore(&fakeMesh{}, nil, 3)
	p := signal.Peer{ID: "guest-phone-1234", Kind: signal.KindGuest}
	for i := range 5 {
		s.Handle(p, text(fmt.Sprintf("message-%02d", i), fmt.Sprint(i)))
	}
	got := s.List()
	if len(got) != 3 || got[0].Text != "2" || got[2].Text != "4" {
		t.Fatalf("listed %+v", got)
	}
	got[0].Text = "changed"
	if s.List()[0].Text != "2" {
		t.Fatal("List returned the store's own slice")
	}
}

// TestChanged: the channel closes when a text is listed and when a sent
// one turns out undelivered.
func TestChanged(t *testing.T) {
	s := newStore(&fakeMesh{}, nil, 0)
	ch := s.Changed()
	s.Handle(signal.Peer{ID: "guest-phone-1234", Kind: signal.KindGuest}, text("message-01", "hi"))
	select {
	case <-ch:
	default:
		t.Fatal("Changed was not closed by a new text")
	}
	ch = s.Changed()
	s.Handle(signal.Peer{ID: "guest-phone-1234"}, signal.Message{Type: signal.TypeBye, Conn: "c"})
	select {
	case <-ch:
		t.Fatal("Changed was closed by a message that is not a text")
	default:
	}
}

// TestLateNoPeer: an error no-peer naming a text sent to its sender marks
// that text undelivered; from anyone else it changes nothing.
func TestLateNoPeer(t *testing.T) {
	s := newStore(&fakeMesh{}, nil, 0)
	m, err := s.Send("guest-phone-1234", "are you there?")
	if err != nil {
		t.Fatal(err)
	}
	noPeer := signal.Message{V: 1, Type: signal.TypeError, Code: proto.CodeNoPeer, ID: m.ID, To: self, Text: "nobody called guest-phone-1234 is connected"}
	s.Handle(signal.Peer{ID: "guest-other-1234", Kind: signal.KindGuest}, noPeer)
	if got := s.List()[0]; got.Error != "" {
		t.Fatalf("another peer's error marked the text: %+v", got)
	}
	ch := s.Changed()
	s.Handle(signal.Peer{ID: "guest-phone-1234", Kind: signal.KindGuest}, noPeer)
	if got := s.List()[0]; got.Error != "nobody with that ID is connected" {
		t.Fatalf("after no-peer: %+v", got)
	}
	select {
	case <-ch:
	default:
		t.Fatal("Changed was not closed")
	}
}
