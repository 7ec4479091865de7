package mesh

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ferry-dev/ferry/daemon/proto"
	"github.com/ferry-dev/ferry/daemon/signal"
)

// room is a code room whose code this daemon knows: this daemon or one of
// its guests created or joined it. Rooms only other daemons know are seen
// here by their tags alone (link.rooms).
type room struct {
	code       string
	key        []byte    // signal.RoomKey(code)
	tag        string    // signal.RoomTag(key)
	emptySince time.Time // zero while somebody is in it
	// owned: this daemon's owner made or joined it, so it lives the full
	// RoomTTL once empty; a room only guests used ends after GuestRoomTTL.
	owned bool
	// creator is the address of the guest that made it; zero if the
	// owner did, or if it was joined here.
	creator netip.Prefix
}

func (r *room) ttl(c Config) time.Duration {
	if r.owned {
		return c.RoomTTL
	}
	return c.GuestRoomTTL
}

// Room is a code room as the owner's API shows it.
type Room struct {
	Code    string        `json:"code"`
	Members []Member      `json:"members"`
	Joined  bool          `json:"joined"`              // this daemon is in it
	Expires time.Duration `json:"expiresIn,omitempty"` // left of its time while empty
}

// Limits on what guests do with rooms.
const (
	// guestRoomsPerSource is how many rooms the guests of one address may
	// have made that are still open.
	guestRoomsPerSource = 3
	// maxGuestRooms is how many rooms made by guests this daemon keeps at
	// once; the owner's own rooms are never refused for lack of room.
	maxGuestRooms = signal.MaxRooms / 2
	// joinBurst and joinEvery limit a source address's attempts to create
	// or join a room: joinBurst at once, then one per joinEvery. Against
	// 31^8 codes that makes guessing one within its hour hopeless.
	joinBurst = 10
	joinEvery = 6 * time.Second
)

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
		v.Expires = max(0, r.ttl(m.cfg)-now.Sub(r.emptySince)).Round(time.Second)
	}
	return v
}

// Create makes a new code room with this daemon in it.
func (m *Mesh) Create() (string, error) {
	code, err := m.create(netip.Prefix{}, func() *[]string { return &m.joined })
	if err == nil {
		m.publish(true)
	}
	return code, err
}

// Join puts this daemon in the code room.
func (m *Mesh) Join(code string) error {
	err := m.join(code, netip.Prefix{}, func() *[]string { return &m.joined })
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
// rooms returns (called with the lock held) in it. guest is the address of
// the guest asking, or zero for the owner.
func (m *Mesh) create(guest netip.Prefix, rooms func() *[]string) (string, error) {
	if guest.IsValid() {
		if err := m.guestRoomsOK(guest); err != nil {
			return "", err
		}
	}
	code := signal.NewRoomCode()
	key := m.roomKey(code)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.rooms[code] != nil {
		return "", &proto.Error{Code: proto.CodeBusy, Text: "that new code was taken meanwhile; try again"}
	}
	if guest.IsValid() {
		// Checked again under the lock: others may have made rooms meanwhile.
		if err := m.guestRoomsOKLocked(guest); err != nil {
			return "", err
		}
	}
	r := &room{code: code, key: key, tag: signal.RoomTag(key), emptySince: time.Now(), owned: !guest.IsValid(), creator: guest}
	m.rooms[code] = r
	if err := m.joinLocked(r, rooms()); err != nil {
		delete(m.rooms, code)
		return "", err
	}
	m.cfg.Log.Info("Code room opened", "room", code)
	return code, nil
}

func (m *Mesh) guestRoomsOK(src netip.Prefix) error {
	if !m.limiter.allow(src, time.Now()) {
		return errTooFast
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.guestRoomsOKLocked(src)
}

func (m *Mesh) guestRoomsOKLocked(src netip.Prefix) error {
	mine, guests := 0, 0
	for _, r := range m.rooms {
		if r.creator.IsValid() {
			guests++
		}
		if r.creator == src {
			mine++
		}
	}
	switch {
	case mine >= guestRoomsPerSource:
		return &proto.Error{Code: proto.CodeTooMany, Text: fmt.Sprintf("this address has made %d rooms that are still open; leave one and it ends after %s", mine, m.cfg.GuestRoomTTL)}
	case guests >= maxGuestRooms:
		return &proto.Error{Code: proto.CodeTooMany, Text: fmt.Sprintf("this daemon has its limit of %d rooms made by guests", maxGuestRooms)}
	}
	return nil
}

var errTooFast = &proto.Error{Code: proto.CodeTooMany, Text: fmt.Sprintf("too many room codes tried from this address; try again in %s", joinEvery)}

// join puts the member whose rooms rooms returns in the room with code,
// which this daemon or a linked one must know. guest is the address of the
// guest asking (its attempts are limited), or zero for the owner.
func (m *Mesh) join(code string, guest netip.Prefix, rooms func() *[]string) error {
	if guest.IsValid() && !m.limiter.allow(guest, time.Now()) {
		return errTooFast
	}
	m.mu.Lock()
	r := m.rooms[code]
	m.mu.Unlock()
	var key []byte
	if r == nil {
		key = m.roomKey(code)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if r = m.rooms[code]; r == nil {
		tag := signal.RoomTag(key)
		idle, ok := m.remoteIdleLocked(tag)
		if !ok {
			return ErrNoRoom
		}
		r = &room{code: code, key: key, tag: tag}
		if idle > 0 {
			r.emptySince = time.Now().Add(-idle)
		}
		m.rooms[code] = r
		m.provedLocked(r)
		m.cfg.Log.Debug("Code room known", "room", code)
	}
	if !guest.IsValid() {
		r.owned = true
	}
	return m.joinLocked(r, rooms())
}

func (m *Mesh) joinLocked(r *room, rooms *[]string) error {
	if slices.Contains(*rooms, r.code) {
		return nil
	}
	if len(*rooms) >= signal.MaxMemberRooms {
		return &proto.Error{Code: proto.CodeTooMany, Text: fmt.Sprintf("a member can be in at most %d rooms", signal.MaxMemberRooms)}
	}
	n := 0
	for _, p := range m.viewLocked() {
		if slices.Contains(p.Rooms, r.code) {
			n++
		}
	}
	if n >= m.cfg.RoomLimit {
		return &proto.Error{Code: proto.CodeRoomFull, Text: fmt.Sprintf("room %s is full: it has its limit of %d members", r.code, m.cfg.RoomLimit)}
	}
	*rooms = append(*rooms, r.code)
	r.emptySince = time.Time{}
	return nil
}

// roomKey derives a room's key. Derivations take turns: each holds tens of
// MiB for a tenth of a second, and many at once would only slow them all.
func (m *Mesh) roomKey(code string) []byte {
	m.keyMu.Lock()
	defer m.keyMu.Unlock()
	return signal.RoomKey(code)
}

// Heard reports whether a linked daemon has reported the room with tag.
func (m *Mesh) Heard(tag string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.remoteIdleLocked(tag)
	return ok
}

// remoteIdleLocked reports whether a linked daemon knows the room with tag
// and, if so, for how long it has been empty at the most recent.
func (m *Mesh) remoteIdleLocked(tag string) (time.Duration, bool) {
	idle, ok := time.Duration(0), false
	for _, l := range m.links {
		for _, r := range l.rooms {
			if r.Code != tag {
				continue
			}
			d := time.Duration(r.Idle) * time.Second
			if !ok || d < idle {
				idle, ok = d, true
			}
		}
	}
	return idle, ok
}

// provedLocked adds room r to the rooms of every linked member whose proof
// shows it is in r.
func (m *Mesh) provedLocked(r *room) {
	for _, l := range m.links {
		for i := range l.members {
			p := &l.members[i]
			if slices.Contains(l.proofs[i], signal.MemberProof(r.key, p.Home, p.ID)) && !slices.Contains(p.Rooms, r.code) {
				p.Rooms = append(p.Rooms, r.code)
			}
		}
	}
}

// roomsOfLocked returns the codes of the rooms this daemon knows that the
// proofs show member (id, home) is in.
func (m *Mesh) roomsOfLocked(home, id string, proofs []string) []string {
	var out []string
	for _, r := range m.rooms {
		if slices.Contains(proofs, signal.MemberProof(r.key, home, id)) {
			out = append(out, r.code)
		}
	}
	slices.Sort(out)
	return out
}

// proofsLocked turns a member's room codes into the proofs presence
// carries between daemons.
func (m *Mesh) proofsLocked(p Member) Member {
	codes := p.Rooms
	p.Rooms = make([]string, 0, len(codes))
	for _, c := range codes {
		if r := m.rooms[c]; r != nil {
			p.Rooms = append(p.Rooms, signal.MemberProof(r.key, p.Home, p.ID))
		}
	}
	return p
}

// recomputeLocked marks which rooms have members anywhere in the view.
func (m *Mesh) recomputeLocked(now time.Time) {
	occupied := map[string]bool{}
	for _, p := range m.viewLocked() {
		for _, c := range p.Rooms {
			occupied[c] = true
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

// learnLocked takes the room tags a linked daemon knows, each with how
// long that daemon has seen it empty, so the most recent use anywhere sets
// when a room this daemon knows expires, with no need for the clocks to
// agree.
func (m *Mesh) learnLocked(rooms []signal.Room, now time.Time) {
	byTag := make(map[string]*room, len(m.rooms))
	for _, r := range m.rooms {
		byTag[r.tag] = r
	}
	for _, t := range rooms {
		x := byTag[t.Code]
		if x == nil || x.emptySince.IsZero() {
			continue
		}
		idle := time.Duration(t.Idle) * time.Second
		if used := now.Add(-idle); idle < x.ttl(m.cfg) && used.After(x.emptySince) {
			x.emptySince = used
		}
	}
	m.recomputeLocked(now)
}

// roomsLocked lists the rooms this daemon knows for presence to linked
// daemons: by tag, never by code.
func (m *Mesh) roomsLocked(now time.Time) []signal.Room {
	out := make([]signal.Room, 0, len(m.rooms))
	for _, r := range m.rooms {
		out = append(out, signal.Room{Code: r.tag, Idle: idleOf(r, now)})
	}
	slices.SortFunc(out, func(a, b signal.Room) int { return strings.Compare(a.Code, b.Code) })
	return out
}

// idleOf is how many seconds room r has been empty: 0 while somebody is
// in it, at least 1 once empty.
func idleOf(r *room, now time.Time) int64 {
	if r.emptySince.IsZero() {
		return 0
	}
	return max(1, int64(now.Sub(r.emptySince)/time.Second))
}

// Expire forgets the rooms that have been empty for their time to live.
func (m *Mesh) Expire() {
	now := time.Now()
	m.mu.Lock()
	m.recomputeLocked(now)
	gone := 0
	for c, r := range m.rooms {
		if !r.emptySince.IsZero() && now.Sub(r.emptySince) >= r.ttl(m.cfg) {
			delete(m.rooms, c)
			gone++
		}
	}
	m.mu.Unlock()
	m.limiter.prune(now)
	if gone > 0 {
		m.cfg.Log.Debug("Empty rooms expired", "rooms", gone)
		m.publish(true)
	}
}

// limiter allows each source address a burst of attempts, then one per
// interval.
type limiter struct {
	burst int
	every time.Duration
	mu    sync.Mutex
	seen  map[netip.Prefix]time.Time // when the source's allowance is full again
}

func (l *limiter) allow(src netip.Prefix, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen == nil {
		l.seen = make(map[netip.Prefix]time.Time)
	}
	full := l.seen[src]
	if full.Before(now) {
		full = now
	}
	if full.Sub(now) > time.Duration(l.burst-1)*l.every {
		return false
	}
	l.seen[src] = full.Add(l.every)
	return true
}

// prune forgets sources whose allowance is full again.
func (l *limiter) prune(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for src, full := range l.seen {
		if full.Before(now) {
			delete(l.seen, src)
		}
	}
}
