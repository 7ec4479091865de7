package mesh

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ferry-dev/ferry/daemon/proto"
	"github.com/ferry-dev/ferry/daemon/signal"
)

// room is a code room this daemon knows of.
type room struct {
	code       string
	emptySince time.Time // zero while somebody is in it
}

// Room is a code room as the owner's API shows it.
type Room struct {
	Code    string        `json:"code"`
	Members []Member      `json:"members"`
	Joined  bool          `json:"joined"`              // this daemon is in it
	Expires time.Duration `json:"expiresIn,omitempty"` // left of its time while empty
}

// Rooms returns the code rooms the mesh knows, by code.
func (m *Mesh) Rooms() []Room {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	view := m.viewLocked()
	out := make([]Room, 0, len(m.rooms))
	for _, r := range m.rooms {
		out = append(out, m.roomViewLocked(r, view, now))
	}
	slices.SortFunc(out, func(a, b Room) int { return strings.Compare(a.Code, b.Code) })
	return out
}

// Room returns one code room.
func (m *Mesh) Room(code string) (Room, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.rooms[code]
	if r == nil {
		return Room{}, ErrNoRoom
	}
	return m.roomViewLocked(r, m.viewLocked(), time.Now()), nil
}

func (m *Mesh) roomViewLocked(r *room, view []Member, now time.Time) Room {
	v := Room{Code: r.code, Members: []Member{}, Joined: slices.Contains(m.joined, r.code)}
	for _, p := range view {
		if slices.Contains(p.Rooms, r.code) {
			v.Members = append(v.Members, p)
		}
	}
	if !r.emptySince.IsZero() {
		v.Expires = max(0, m.cfg.RoomTTL-now.Sub(r.emptySince)).Round(time.Second)
	}
	return v
}

// Create makes a new code room with this daemon in it.
func (m *Mesh) Create() (string, error) {
	code, err := m.create(func() *[]string { return &m.joined })
	if err == nil {
		m.publish(true)
	}
	return code, err
}

// Join puts this daemon in the code room.
func (m *Mesh) Join(code string) error {
	err := m.join(code, func() *[]string { return &m.joined })
	if err == nil {
		m.publish(true)
	}
	return err
}

// Leave takes this daemon out of the code room.
func (m *Mesh) Leave(code string) error {
	m.mu.Lock()
	if !slices.Contains(m.joined, code) {
		m.mu.Unlock()
		return fmt.Errorf("this device is not in room %s", code)
	}
	m.joined = slices.DeleteFunc(m.joined, func(c string) bool { return c == code })
	m.mu.Unlock()
	m.publish(true)
	return nil
}

// create makes a room with a fresh code and puts the member whose rooms
// rooms returns (called with the lock held) in it.
func (m *Mesh) create(rooms func() *[]string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.rooms) >= signal.MaxRooms {
		return "", &proto.Error{Code: proto.CodeTooMany, Text: fmt.Sprintf("the network has its limit of %d rooms; an empty room expires after %s", signal.MaxRooms, m.cfg.RoomTTL)}
	}
	code := signal.NewRoomCode()
	for m.rooms[code] != nil {
		code = signal.NewRoomCode()
	}
	m.rooms[code] = &room{code: code, emptySince: time.Now()}
	if err := m.joinLocked(code, rooms()); err != nil {
		delete(m.rooms, code)
		return "", err
	}
	m.cfg.Log.Info("Code room opened", "room", code)
	return code, nil
}

func (m *Mesh) join(code string, rooms func() *[]string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.joinLocked(code, rooms())
}

func (m *Mesh) joinLocked(code string, rooms *[]string) error {
	if m.rooms[code] == nil {
		return ErrNoRoom
	}
	if slices.Contains(*rooms, code) {
		return nil
	}
	if len(*rooms) >= signal.MaxMemberRooms {
		return &proto.Error{Code: proto.CodeTooMany, Text: fmt.Sprintf("a member can be in at most %d rooms", signal.MaxMemberRooms)}
	}
	n := 0
	for _, p := range m.viewLocked() {
		if slices.Contains(p.Rooms, code) {
			n++
		}
	}
	if n >= m.cfg.RoomLimit {
		return &proto.Error{Code: proto.CodeRoomFull, Text: fmt.Sprintf("room %s is full: it has its limit of %d members", code, m.cfg.RoomLimit)}
	}
	*rooms = append(*rooms, code)
	m.rooms[code].emptySince = time.Time{}
	return nil
}

// recomputeLocked marks which rooms have members anywhere in the view. A
// member listing a room this daemon has not heard of makes it known.
func (m *Mesh) recomputeLocked(now time.Time) {
	occupied := map[string]bool{}
	for _, p := range m.viewLocked() {
		for _, c := range p.Rooms {
			occupied[c] = true
			if m.rooms[c] == nil && len(m.rooms) < signal.MaxRooms {
				m.rooms[c] = &room{code: c}
				m.cfg.Log.Debug("Code room known", "room", c)
			}
		}
	}
	for c, r := range m.rooms {
		switch {
		case occupied[c]:
			r.emptySince = time.Time{}
		case r.emptySince.IsZero():
			r.emptySince = now
		}
	}
}

// learnLocked takes the rooms another daemon knows. Each comes with how
// long that daemon has seen it empty, so the most recent use anywhere sets
// when it expires, with no need for the clocks to agree.
func (m *Mesh) learnLocked(rooms []signal.Room, now time.Time) {
	for _, r := range rooms {
		idle := time.Duration(r.Idle) * time.Second
		if idle >= m.cfg.RoomTTL {
			continue
		}
		used := now.Add(-idle)
		x := m.rooms[r.Code]
		switch {
		case x == nil && len(m.rooms) < signal.MaxRooms:
			m.rooms[r.Code] = &room{code: r.Code, emptySince: used}
			m.cfg.Log.Debug("Code room known", "room", r.Code)
		case x != nil && !x.emptySince.IsZero() && used.After(x.emptySince):
			x.emptySince = used
		}
	}
	m.recomputeLocked(now)
}

// roomsLocked lists the known rooms for presence.
func (m *Mesh) roomsLocked(now time.Time) []signal.Room {
	out := make([]signal.Room, 0, len(m.rooms))
	for _, r := range m.rooms {
		idle := int64(0)
		if !r.emptySince.IsZero() {
			idle = max(1, int64(now.Sub(r.emptySince)/time.Second))
		}
		out = append(out, signal.Room{Code: r.code, Idle: idle})
	}
	slices.SortFunc(out, func(a, b signal.Room) int { return strings.Compare(a.Code, b.Code) })
	return out
}

// Expire forgets the rooms that have been empty for the room TTL.
func (m *Mesh) Expire() {
	now := time.Now()
	m.mu.Lock()
	m.recomputeLocked(now)
	gone := 0
	for c, r := range m.rooms {
		if !r.emptySince.IsZero() && now.Sub(r.emptySince) >= m.cfg.RoomTTL {
			delete(m.rooms, c)
			gone++
		}
	}
	m.mu.Unlock()
	if gone > 0 {
		m.cfg.Log.Debug("Empty rooms expired", "rooms", gone)
		m.publish(true)
	}
}
