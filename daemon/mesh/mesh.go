// Package mesh links a daemon's signaling hub to the hubs of the daemons it
// finds, so that together they work as one signaling service with no centre.
//
// Each daemon tells the daemons it is linked to who is connected to it (itself
// and its guests) and which code rooms it knows; each keeps the union as its
// view of the network. A signaling message for a peer connected to another
// daemon goes over the link to that daemon, one hop. Links form between every
// pair of daemons that see each other, so when one daemon goes only its own
// guests go with it.
//
// Presence is a hint, as discovery is: a transfer between daemons still
// proves the device ID with DTLS before any file is accepted.
//
// The mesh owns links, guests, presence and code rooms. It does not own the
// hub (package signal serves the WebSocket and hands links and guests to
// Open) nor what routed messages set up: those for this daemon go to
// Config.Local, with the sender's kind and a Reply that routes back.
package mesh

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/ferry-dev/ferry/daemon/identity"
	"github.com/ferry-dev/ferry/daemon/proto"
	"github.com/ferry-dev/ferry/daemon/signal"
)

// Config configures a Mesh.
type Config struct {
	ID   identity.ID
	Name string
	// Prove signs the challenge of a hub this daemon links to, proving ID
	// (identity.Identity.Sign).
	Prove signal.Prover
	// Port is the hub port this daemon serves on, told to the daemons it
	// links to so they can link back.
	Port int
	// Local handles signaling messages addressed to this daemon; nil
	// answers them no-peer.
	Local     signal.Handler
	Log       *slog.Logger
	MaxGuests int           // guests at once; 0 means 64
	MaxLinks  int           // daemon links at once; 0 means 128
	RoomLimit int           // members of one code room; 0 means 50
	RoomTTL   time.Duration // how long an empty room lives; 0 means one hour
	// GuestRoomTTL is how long an empty room lives that only guests used;
	// 0 means ten minutes.
	GuestRoomTTL time.Duration
	// Rejoin lists code rooms this daemon is in from the start: the ones it
	// was in before a restart.
	Rejoin []string
	// Linked, if set, hears of a daemon that linked to this one, at the
	// address it came from and the port it serves on, so it can be known
	// even where discovery does not reach both ways.
	Linked func(id identity.ID, name string, addr netip.AddrPort)
	// Lost, if set, hears that the link to a daemon dropped and no other
	// replaced it: the daemon is most likely gone.
	Lost func(id identity.ID)
}

// Errors with a wire code, for callers and for guests.
var (
	ErrNoPeer   = &proto.Error{Code: proto.CodeNoPeer, Text: "nobody with that ID is connected"}
	ErrNoRoom   = &proto.Error{Code: proto.CodeNoRoom, Text: "there is no room with that code; check the code, or the room expired"}
	ErrRoomFull = &proto.Error{Code: proto.CodeRoomFull, Text: "the room is full"}
	// errStopping refuses links and guests once Run is ending.
	errStopping = &proto.Error{Code: proto.CodeBusy, Text: "this daemon is shutting down"}
)

// Mesh is one daemon's part of the signaling mesh.
type Mesh struct {
	cfg    Config
	self   string
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	guests  map[string]*guest
	links   map[string]*link
	keepers map[string]context.CancelFunc
	rooms   map[string]*room
	joined  []string // code rooms this daemon is in
	seq     uint64
	notify  chan struct{}

	keyMu   sync.Mutex // one room key derivation at a time
	pubMu   sync.Mutex // one publish at a time; taken before mu
	limiter limiter    // guests' attempts at room codes, per address
}

// New returns a mesh with no links. It takes guests and links, and Want
// dials, at once; Run expires rooms and, when its context ends, stops it.
func New(cfg Config) *Mesh {
	if cfg.MaxGuests == 0 {
		cfg.MaxGuests = 64
	}
	if cfg.MaxLinks == 0 {
		cfg.MaxLinks = 128
	}
	if cfg.RoomLimit == 0 {
		cfg.RoomLimit = 50
	}
	if cfg.RoomTTL == 0 {
		cfg.RoomTTL = time.Hour
	}
	if cfg.GuestRoomTTL == 0 {
		cfg.GuestRoomTTL = min(10*time.Minute, cfg.RoomTTL)
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Mesh{
		cfg: cfg, self: cfg.ID.String(), ctx: ctx, cancel: cancel,
		guests: make(map[string]*guest), links: make(map[string]*link),
		keepers: make(map[string]context.CancelFunc), rooms: make(map[string]*room),
		// Presence numbers start at the clock, so a restarted daemon's
		// presence is newer than anything it sent before.
		seq:     uint64(time.Now().UnixNano()),
		notify:  make(chan struct{}),
		limiter: limiter{burst: joinBurst, every: joinEvery},
	}
	for _, code := range cfg.Rejoin {
		if signal.ValidRoomCode(code) && m.rooms[code] == nil && len(m.joined) < signal.MaxMemberRooms {
			key := signal.RoomKey(code)
			m.rooms[code] = &room{code: code, key: key, tag: signal.RoomTag(key), owned: true}
			m.joined = append(m.joined, code)
		}
	}
	return m
}

// Joined returns the code rooms this daemon is in.
func (m *Mesh) Joined() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.joined)
}

// close drops every link and guest, stops dialing and waits for the
// dialers to return.
func (m *Mesh) close() {
	m.cancel()
	m.mu.Lock()
	var conns []*signal.Conn
	for id, l := range m.links {
		conns = append(conns, l.conn)
		delete(m.links, id) // gone by choice, not lost: no Lost call
	}
	for id, g := range m.guests {
		conns = append(conns, g.conn)
		delete(m.guests, id)
	}
	m.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
	m.wg.Wait()
}

// Changed returns a channel closed at the next change of the view.
func (m *Mesh) Changed() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.notify
}

// Open takes a mesh link or a guest from the hub.
func (m *Mesh) Open(p signal.Peer, c *signal.Conn) (signal.Session, error) {
	switch p.Kind {
	case signal.KindGuest:
		return m.openGuest(p, c)
	case signal.KindMesh:
		id, err := identity.ParseID(p.ID)
		if err != nil {
			return nil, &proto.Error{Code: proto.CodeIdentity, Text: err.Error()}
		}
		if p.ID == m.self {
			return nil, &proto.Error{Code: proto.CodeIdentity, Text: "that is this daemon's ID"}
		}
		l, err := m.attach(id, p.Name, c, false)
		if err == nil && m.cfg.Linked != nil && p.Port > 0 {
			if ap, perr := netip.ParseAddrPort(c.RemoteAddr().String()); perr == nil {
				m.cfg.Linked(id, p.Name, netip.AddrPortFrom(ap.Addr().Unmap(), uint16(p.Port)))
			}
		}
		return l, err
	}
	return nil, &proto.Error{Code: proto.CodeBadMessage, Text: "unknown kind of connection"}
}

// Send sends a signaling message from this daemon to peer to through the
// mesh: to a local guest, or over the link to the daemon to is, or is a
// guest of.
func (m *Mesh) Send(to string, msg signal.Message) error {
	if to == m.self {
		return fmt.Errorf("sending %s to this daemon: %w", msg.Type, ErrNoPeer)
	}
	msg.From, msg.Name, msg.To = m.self, m.cfg.Name, to
	return m.deliver(msg, false)
}

// deliver hands msg to msg.To: this daemon, a local guest, or the daemon the
// peer is connected to. guest says whether the sender is a guest, which the
// caller knows from the connection the message came on.
func (m *Mesh) deliver(msg signal.Message, guest bool) error {
	m.mu.Lock()
	var c *signal.Conn
	local := msg.To == m.self
	if !local {
		c = m.routeLocked(msg.To)
	}
	m.mu.Unlock()
	switch {
	case local:
		if m.cfg.Local == nil {
			return ErrNoPeer
		}
		from := signal.Peer{ID: msg.From, Name: msg.Name, Kind: signal.KindPeer,
			Reply: func(r signal.Message) error { return m.Send(msg.From, r) }}
		if guest {
			from.Kind = signal.KindGuest
		}
		m.cfg.Local.HandleSignal(from, msg)
		return nil
	case c == nil:
		return ErrNoPeer
	}
	return c.Queue(msg)
}

// routeLocked returns the connection a message for id goes on: the link to
// the daemon id, a local guest, or the link to the daemon a remote guest is
// connected to. Daemons come first, so a guest cannot take a daemon's ID.
func (m *Mesh) routeLocked(id string) *signal.Conn {
	if l := m.links[id]; l != nil {
		return l.conn
	}
	if g := m.guests[id]; g != nil {
		return g.conn
	}
	for _, l := range m.links {
		if l.hasGuest(id) {
			return l.conn
		}
	}
	return nil
}

// routed reports whether a message type is passed on to its addressee.
func routed(t string) bool {
	switch t {
	case signal.TypeOffer, signal.TypeAnswer, signal.TypeCandidate, signal.TypeBye, signal.TypeError, signal.TypeText:
		return true
	}
	return false
}

// noPeer is the answer to a routed message nobody can take, carrying what
// names it to its sender: conn and session, or a text's id. Errors are not
// answered, so two sides cannot bounce them.
func noPeer(msg signal.Message) (signal.Message, bool) {
	if msg.Type == signal.TypeError {
		return signal.Message{}, false
	}
	return signal.Message{
		Type: signal.TypeError, Code: proto.CodeNoPeer, From: msg.To, To: msg.From,
		Conn: msg.Conn, Session: msg.Session, ID: msg.ID,
		Text: fmt.Sprintf("nobody called %s is connected", msg.To),
	}, true
}

// maxViewMembers is the most members a guest is told of, daemons first.
const maxViewMembers = 120

// fit shortens a presence until it is within the message size limit, which
// only the longest names with many members and rooms can pass: the last
// members go first, then the last rooms.
func fit(m *signal.Message) {
	for {
		b, err := json.Marshal(m)
		if err != nil || len(b) <= signal.MaxMessageBytes-1024 {
			return
		}
		switch {
		case len(m.Members) > 1:
			m.Members = m.Members[:len(m.Members)*3/4]
		case len(m.Rooms) > 0:
			m.Rooms = m.Rooms[:len(m.Rooms)*3/4]
		default:
			return
		}
	}
}

// Member is a peer in the view: a daemon or a guest.
type Member = signal.Member

// Members returns everyone in the view, this daemon first, then other
// daemons and guests by name.
func (m *Mesh) Members() []Member {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.viewLocked()
}

func (m *Mesh) ownLocked() []Member {
	out := []Member{{ID: m.self, Name: m.cfg.Name, Kind: signal.MemberDaemon, Home: m.self, Rooms: slices.Clone(m.joined)}}
	for _, g := range sortedGuests(m.guests) {
		out = append(out, Member{ID: g.id, Name: g.name, Kind: signal.MemberGuest, Home: m.self, Rooms: slices.Clone(g.rooms)})
	}
	return out
}

func (m *Mesh) viewLocked() []Member {
	out := m.ownLocked()
	rest := []Member{}
	for _, l := range m.links {
		for _, p := range l.members {
			p.Rooms = slices.Clone(p.Rooms)
			rest = append(rest, p)
		}
	}
	slices.SortFunc(rest, func(a, b Member) int {
		if a.Kind != b.Kind {
			if a.Kind == signal.MemberDaemon {
				return -1
			}
			return 1
		}
		if a.Name != b.Name {
			if a.Name < b.Name {
				return -1
			}
			return 1
		}
		if a.ID < b.ID {
			return -1
		}
		return 1
	})
	return append(out, rest...)
}

// publish tells every guest its view and, after a change here, every link
// this daemon's presence. Each message carries a new number, so one that
// arrives after a newer one (two publishes racing) is recognised and
// dropped. Sends are queued, so a message routed after a change arrives
// after the presence that announced it.
//
// A room's code goes only to those who joined it: links get tags and
// proofs, and each guest sees the codes of its own rooms only.
func (m *Mesh) publish(toLinks bool) {
	// One publish at a time, so presence is queued in the order of its
	// numbers though it is built outside m.mu.
	m.pubMu.Lock()
	defer m.pubMu.Unlock()
	m.mu.Lock()
	now := time.Now()
	m.recomputeLocked(now)
	m.seq++
	own := signal.Message{Type: signal.TypePresence, From: m.self, Session: m.seq, Rooms: m.roomsLocked(now)}
	for _, p := range m.ownLocked() {
		own.Members = append(own.Members, m.proofsLocked(p))
	}
	view := m.viewLocked()
	if len(view) > maxViewMembers {
		view = view[:maxViewMembers]
	}
	var links []*signal.Conn
	if toLinks {
		for _, l := range m.links {
			links = append(links, l.conn)
		}
	}
	type reader struct {
		conn  *signal.Conn
		rooms []signal.Room // the guest's own, with their idle times
	}
	guests := make([]reader, 0, len(m.guests))
	for _, g := range m.guests {
		r := reader{conn: g.conn}
		for _, c := range g.rooms {
			if room := m.rooms[c]; room != nil {
				r.rooms = append(r.rooms, signal.Room{Code: c, Idle: idleOf(room, now)})
			}
		}
		guests = append(guests, r)
	}
	close(m.notify)
	m.notify = make(chan struct{})
	m.mu.Unlock()

	// The messages are built outside the lock, one per set of rooms:
	// guests in the same rooms are told the same.
	fit(&own)
	for _, c := range links {
		c.Queue(own)
	}
	built := map[string]signal.Message{}
	for _, g := range guests {
		key := fmt.Sprint(g.rooms)
		msg, ok := built[key]
		if !ok {
			msg = signal.Message{Type: signal.TypePresence, From: m.self, Session: own.Session, Rooms: g.rooms, Members: make([]Member, len(view))}
			for i, p := range view {
				p.Rooms = slices.DeleteFunc(slices.Clone(p.Rooms), func(c string) bool {
					return !slices.ContainsFunc(g.rooms, func(r signal.Room) bool { return r.Code == c })
				})
				msg.Members[i] = p
			}
			fit(&msg)
			built[key] = msg
		}
		g.conn.Queue(msg)
	}
}

// Run expires empty rooms until ctx ends, then drops every link and guest,
// stops dialing, waits for its goroutines and returns nil.
func (m *Mesh) Run(ctx context.Context) error {
	t := time.NewTicker(m.cfg.RoomTTL / 60)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			m.close()
			return nil
		case <-t.C:
			m.Expire()
		}
	}
}
