package mesh

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ferry-dev/ferry/daemon/identity"
	"github.com/ferry-dev/ferry/daemon/proto"
	"github.com/ferry-dev/ferry/daemon/signal"
)

// link is the connection to another daemon's hub, whichever side dialed.
type link struct {
	m      *Mesh
	id     identity.ID
	key    string
	name   string
	conn   *signal.Conn
	dialed bool // this daemon dialed it
	// guarded by m.mu
	seq     uint64
	members []Member      // with the codes of the rooms this daemon knows they are in
	proofs  [][]string    // each member's room proofs, as presence gave them
	rooms   []signal.Room // the room tags the daemon knows
}

func (l *link) hasGuest(id string) bool {
	for _, p := range l.members {
		if p.ID == id && p.Kind == signal.MemberGuest {
			return true
		}
	}
	return false
}

// attach makes c the link to daemon id. One link per pair: a new link in
// the same direction replaces the old (the other side reconnected); when
// both sides dialed, the link the lower ID dialed stays, on both sides alike.
func (m *Mesh) attach(id identity.ID, name string, c *signal.Conn, dialed bool) (*link, error) {
	key := id.String()
	m.mu.Lock()
	if m.ctx.Err() != nil {
		m.mu.Unlock()
		return nil, errStopping
	}
	old := m.links[key]
	if old == nil && len(m.links) >= m.cfg.MaxLinks {
		m.mu.Unlock()
		return nil, &proto.Error{Code: proto.CodeTooMany, Text: fmt.Sprintf("this daemon has its limit of %d links", m.cfg.MaxLinks)}
	}
	if old != nil && old.dialed != dialed && old.dialed == (m.self < key) {
		m.mu.Unlock()
		return nil, &proto.Error{Code: proto.CodeBusy, Text: "the daemons are already linked"}
	}
	l := &link{m: m, id: id, key: key, name: name, conn: c, dialed: dialed}
	m.links[key] = l
	impostor := m.guests[key]
	m.mu.Unlock()
	if old != nil {
		old.conn.Close()
	}
	if impostor != nil {
		impostor.conn.Close()
	}
	m.cfg.Log.Debug("Linked to daemon", "device", id.Short(), "name", name, "dialed", dialed)
	return l, nil
}

func (l *link) Started() { l.m.publish(true) }

func (l *link) Close() {
	m := l.m
	l.conn.Close()
	m.mu.Lock()
	current := m.links[l.key] == l
	if current {
		delete(m.links, l.key)
	}
	m.mu.Unlock()
	if !current {
		return
	}
	m.cfg.Log.Debug("Link to daemon lost", "device", l.id.Short(), "name", l.name)
	if m.cfg.Lost != nil && m.ctx.Err() == nil {
		m.cfg.Lost(l.id)
	}
	m.publish(false)
}

func (l *link) Handle(msg signal.Message) {
	m := l.m
	m.mu.Lock()
	if m.links[l.key] != l {
		m.mu.Unlock()
		return // from a link since replaced
	}
	switch {
	case msg.Type == signal.TypePresence:
		if msg.Session <= l.seq {
			m.mu.Unlock()
			m.cfg.Log.Debug("Dropped stale presence", "device", l.id.Short(), "session", msg.Session, "current", l.seq)
			return
		}
		l.seq = msg.Session
		l.members, l.proofs = l.members[:0], l.proofs[:0]
		var rooms []string
		for _, p := range msg.Members {
			// A daemon speaks for itself and its own guests only.
			if p.Home != l.key || (p.Kind == signal.MemberDaemon) != (p.ID == l.key) || p.ID == m.self {
				continue
			}
			proofs := slices.DeleteFunc(p.Rooms, func(s string) bool { return !signal.ValidRoomToken(s) })
			p.Rooms = m.roomsOfLocked(p.Home, p.ID, proofs)
			if p.Kind == signal.MemberDaemon {
				l.name, rooms = p.Name, p.Rooms
			}
			l.members = append(l.members, p)
			l.proofs = append(l.proofs, proofs)
		}
		l.rooms = slices.DeleteFunc(msg.Rooms, func(r signal.Room) bool { return !signal.ValidRoomToken(r.Code) })
		m.learnLocked(msg.Rooms, time.Now())
		m.mu.Unlock()
		m.cfg.Log.Debug("Presence", "name", l.name, "members", len(l.members), "rooms", strings.Join(rooms, ","), "tags", len(l.rooms))
		m.publish(false)
	case routed(msg.Type):
		// One hop: a message over a link is for this daemon or its guests,
		// and comes from the linked daemon or one of its guests.
		fromOK := msg.From == l.key || l.hasGuest(msg.From)
		_, toGuest := m.guests[msg.To]
		m.mu.Unlock()
		if !fromOK {
			m.cfg.Log.Debug("Dropped message from a peer the link does not carry", "device", l.id.Short(), "from", msg.From)
			return
		}
		if msg.To != m.self && !toGuest {
			if r, ok := noPeer(msg); ok {
				l.conn.Queue(r)
			}
			return
		}
		m.deliver(msg, msg.From != l.key)
	default:
		m.mu.Unlock()
	}
}

// Want keeps a link to daemon id, at the address addr returns, until
// Unwant: it dials when there is no link and again, with backoff, when the
// link drops. Of two daemons the one with the higher ID waits a moment
// first, so usually only one side dials.
func (m *Mesh) Want(id identity.ID, addr func() (string, bool)) {
	key := id.String()
	if key == m.self {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.keepers[key] != nil || m.ctx.Err() != nil {
		return
	}
	ctx, cancel := context.WithCancel(m.ctx)
	m.keepers[key] = cancel
	m.wg.Go(func() { m.keep(ctx, id, addr) })
}

// Unwant stops dialing daemon id; a link that is up stays until it drops.
func (m *Mesh) Unwant(id identity.ID) {
	m.mu.Lock()
	cancel := m.keepers[id.String()]
	delete(m.keepers, id.String())
	m.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// Drop stops dialing daemon id and closes its link: it proved to be
// someone else.
func (m *Mesh) Drop(id identity.ID) {
	m.Unwant(id)
	m.mu.Lock()
	l := m.links[id.String()]
	delete(m.links, id.String()) // gone by choice, not lost: no Lost call
	m.mu.Unlock()
	if l != nil {
		l.conn.Close()
		m.publish(false)
	}
}

const (
	minBackoff = 250 * time.Millisecond
	maxBackoff = 30 * time.Second
	yieldDelay = 2 * time.Second
)

func (m *Mesh) keep(ctx context.Context, id identity.ID, addr func() (string, bool)) {
	key := id.String()
	wait := func(d time.Duration) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		}
	}
	if m.self > key && !wait(yieldDelay) {
		return
	}
	backoff := minBackoff
	hello := signal.Message{Kind: signal.KindMesh, From: m.self, Name: m.cfg.Name, Port: m.cfg.Port}
	for ctx.Err() == nil {
		m.mu.Lock()
		l := m.links[key]
		m.mu.Unlock()
		if l != nil {
			select {
			case <-ctx.Done():
				return
			case <-l.conn.Done():
			}
			continue
		}
		a, ok := addr()
		if !ok {
			return
		}
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		c, welcome, err := signal.Dial(dctx, a, hello, m.cfg.Prove)
		cancel()
		if err == nil && welcome.From != key {
			c.Close()
			err = fmt.Errorf("%s answered as %s", a, welcome.From)
		}
		if err == nil {
			l, err = m.attach(id, welcome.Name, c, true)
			if err != nil {
				c.Close()
			}
		}
		if err != nil {
			m.cfg.Log.Debug("Cannot link to daemon", "device", id.Short(), "addr", a, "err", err, "retry", backoff)
			if !wait(backoff) {
				return
			}
			backoff = min(2*backoff, maxBackoff)
			continue
		}
		backoff = minBackoff
		l.Started()
		c.Serve(l, m.cfg.Log.With("device", id.Short()))
	}
}
