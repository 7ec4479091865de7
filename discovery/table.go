package discovery

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Peer is one daemon in the table.
type Peer struct {
	ID        string       `json:"id"` // device ID in text form
	Name      string       `json:"name"`
	Addrs     []netip.Addr `json:"addrs"`
	Port      int          `json:"port"`
	Version   int          `json:"version"`
	FirstSeen time.Time    `json:"firstSeen"`
	LastSeen  time.Time    `json:"lastSeen"`
	Manual    bool         `json:"manual,omitempty"` // added by address, kept without mDNS
	// Flagged lists addresses that answered with another certificate than
	// the advertised ID; they are never used again.
	Flagged []netip.Addr `json:"flagged,omitempty"`
}

// Short returns the device ID's short form, as in "ABCD-EFGH".
func (p Peer) Short() string { return shortID(p.ID) }

// Addr returns the address to reach the peer's hub at, or false if every
// address is flagged.
func (p Peer) Addr() (netip.AddrPort, bool) {
	var best netip.Addr
	for _, a := range p.Addrs {
		if slices.Contains(p.Flagged, a) {
			continue
		}
		if !best.IsValid() || (a.Is4() && !best.Is4()) {
			best = a
		}
	}
	return netip.AddrPortFrom(best, uint16(p.Port)), best.IsValid()
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

// Table holds the daemons seen recently. An entry not seen again within
// the TTL is removed, unless it was added by address.
type Table struct {
	self    string
	ttl     time.Duration
	onEvent func(Event)

	mu    sync.Mutex
	peers map[string]*Peer
}

// NewTable returns an empty table that ignores self and calls onEvent (if
// not nil) for every change, outside its lock, in order.
func NewTable(self string, ttl time.Duration, onEvent func(Event)) *Table {
	if onEvent == nil {
		onEvent = func(Event) {}
	}
	return &Table{self: self, ttl: ttl, onEvent: onEvent, peers: make(map[string]*Peer)}
}

// See records a sighting.
func (t *Table) See(s Sighting) {
	t.update(s, false)
}

// AddManual records a daemon added by address; it stays until removed.
func (t *Table) AddManual(s Sighting) {
	t.update(s, true)
}

func (t *Table) update(s Sighting, manual bool) {
	if s.ID == t.self || len(s.Addrs) == 0 {
		return
	}
	now := time.Now()
	t.mu.Lock()
	p := t.peers[s.ID]
	kind := Changed
	switch {
	case p == nil:
		kind = Added
		p = &Peer{ID: s.ID, FirstSeen: now}
		t.peers[s.ID] = p
	case p.Name == s.Name && p.Port == s.Port && p.Version == s.Version && slices.Equal(p.Addrs, s.Addrs):
		p.LastSeen = now
		p.Manual = p.Manual || manual
		t.mu.Unlock()
		return
	}
	p.Name, p.Port, p.Version, p.Addrs, p.LastSeen = s.Name, s.Port, s.Version, slices.Clone(s.Addrs), now
	p.Manual = p.Manual || manual
	ev := Event{kind, p.clone()}
	t.mu.Unlock()
	t.onEvent(ev)
}

func (p *Peer) clone() Peer {
	c := *p
	c.Addrs = slices.Clone(p.Addrs)
	c.Flagged = slices.Clone(p.Flagged)
	return c
}

// Remove drops a peer: it said goodbye, or stopped answering.
func (t *Table) Remove(id string) {
	t.mu.Lock()
	p := t.peers[id]
	delete(t.peers, id)
	t.mu.Unlock()
	if p != nil {
		t.onEvent(Event{Removed, p.clone()})
	}
}

// Flag marks addr of peer id as presenting another identity.
func (t *Table) Flag(id string, addr netip.Addr) {
	t.mu.Lock()
	p := t.peers[id]
	if p == nil || slices.Contains(p.Flagged, addr) {
		t.mu.Unlock()
		return
	}
	p.Flagged = append(p.Flagged, addr)
	ev := Event{Changed, p.clone()}
	t.mu.Unlock()
	t.onEvent(ev)
}

// Expire removes the peers not seen within the TTL.
func (t *Table) Expire() {
	now := time.Now()
	var gone []Peer
	t.mu.Lock()
	for id, p := range t.peers {
		if !p.Manual && now.Sub(p.LastSeen) > t.ttl {
			gone = append(gone, p.clone())
			delete(t.peers, id)
		}
	}
	t.mu.Unlock()
	for _, p := range gone {
		t.onEvent(Event{Removed, p})
	}
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
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.peers[id]
	if p == nil {
		return Peer{}, false
	}
	return p.clone(), true
}

// List returns the peers sorted by name, then ID.
func (t *Table) List() []Peer {
	t.mu.Lock()
	out := make([]Peer, 0, len(t.peers))
	for _, p := range t.peers {
		out = append(out, p.clone())
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
