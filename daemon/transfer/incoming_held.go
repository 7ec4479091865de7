package transfer

import (
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/ferry-dev/ferry/daemon/proto"
)

// What an interrupted incoming transfer holds (its part files and resume
// state) is kept while the transfer can resume. It goes when the transfer
// ends (cancelled or failed on either side, declined before anything was
// written), when the owner drops it (cancel, or Clean for all of them),
// and when nothing arrived for Config.KeepInterrupted (sweep). A sender
// that gave up, or was cancelled while it could not reach this daemon,
// cannot say so; a new offer of the same files from it continues what is
// held (adopt), and otherwise the sweep removes it.

// DefaultKeepInterrupted is how long an interrupted incoming transfer
// keeps what it holds with nothing arriving, unless
// Config.KeepInterrupted says otherwise.
const DefaultKeepInterrupted = 7 * 24 * time.Hour

// heldBytes returns the bytes the part files of the unfinished files
// hold. Call with t.mu held.
func (t *incoming) heldBytes() int64 {
	if t.state.Final() {
		return 0
	}
	var n int64
	for _, f := range t.files {
		if !f.done {
			n += max(f.held, f.disk)
		}
	}
	return n
}

// earlier returns the interrupted transfer that t, a new offer, continues,
// or nil: one from the same sender (the same device; for a guest, the
// same ID and certificate), with no session, whose manifest is t's entry
// for entry: the same paths, sizes and modification times. Of several,
// the one that holds the most. It takes m.mu, then each transfer's mu.
func (m *Manager) earlier(t *incoming) *incoming {
	m.mu.Lock()
	defer m.mu.Unlock()
	t.mu.Lock()
	entries := t.entries
	t.mu.Unlock()
	if !knowable(entries) {
		return nil
	}
	var best *incoming
	most := int64(-1)
	for _, o := range m.in {
		if o == t {
			continue
		}
		if received, ok := o.continuableBy(t.peer, entries); ok && received > most {
			best, most = o, received
		}
	}
	return best
}

// knowable reports whether a manifest says enough for a later offer of the
// same files to be known as such: every file has its modification time.
func knowable(entries []Entry) bool {
	for _, e := range entries {
		if !e.Dir && e.Mtime <= 0 {
			return false
		}
	}
	return len(entries) > 0
}

// continuableBy reports whether t is an interrupted transfer from peer
// whose manifest is entries, and returns the bytes it received. Call with
// m.mu held; it takes t.mu.
func (t *incoming) continuableBy(peer Peer, entries []Entry) (int64, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.state != StateInterrupted, t.sess != nil, t.place == nil, len(t.files) != len(entries):
		return 0, false
	case !t.peer.same(peer), peer.Guest && t.peer.Fingerprint != peer.Fingerprint:
		return 0, false
	}
	return t.received, slices.Equal(t.entries, entries)
}

// adopt makes t continue earlier: t takes over earlier's names in the
// downloads folder, its part files and what is known of each file, and
// earlier ends, what it held now t's. It reports false, changing nothing,
// if earlier is no longer interrupted. Call with t.mu held; it takes
// earlier.mu.
func (t *incoming) adopt(earlier *incoming) bool {
	earlier.mu.Lock()
	defer earlier.mu.Unlock()
	if earlier.state != StateInterrupted || earlier.sess != nil || earlier.place == nil || len(earlier.files) != len(t.entries) {
		return false
	}
	t.place, t.placed, t.files = earlier.place, earlier.placed, earlier.files
	t.received, t.verified = earlier.received, earlier.verified
	t.unreported = true
	earlier.place, earlier.files, earlier.open = nil, nil, 0
	earlier.state, earlier.code = StateCancelled, proto.CodeCancelled
	earlier.err = fmt.Sprintf("the files were sent again as transfer %s, which continues this one", t.id)
	earlier.own = "continued by transfer " + t.id
	earlier.updated = time.Now()
	earlier.retire()
	t.m.cfg.Log.Info("Transfer continues an earlier one", "transfer", t.id, "earlier", earlier.id, "peer", t.peer.label(), "held", t.received)
	return true
}

// reportDone tells the sender of a transfer that continues an earlier one
// which files that one completed, so that it counts them as verified. Call
// with t.mu held.
func (t *incoming) reportDone(rs *rsession) {
	for i, f := range t.files {
		if f.done && !t.entries[i].Dir {
			rs.sendControl(Control{Type: MsgFileOK, File: i, Path: f.final})
		}
	}
	t.unreported = false
}

// drop ends t if it is interrupted (and, with before set, has not changed
// since before), removing its part files and resume state. It returns the
// part files that held bytes, relative to the downloads folder, and the
// bytes they held on disk.
func (t *incoming) drop(state State, pe *proto.Error, own string, before time.Time) (parts []string, held int64, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.state != StateInterrupted || t.sess != nil || (!before.IsZero() && !t.updated.Before(before)) {
		return nil, 0, false
	}
	if t.place != nil {
		parts, held = t.place.Parts(func(i int) bool { return i < len(t.files) && t.files[i].done })
	}
	t.endLocked(state, pe, own)
	return parts, held, true
}

// sweep ends the interrupted incoming transfers nothing arrived for since
// before cutoff, removing what they hold.
func (m *Manager) sweep(cutoff time.Time) {
	ins, _ := m.snapshot(false)
	n := 0
	for _, t := range ins {
		pe := proto.Errorf(proto.CodeExpired, "nothing arrived for %s, so %s removed what it held", m.cfg.KeepInterrupted, m.cfg.Name)
		own := fmt.Sprintf("nothing arrived for %s; what it held was removed", m.cfg.KeepInterrupted)
		if parts, held, ok := t.drop(StateExpired, pe, own, cutoff); ok {
			n++
			m.cfg.Log.Info("Removed what an old interrupted transfer held", "transfer", t.id, "parts", len(parts), "bytes", held)
		}
	}
	if n > 0 {
		m.notify()
	}
}

// Dropped is one interrupted incoming transfer Clean ended.
type Dropped struct {
	Info  Info     // the transfer before it was dropped
	Parts []string // the part files removed that held bytes, relative to the downloads folder
	Bytes int64    // what they held
}

// Clean drops what every interrupted incoming transfer holds, at the
// owner's word: the transfers end as cancelled, their part files and
// resume state are removed, and a sender that comes back to one is told.
// Files already verified stay. It returns what it removed, oldest first.
func (m *Manager) Clean() []Dropped {
	ins, _ := m.snapshot(false)
	var out []Dropped
	for _, t := range ins {
		info := t.info()
		pe := proto.Errorf(proto.CodeCancelled, "%s dropped what it held of the transfer", m.cfg.Name)
		if parts, held, ok := t.drop(StateCancelled, pe, "you dropped what it held", time.Time{}); ok {
			out = append(out, Dropped{Info: info, Parts: parts, Bytes: held})
			m.cfg.Log.Info("Dropped what an interrupted transfer held", "transfer", t.id, "parts", len(parts), "bytes", held)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Info.Started.Before(out[j].Info.Started) })
	if len(out) > 0 {
		m.notify()
	}
	return out
}
