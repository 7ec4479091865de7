package discovery

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// FlagFor is how long an address whose hub answered as another device is
// left out for the device ID it was announced with. Announced again after
// that, it is asked again.
const FlagFor = 10 * time.Minute

// RecheckSilent is how long a hub that did not answer when asked stays
// Silent; announced again after that, it is asked again.
const RecheckSilent = time.Minute

// HubState is what is known of one address a daemon was announced at.
type HubState int

// What a hub can have shown, from least to most trusted. Hubs are tried in
// the reverse order.
const (
	Silent    HubState = iota // asked who it is, and did not answer
	Unchecked                 // announced; not asked yet
	Answered                  // its hub said it is the announced device
	Proven                    // the device proved its ID there with its certificate
)

func (s HubState) String() string {
	return [...]string{"silent", "unchecked", "answered", "proven"}[s]
}

// MarshalText writes the state as its name.
func (s HubState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Hub is one address a daemon's hub was announced or found at.
type Hub struct {
	Addr  netip.AddrPort `json:"addr"`
	State HubState       `json:"state"`
}

// Peer is one daemon in the table.
type Peer struct {
	ID        string    `json:"id"` // device ID in text form
	Name      string    `json:"name"`
	Version   int       `json:"version"`
	FirstSeen time.Time `json:"firstSeen"`
	LastSeen  time.Time `json:"lastSeen"`
	Manual    bool      `json:"manual,omitempty"` // added by address, kept without mDNS
	// Hubs lists where the daemon's hub is, in the order to try them:
	// proven before answered before unchecked before silent, then IPv4
	// first, then the address known longest first, so an address a new
	// record brings is tried after those the device already showed.
	Hubs []Hub `json:"hubs"`
	// Flagged lists the addresses announced for this ID whose hub answered
	// as another device. They are not in Hubs, and records naming them
	// are ignored for FlagFor.
	Flagged []netip.AddrPort `json:"flagged,omitempty"`
}

// Short returns the device ID's short form, as in "ABCD-EFGH".
func (p Peer) Short() string { return shortID(p.ID) }

// Addr returns the hub to reach the peer at, or false if it has none: every
// address announced for it answered as another device.
func (p Peer) Addr() (netip.AddrPort, bool) {
	if len(p.Hubs) == 0 {
		return netip.AddrPort{}, false
	}
	return p.Hubs[0].Addr, true
}

// same reports whether p and q differ in nothing but LastSeen.
func (p Peer) same(q Peer) bool {
	return p.ID == q.ID && p.Name == q.Name && p.Version == q.Version && p.Manual == q.Manual &&
		slices.Equal(p.Hubs, q.Hubs) && slices.Equal(p.Flagged, q.Flagged)
}

// EventKind says what happened to a peer.
type EventKind int

// What can happen to a peer.
const (
	Added EventKind = iota
	Changed
	Removed
)

func (k EventKind) String() string {
	return [...]string{"added", "changed", "removed"}[k]
}

// Event is a change to the table.
type Event struct {
	Kind EventKind
	Peer Peer
}

// Table holds the daemons seen recently, keyed by device ID, and for each
// the addresses its hub was seen at. An mDNS record is a claim anyone can
// make, so a record never replaces what a device showed before: its
// addresses join the device's hubs, after those that answered or proved
// the ID. An address whose hub answers as another device (Checked, Flag)
// is dropped for that ID and records naming it are ignored for FlagFor;
// the ID itself and its other addresses are untouched, so a forged record
// cannot lock the real device out.
//
// An address not announced again within the TTL is dropped, and so is a
// peer, unless it was added by address.
type Table struct {
	self    string
	ttl     time.Duration
	onEvent func(Event)

	mu      sync.Mutex
	peers   map[string]*entry
	flagged map[flagKey]time.Time // until when
	serial  uint64                // orders hubs by when they were first seen
	// queue holds the events not delivered yet; one caller at a time,
	// the one that finds delivering false, hands them to onEvent.
	queue      []Event
	delivering bool
}

type entry struct {
	Peer     // ID, Name, Version, FirstSeen, LastSeen, Manual
	hubs     map[netip.AddrPort]*hub
	reported *Peer // as the last event told it; nil before the first
}

type hub struct {
	state  HubState
	asked  time.Time // when ToCheck handed it out; zero if never
	serial uint64
	seen   time.Time
	manual bool // added by address or by a link: kept without mDNS
}

type flagKey struct {
	id   string
	addr netip.AddrPort
}

// NewTable returns an empty table that ignores self and calls onEvent (if
// not nil) for every change, outside its lock, one call at a time, in the
// order of the changes. onEvent may call the table.
func NewTable(self string, ttl time.Duration, onEvent func(Event)) *Table {
	if onEvent == nil {
		onEvent = func(Event) {}
	}
	return &Table{self: self, ttl: ttl, onEvent: onEvent, peers: make(map[string]*entry), flagged: make(map[flagKey]time.Time)}
}

// See records a sighting.
func (t *Table) See(s Sighting) {
	t.update(s, false, false)
}

// AddManual records a daemon added by address; it stays until removed.
func (t *Table) AddManual(s Sighting) {
	t.update(s, true, true)
}

// AddLinked records the addresses of a sighting that came from a daemon's
// own connection rather than a record: they stay until the daemon is
// removed, while the daemon itself expires as before.
func (t *Table) AddLinked(s Sighting) {
	t.update(s, false, true)
}

func (t *Table) update(s Sighting, manual, keep bool) {
	if s.ID == t.self {
		return
	}
	now := time.Now()
	t.mu.Lock()
	var addrs []netip.AddrPort
	for _, a := range s.Addrs {
		ap := netip.AddrPortFrom(a, uint16(s.Port))
		if !t.isFlaggedLocked(s.ID, ap, now) && !slices.Contains(addrs, ap) {
			addrs = append(addrs, ap)
		}
	}
	if len(addrs) == 0 {
		// Nothing, or only addresses that answered as another device: no
		// sign of this device.
		t.mu.Unlock()
		return
	}
	e := t.peers[s.ID]
	if e == nil {
		e = &entry{Peer: Peer{ID: s.ID, FirstSeen: now}, hubs: make(map[netip.AddrPort]*hub)}
		t.peers[s.ID] = e
	}
	provenBefore, provenHere := false, false
	for _, h := range e.hubs {
		provenBefore = provenBefore || h.state == Proven
	}
	for _, ap := range addrs {
		h := e.hubs[ap]
		if h == nil {
			t.serial++
			h = &hub{state: Unchecked, serial: t.serial}
			e.hubs[ap] = h
		}
		h.seen = now
		h.manual = h.manual || keep
		if h.state == Silent && now.Sub(h.asked) >= RecheckSilent {
			h.state, h.asked = Unchecked, time.Time{}
		}
		provenHere = provenHere || h.state == Proven
	}
	// Once the device proved its ID somewhere, only a record naming such
	// an address may rename it.
	if !provenBefore || provenHere {
		e.Name, e.Version = s.Name, s.Version
	}
	e.LastSeen = now
	e.Manual = e.Manual || manual
	t.reportLocked(e, now)
}

// reportLocked reports how e changed since it was last reported, if it
// did, and unlocks t.
func (t *Table) reportLocked(e *entry, now time.Time) {
	if ev, ok := t.eventLocked(e, now); ok {
		t.queue = append(t.queue, ev)
	}
	t.deliverLocked()
}

// deliverLocked hands the queued events to onEvent unless another caller
// is doing so already, and unlocks t.
func (t *Table) deliverLocked() {
	if t.delivering {
		t.mu.Unlock()
		return
	}
	t.delivering = true
	for len(t.queue) > 0 {
		events := t.queue
		t.queue = nil
		t.mu.Unlock()
		for _, ev := range events {
			t.onEvent(ev)
		}
		t.mu.Lock()
	}
	t.delivering = false
	t.mu.Unlock()
}

// eventLocked returns the event that reports e's change since it was last
// reported, and false if nothing changed.
func (t *Table) eventLocked(e *entry, now time.Time) (Event, bool) {
	p := t.peerLocked(e, now)
	kind := Changed
	switch {
	case e.reported == nil:
		kind = Added
	case e.reported.same(p):
		return Event{}, false
	}
	e.reported = &p
	return Event{kind, p}, true
}

// peerLocked returns the public view of e.
func (t *Table) peerLocked(e *entry, now time.Time) Peer {
	p := e.Peer
	p.Hubs, p.Flagged = nil, nil
	type ranked struct {
		Hub
		serial uint64
	}
	var hubs []ranked
	for ap, h := range e.hubs {
		hubs = append(hubs, ranked{Hub{ap, h.state}, h.serial})
	}
	slices.SortFunc(hubs, func(a, b ranked) int {
		return cmp.Or(
			cmp.Compare(b.State, a.State),
			boolInt(b.Addr.Addr().Is4())-boolInt(a.Addr.Addr().Is4()),
			cmp.Compare(a.serial, b.serial),
		)
	})
	for _, h := range hubs {
		p.Hubs = append(p.Hubs, h.Hub)
	}
	for k := range t.flagged {
		if k.id == e.ID && t.isFlaggedLocked(k.id, k.addr, now) {
			p.Flagged = append(p.Flagged, k.addr)
		}
	}
	slices.SortFunc(p.Flagged, netip.AddrPort.Compare)
	return p
}

func (t *Table) isFlaggedLocked(id string, addr netip.AddrPort, now time.Time) bool {
	until, ok := t.flagged[flagKey{id, addr}]
	return ok && now.Before(until)
}

// Remove drops a peer: it said goodbye, or stopped answering.
func (t *Table) Remove(id string) {
	now := time.Now()
	t.mu.Lock()
	if e := t.peers[id]; e != nil {
		delete(t.peers, id)
		t.queue = append(t.queue, Event{Removed, t.peerLocked(e, now)})
	}
	t.deliverLocked()
}

// Expire drops the addresses not announced again within the TTL, the
// peers not seen within it, and flags older than FlagFor.
func (t *Table) Expire() {
	now := time.Now()
	t.mu.Lock()
	for k, until := range t.flagged {
		if !now.Before(until) {
			delete(t.flagged, k)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(t.peers)) {
		e := t.peers[id]
		if !e.Manual && now.Sub(e.LastSeen) > t.ttl {
			delete(t.peers, id)
			t.queue = append(t.queue, Event{Removed, t.peerLocked(e, now)})
			continue
		}
		for ap, h := range e.hubs {
			if !h.manual && now.Sub(h.seen) > t.ttl {
				delete(e.hubs, ap)
			}
		}
		if ev, ok := t.eventLocked(e, now); ok {
			t.queue = append(t.queue, ev)
		}
	}
	t.deliverLocked()
}

// Run expires entries until ctx ends, and returns nil.
func (t *Table) Run(ctx context.Context) error {
	tick := time.NewTicker(t.ttl / 4)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			t.Expire()
		}
	}
}

// Get returns the peer with the given ID.
func (t *Table) Get(id string) (Peer, bool) {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.peers[id]
	if e == nil {
		return Peer{}, false
	}
	return t.peerLocked(e, now), true
}

// List returns the peers sorted by name, then ID.
func (t *Table) List() []Peer {
	now := time.Now()
	t.mu.Lock()
	out := make([]Peer, 0, len(t.peers))
	for _, e := range t.peers {
		out = append(out, t.peerLocked(e, now))
	}
	t.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// Find resolves what a user typed: a device name (any case) or a prefix of
// a device ID, long or short form. More than one match is an error that
// lists them.
func (t *Table) Find(query string) (Peer, error) {
	q := strings.TrimSpace(query)
	if q == "" {
		return Peer{}, fmt.Errorf("no device name or ID given")
	}
	var byName, byID []Peer
	idq := strings.ToUpper(strings.ReplaceAll(q, "-", ""))
	for _, p := range t.List() {
		if strings.EqualFold(p.Name, q) {
			byName = append(byName, p)
		}
		if len(idq) >= 4 && strings.HasPrefix(p.ID, idq) {
			byID = append(byID, p)
		}
	}
	matches := byName
	if len(matches) == 0 {
		matches = byID
	}
	switch len(matches) {
	case 1:
		return matches[0], nil
	case 0:
		return Peer{}, fmt.Errorf("no nearby device is called %q or has an ID starting with it; 'ferry peers' lists them", q)
	}
	var names []string
	for _, p := range matches {
		names = append(names, fmt.Sprintf("%s (%s)", p.Name, p.Short()))
	}
	return Peer{}, fmt.Errorf("%q matches %d devices: %s; use more of the device ID", q, len(matches), strings.Join(names, ", "))
}
