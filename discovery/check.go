package discovery

import (
	"net/netip"
	"time"
)

// Flag records that the hub at addr, announced for device id, answered as
// another device: the address is dropped for id and records naming it are
// ignored for FlagFor. id's other addresses stay.
func (t *Table) Flag(id string, addr netip.AddrPort) {
	now := time.Now()
	t.mu.Lock()
	t.flagLocked(id, addr, now)
}

// flagLocked is Flag with t locked; it unlocks t.
func (t *Table) flagLocked(id string, addr netip.AddrPort, now time.Time) {
	t.flagged[flagKey{id, addr}] = now.Add(FlagFor)
	e := t.peers[id]
	if e == nil {
		t.mu.Unlock()
		return
	}
	delete(e.hubs, addr)
	t.reportLocked(e, now)
}

// Claim is an address announced for a device ID.
type Claim struct {
	ID   string
	Addr netip.AddrPort
}

// ToCheck returns the hubs announced for a peer that nobody asked yet who
// they are, and marks them asked; Checked takes the answers.
func (t *Table) ToCheck() []Claim {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []Claim
	for id, e := range t.peers {
		for ap, h := range e.hubs {
			if h.state == Unchecked && h.asked.IsZero() {
				h.asked = now
				out = append(out, Claim{ID: id, Addr: ap})
			}
		}
	}
	return out
}

// Checked records the device ID the hub at c.Addr said it is when asked,
// "" if it did not answer. Another ID than c.ID flags the address for c.ID
// (see Flag).
func (t *Table) Checked(c Claim, answered string) {
	now := time.Now()
	t.mu.Lock()
	if answered != "" && answered != c.ID {
		t.flagLocked(c.ID, c.Addr, now)
		return
	}
	t.setLocked(c, now, func(h *hub) {
		switch {
		case answered == "" && h.state == Unchecked:
			h.state = Silent
		case answered != "" && h.state < Answered:
			h.state = Answered
		}
	})
}

// Proved records that device id proved its ID with its certificate at
// addr: the address is tried first from now on, and is no longer flagged.
func (t *Table) Proved(id string, addr netip.AddrPort) {
	now := time.Now()
	t.mu.Lock()
	delete(t.flagged, flagKey{id, addr})
	t.setLocked(Claim{id, addr}, now, func(h *hub) { h.state = Proven })
}

// setLocked applies set to the hub of claim c, if the table has it, and
// reports the change. It unlocks t.
func (t *Table) setLocked(c Claim, now time.Time, set func(*hub)) {
	e := t.peers[c.ID]
	if e == nil {
		t.mu.Unlock()
		return
	}
	if h := e.hubs[c.Addr]; h != nil {
		set(h)
	}
	t.reportLocked(e, now)
}
