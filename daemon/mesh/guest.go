package mesh

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ferry-dev/ferry/daemon/proto"
	"github.com/ferry-dev/ferry/daemon/signal"
)

// guest is a browser connected to this daemon's hub.
type guest struct {
	m     *Mesh
	id    string
	name  string
	conn  *signal.Conn
	src   netip.Prefix // the address it connects from
	rooms []string     // guarded by m.mu
	last  time.Time    // when it connected or last sent a message; guarded by m.mu
}

// guestIdle is how long a guest must have been quiet to lose its place to
// a new guest when the table is full.
const guestIdle = 2 * time.Minute

func (m *Mesh) openGuest(p signal.Peer, c *signal.Conn) (signal.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ctx.Err() != nil {
		return nil, errStopping
	}
	if p.ID == m.self || m.links[p.ID] != nil {
		return nil, &proto.Error{Code: proto.CodeIdentity, Text: "that ID belongs to a daemon"}
	}
	now := time.Now()
	old := m.guests[p.ID]
	if old == nil && len(m.guests) >= m.cfg.MaxGuests {
		idlest := m.idlestGuestLocked()
		if now.Sub(idlest.last) < guestIdle {
			return nil, &proto.Error{Code: proto.CodeTooMany, Text: fmt.Sprintf("this daemon has its limit of %d guests", m.cfg.MaxGuests)}
		}
		// The page reconnects when it is used again.
		delete(m.guests, idlest.id)
		idlest.conn.Close()
		m.cfg.Log.Debug("Dropped the idlest guest to make room", "guest", idlest.id, "idle", now.Sub(idlest.last))
	}
	g := &guest{m: m, id: p.ID, name: guestName(p.Name, p.ID), conn: c, src: signal.Source(c.RemoteAddr().String()), last: now}
	if old != nil {
		// The same guest again (a reloaded page, a new network): the new
		// connection replaces the old one and keeps its rooms.
		g.rooms = old.rooms
		old.conn.Close()
		m.cfg.Log.Debug("Guest reconnected; closed its old connection", "guest", p.ID)
	}
	m.guests[p.ID] = g
	return g, nil
}

func (m *Mesh) idlestGuestLocked() *guest {
	var idlest *guest
	for _, g := range m.guests {
		if idlest == nil || g.last.Before(idlest.last) {
			idlest = g
		}
	}
	return idlest
}

// guestName is the name a guest gave, made printable, or one made from its ID.
func guestName(name, id string) string {
	name = strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, name))
	if name == "" {
		return "Guest " + strings.ToUpper(id[:4])
	}
	if len(name) > 64 {
		name = strings.ToValidUTF8(name[:64], "")
	}
	return name
}

func (g *guest) Started() { g.m.publish(true) }

func (g *guest) Close() {
	m := g.m
	m.mu.Lock()
	current := m.guests[g.id] == g
	if current {
		delete(m.guests, g.id)
	}
	m.mu.Unlock()
	if current {
		m.publish(true)
	}
}

func (g *guest) Handle(msg signal.Message) {
	m := g.m
	m.mu.Lock()
	current := m.guests[g.id] == g
	g.last = time.Now()
	m.mu.Unlock()
	if !current {
		return // from a connection the guest has since replaced
	}
	reply := func(r signal.Message) { g.conn.Queue(r) }
	fail := func(err error) {
		pe := err.(*proto.Error)
		reply(signal.Message{Type: signal.TypeError, Code: pe.Code, Text: pe.Text, Room: msg.Room})
	}
	switch {
	case routed(msg.Type):
		if msg.To == "" {
			reply(signal.Message{Type: signal.TypeError, Code: proto.CodeBadMessage, Text: msg.Type + " needs to", Conn: msg.Conn, Session: msg.Session})
			return
		}
		msg.From, msg.Name = g.id, g.name
		if err := m.deliver(msg, true); err != nil {
			if r, ok := noPeer(msg); ok {
				reply(r)
			}
		}
	case msg.Type == signal.TypeCreate:
		code, err := m.create(g.src, func() *[]string { return &g.rooms })
		if err != nil {
			fail(err)
			return
		}
		reply(signal.Message{Type: signal.TypeJoined, Room: code})
		m.publish(true)
	case msg.Type == signal.TypeJoin:
		if err := m.join(msg.Room, g.src, func() *[]string { return &g.rooms }); err != nil {
			fail(err)
			return
		}
		reply(signal.Message{Type: signal.TypeJoined, Room: msg.Room})
		m.publish(true)
	case msg.Type == signal.TypePing:
		reply(signal.Message{Type: signal.TypePong})
	case msg.Type == signal.TypeLeave:
		m.mu.Lock()
		g.rooms = slices.DeleteFunc(g.rooms, func(c string) bool { return c == msg.Room })
		m.mu.Unlock()
		m.publish(true)
	default:
		reply(signal.Message{Type: signal.TypeError, Code: proto.CodeBadMessage, Text: "a guest does not send " + msg.Type})
	}
}

func sortedGuests(gs map[string]*guest) []*guest {
	out := make([]*guest, 0, len(gs))
	for _, g := range gs {
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b *guest) int { return strings.Compare(a.name+a.id, b.name+b.id) })
	return out
}
