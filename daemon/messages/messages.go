package messages

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/ferry-dev/ferry/daemon/api"
	"github.com/ferry-dev/ferry/daemon/proto"
	"github.com/ferry-dev/ferry/daemon/signal"
)

// Config configures a Store.
type Config struct {
	Self string // this daemon's device ID
	Name string // this daemon's name, sent with each text (the mesh sets it too)
	// Send sends a signaling message through the mesh: the mesh's Send.
	Send func(to string, m signal.Message) error
	// Lookup, if set, names a peer of the mesh's view for the messages sent
	// to it: its name and kind (api.KindDaemon or api.KindGuest, the
	// member kinds of presence), and whether it is in the view.
	Lookup func(id string) (name, kind string, ok bool)
	Log    *slog.Logger
	Keep   int              // how many messages to keep; 0 means 200
	Now    func() time.Time // nil means time.Now
}

// Limits on what a Store takes in. A sender over them loses its messages
// silently: a text is a hint, and telling a flooder it was heard helps it.
const (
	peerLimit   = 20               // texts from one sender…
	peerWindow  = 10 * time.Second // …in this long
	totalLimit  = 50               // texts from everyone…
	totalWindow = time.Second      // …in this long
	// minSeen is the fewest (sender, ID) pairs remembered to drop copies.
	minSeen = 1024
	// sweepAt is how many senders the rate limiter holds before it forgets
	// the ones with nothing in the window.
	sweepAt = 512
)

var (
	// ErrInvalid is what every refusal of a text to send wraps; the
	// refusal's own text says what to change.
	ErrInvalid = errors.New("the message cannot be sent")
	// ErrNoPeer is a text for somebody the mesh does not know.
	ErrNoPeer = errors.New("nobody with that ID is connected")
	// ErrNotSent is a text whose connection failed before it left.
	ErrNotSent = errors.New("the connection dropped before the message left; try again")
)

// invalid is a text to send that the owner must change. It reads as what to
// change and is ErrInvalid.
type invalid string

func (e invalid) Error() string        { return string(e) }
func (e invalid) Is(target error) bool { return target == ErrInvalid }

// Store keeps the texts this daemon sent and received.
type Store struct {
	cfg Config

	mu      sync.Mutex
	list    []api.Message // oldest first, at most cfg.Keep
	seen    map[seenKey]struct{}
	order   []seenKey // seen, oldest first
	peers   map[string][]time.Time
	total   []time.Time
	changed chan struct{}
}

type seenKey struct{ peer, id string }

// New returns an empty Store.
func New(cfg Config) *Store {
	if cfg.Keep <= 0 {
		cfg.Keep = 200
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Store{
		cfg: cfg, seen: make(map[seenKey]struct{}), peers: make(map[string][]time.Time),
		changed: make(chan struct{}),
	}
}

// List returns the messages kept, oldest first.
func (s *Store) List() []api.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.list)
}

// Changed returns a channel closed at the next change of the list.
func (s *Store) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

func (s *Store) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Store) addLocked(m api.Message) {
	s.list = append(s.list, m)
	if over := len(s.list) - s.cfg.Keep; over > 0 {
		s.list = slices.Delete(s.list, 0, over)
	}
	s.notifyLocked()
}

// Handle takes a message the mesh delivered to this daemon: a text, or an
// error no-peer for a text this daemon sent. It ignores any other.
func (s *Store) Handle(from signal.Peer, m signal.Message) {
	switch m.Type {
	case signal.TypeText:
		s.receive(from, m)
	case signal.TypeError:
		if m.Code == proto.CodeNoPeer && m.ID != "" {
			s.undelivered(from.ID, m.ID)
		}
	}
}

func (s *Store) receive(from signal.Peer, m signal.Message) {
	log := s.cfg.Log.With("peer", from.ID, "id", m.ID)
	if from.ID == "" || !signal.ValidMessageID(m.ID) || len(m.Text) > signal.MaxTextBytes {
		log.Debug("Dropped malformed text message")
		return
	}
	text := cleanText(m.Text)
	if strings.TrimSpace(text) == "" {
		log.Debug("Dropped empty text message")
		return
	}
	kind := api.KindDaemon
	if from.Kind == signal.KindGuest {
		kind = api.KindGuest
	}
	key := seenKey{from.ID, m.ID}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	if _, dup := s.seen[key]; dup {
		log.Debug("Dropped a copy of a text message")
		return
	}
	if !s.allowLocked(from.ID, now) {
		log.Debug("Dropped text message over the rate limit")
		return
	}
	s.rememberLocked(key)
	s.addLocked(api.Message{
		ID: m.ID, Direction: "in", Peer: from.ID, PeerName: peerName(from.Name, from.ID, kind),
		PeerKind: kind, Text: text, Time: now,
	})
}

// allowLocked reports whether a text from peer at now is within the limits,
// and counts it if so.
func (s *Store) allowLocked(peer string, now time.Time) bool {
	s.total = within(s.total, now, totalWindow)
	times := within(s.peers[peer], now, peerWindow)
	if len(times) >= peerLimit || len(s.total) >= totalLimit {
		s.peers[peer] = times
		return false
	}
	s.peers[peer] = append(times, now)
	s.total = append(s.total, now)
	if len(s.peers) > sweepAt {
		for p, ts := range s.peers {
			if len(within(ts, now, peerWindow)) == 0 {
				delete(s.peers, p)
			}
		}
	}
	return true
}

// within keeps the times in (now-d, now]. One after now is dropped too: the
// clock went back, and keeping it would hold a sender off until it caught up.
func within(ts []time.Time, now time.Time, d time.Duration) []time.Time {
	return slices.DeleteFunc(ts, func(t time.Time) bool { return !t.After(now.Add(-d)) || t.After(now) })
}

func (s *Store) rememberLocked(k seenKey) {
	s.seen[k] = struct{}{}
	s.order = append(s.order, k)
	if len(s.order) > max(minSeen, 2*s.cfg.Keep) {
		delete(s.seen, s.order[0])
		s.order = slices.Delete(s.order, 0, 1)
	}
}

// undelivered records that the text id sent to peer reached nobody.
func (s *Store) undelivered(peer, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.list) - 1; i >= 0; i-- {
		m := &s.list[i]
		if m.Direction == "out" && m.ID == id && m.Peer == peer && m.Error == "" {
			m.Error = ErrNoPeer.Error()
			s.cfg.Log.Info("Text message not delivered", "peer", peer, "id", id)
			s.notifyLocked()
			return
		}
	}
}

// Send sends text to the daemon or guest to and keeps it. A text that could
// not leave is kept too, with Error set, and returned with the error.
func (s *Store) Send(to, text string) (api.Message, error) {
	text, err := s.check(to, text)
	if err != nil {
		return api.Message{}, err
	}
	m := api.Message{ID: rand.Text(), Direction: "out", Peer: to, Text: text}
	if s.cfg.Lookup != nil {
		if name, kind, ok := s.cfg.Lookup(to); ok && (kind == api.KindDaemon || kind == api.KindGuest) {
			m.PeerName, m.PeerKind = peerName(name, to, kind), kind
		}
	}
	// Kept before it leaves, so an answer cannot be listed before it.
	s.mu.Lock()
	m.Time = s.cfg.Now()
	s.addLocked(m)
	s.mu.Unlock()

	err = s.cfg.Send(to, signal.Message{Type: signal.TypeText, To: to, Name: s.cfg.Name, ID: m.ID, Text: text})
	if err == nil {
		return m, nil
	}
	reason := ErrNotSent
	if proto.CodeOf(err) == proto.CodeNoPeer {
		reason = ErrNoPeer
	}
	s.cfg.Log.Info("Text message not sent", "peer", to, "id", m.ID, "err", err)
	m.Error = reason.Error()
	s.mu.Lock()
	for i := len(s.list) - 1; i >= 0; i-- {
		if s.list[i].ID == m.ID && s.list[i].Direction == "out" {
			s.list[i].Error = m.Error
			s.notifyLocked()
			break
		}
	}
	s.mu.Unlock()
	who := m.PeerName
	if who == "" {
		who = shortID(to, "")
	}
	return m, fmt.Errorf("sending a message to %s: %w", who, reason)
}

// check returns the text to send, cleaned, or why it cannot be sent.
func (s *Store) check(to, text string) (string, error) {
	switch {
	case to == "":
		return "", invalid("choose who to send the message to")
	case !signal.ValidGuestID(to):
		return "", invalid(fmt.Sprintf("%q is not a device or guest ID", clip(to, 70)))
	case to == s.cfg.Self:
		return "", invalid("that is this device; send the message to another device or a guest")
	case len(text) > signal.MaxTextBytes:
		return "", invalid(fmt.Sprintf("the message is %d bytes; the limit is %d", len(text), signal.MaxTextBytes))
	case strings.IndexByte(text, 0) >= 0:
		return "", invalid("the message holds a NUL character; remove it")
	case !utf8.ValidString(text):
		return "", invalid("the message is not valid UTF-8 text")
	}
	text = cleanText(text)
	if strings.TrimSpace(text) == "" {
		return "", invalid("the message is empty")
	}
	return text, nil
}
