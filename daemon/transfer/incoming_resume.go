package transfer

import (
	"errors"
	"fmt"
	"time"

	"github.com/ferry-dev/ferry/daemon/identity"
	"github.com/ferry-dev/ferry/daemon/signal"
	"github.com/ferry-dev/ferry/daemon/store"
)

// resume tells the sender where to continue: every file before the first
// incomplete one is done, and that one holds some bytes. Files after it are
// reset, so the sender's order and ours agree. Call with t.mu held.
func (t *incoming) resume(rs *rsession) {
	k := t.firstIncomplete()
	if k == len(t.files) {
		t.finishAll(rs)
		return
	}
	for i := k + 1; i < len(t.files); i++ {
		f := &t.files[i]
		if f.done || f.held == 0 {
			continue
		}
		t.received -= f.held
		f.held, f.cp, f.want = 0, store.Checkpoint{}, ""
		if f.part != nil {
			f.part.Close()
			f.part = nil
			t.open--
		}
	}
	if t.unreported {
		t.reportDone(rs)
	}
	t.extend(k)
	accept := Control{Type: MsgAccept, File: k, Offset: t.files[k].held}
	if accept.SHA256 = t.heldSum(k); accept.SHA256 != "" {
		t.files[k].restartable = true
	}
	if t.state == StateInterrupted || len(t.resumed) > 0 || t.received > 0 {
		t.resumed = append(t.resumed, t.received)
	}
	t.state = StateActive
	t.updated = time.Now()
	t.noted = time.Time{} // the first bytes after this are news
	rs.sendControl(accept)
}

// extend takes up the bytes of file k that this daemon wrote past its last
// checkpoint before it was killed, when the sender checks what an accept
// says is held: if they are not the sender's, it sends the file from its
// start. Call with t.mu held.
func (t *incoming) extend(k int) {
	f := &t.files[k]
	if !t.checkHeld || f.done || f.part != nil || t.place == nil || f.held != f.cp.Held {
		return
	}
	cp, err := t.place.Extend(k, t.entries[k].Size, f.cp)
	if err != nil {
		t.m.cfg.Log.Debug("Cannot read past the checkpoint", "transfer", t.id, "file", k, "err", err)
		return
	}
	if cp.Held > f.held {
		t.m.cfg.Log.Info("Holding bytes written after the last checkpoint", "transfer", t.id, "file", k, "checkpoint", f.held, "held", cp.Held)
		t.received += cp.Held - f.held
		f.held, f.cp = cp.Held, cp
	}
}

// heldSum returns the SHA-256 (hex) of the bytes held of file k, "" when
// it holds none or the hash state is not at hand. Call with t.mu held.
func (t *incoming) heldSum(k int) string {
	f := &t.files[k]
	switch {
	case f.held == 0 || f.done:
		return ""
	case f.part != nil && f.part.Held() == f.held:
		return f.part.Sum()
	case f.part == nil && f.cp.Held == f.held:
		sum, _ := f.cp.Sum()
		return sum
	}
	return ""
}

// restart starts file over at the sender's word: it found that what this
// daemon held of it is not its file's start. Call with t.mu held.
func (t *incoming) restart(file int) {
	f := &t.files[file]
	t.m.cfg.Log.Info("The sender's file differs from what was held; starting it over", "transfer", t.id, "file", file, "held", f.held)
	if f.part != nil {
		f.part.Close()
		f.part = nil
		t.open--
	}
	t.received -= f.held
	f.held, f.cp = 0, store.Checkpoint{}
	// Saved before the part file is cut, so a crash in between leaves a
	// state that starts the file over too.
	t.save()
}

func (t *incoming) firstIncomplete() int {
	for i := range t.files {
		if !t.files[i].done {
			return i
		}
	}
	return len(t.files)
}

// checkpoint makes every open file durable and saves the resume state. Call
// with t.mu held.
func (t *incoming) checkpoint() error {
	t.sinceCP = 0
	for i := range t.files {
		f := &t.files[i]
		if f.part == nil {
			continue
		}
		cp, err := f.part.Checkpoint()
		if err != nil {
			return err
		}
		f.cp = cp
	}
	return t.save()
}

// saved is the resume state of an incoming transfer on disk. States saved
// before guests existed have no peerKind: their peer is a device ID.
type saved struct {
	ID          string      `json:"id"`
	Peer        string      `json:"peer"`
	PeerKind    string      `json:"peerKind,omitempty"` // KindGuest, or empty for a daemon
	Fingerprint string      `json:"fingerprint,omitempty"`
	PeerName    string      `json:"peerName"`
	Entries     []Entry     `json:"entries"`
	Placed      []string    `json:"placed"`
	Files       []savedFile `json:"files"`
	Verified    int         `json:"verified"`
	Started     time.Time   `json:"started"`
	// Updated is when the transfer last changed: what the sweep of old
	// interrupted transfers (Config.KeepInterrupted) goes by.
	Updated time.Time `json:"updated,omitzero"`
}

type savedFile struct {
	CP    store.Checkpoint `json:"cp,omitzero"`
	Final string           `json:"final,omitempty"`
	Done  bool             `json:"done,omitempty"`
}

// save writes the resume state. Call with t.mu held.
func (t *incoming) save() error {
	s := saved{ID: t.id, Peer: t.peer.ID, Fingerprint: t.peer.Fingerprint, PeerName: t.peer.Name,
		Entries: t.entries, Placed: t.placed, Files: make([]savedFile, len(t.files)), Verified: t.verified, Started: t.started, Updated: t.updated}
	if t.peer.Guest {
		s.PeerKind = KindGuest
	}
	for i, f := range t.files {
		s.Files[i] = savedFile{CP: f.cp, Final: f.final, Done: f.done}
	}
	if err := t.m.cfg.States.Save(t.id, s); err != nil {
		t.m.cfg.Log.Warn("Cannot save transfer state", "transfer", t.id, "err", err)
		return err
	}
	return nil
}

// loadIncoming reads an interrupted transfer saved by an earlier run.
func (m *Manager) loadIncoming(id string) (*incoming, error) {
	var s saved
	if err := m.cfg.States.Load(id, &s); err != nil {
		return nil, err
	}
	if s.ID != id || len(s.Entries) != len(s.Files) || len(s.Placed) != len(s.Files) {
		return nil, errors.New("inconsistent state")
	}
	peer := Peer{ID: s.Peer, Name: s.PeerName, Fingerprint: s.Fingerprint}
	switch s.PeerKind {
	case "", KindDaemon:
		pid, err := identity.ParseID(s.Peer)
		if err != nil {
			return nil, fmt.Errorf("reading the sender's device ID: %w", err)
		}
		peer.ID = pid.String()
	case KindGuest:
		if !signal.ValidGuestID(s.Peer) || s.Fingerprint == "" {
			return nil, fmt.Errorf("guest %q has no valid ID or certificate", s.Peer)
		}
		peer.Guest = true
	default:
		return nil, fmt.Errorf("unknown kind of peer %q", s.PeerKind)
	}
	placed := make([]store.Entry, len(s.Placed))
	for i, p := range s.Placed {
		placed[i] = store.Entry{Path: p, Dir: s.Entries[i].Dir}
	}
	place, err := m.cfg.Downloads.Reopen(placed)
	if err != nil {
		return nil, err
	}
	t := newIncoming(m, id, peer, "")
	t.state, t.assembled = StateInterrupted, true
	t.count, t.entries, t.placed, t.place, t.verified, t.started = len(s.Entries), s.Entries, s.Placed, place, s.Verified, s.Started
	if !s.Updated.IsZero() {
		t.updated = s.Updated
	}
	t.files = make([]inFile, len(s.Files))
	for i, f := range s.Files {
		t.files[i] = inFile{cp: f.CP, held: f.CP.Held, final: f.Final, done: f.Done}
		if f.Done {
			t.received += t.entries[i].Size
		} else {
			t.received += f.CP.Held
		}
		t.total += t.entries[i].Size
	}
	for i := range t.files {
		if !t.files[i].done {
			t.files[i].disk = place.PartSize(i)
		}
	}
	if s.Updated.IsZero() {
		// Saved by a version that did not say when: its age counts
		// from now.
		t.save()
	}
	return t, nil
}

// detach handles the loss of a session: an active transfer saves what it
// holds and waits for the sender to come back.
func (t *incoming) detach(rs *rsession) {
	t.mu.Lock()
	if t.sess != rs {
		t.mu.Unlock()
		return
	}
	t.sess = nil
	if t.state == StateActive {
		t.pause()
		t.state = StateInterrupted
		t.updated = time.Now()
		t.m.cfg.Log.Info("Transfer interrupted; waiting for the sender", "transfer", t.id, "held", t.received)
	}
	t.mu.Unlock()
	t.m.notify()
}

// pause checkpoints and closes open part files. Call with t.mu held.
func (t *incoming) pause() {
	t.checkpoint()
	for i := range t.files {
		if p := t.files[i].part; p != nil {
			p.Close()
			t.files[i].part = nil
		}
	}
	t.open = 0
}

// shutdown saves an unfinished transfer for a restart.
func (t *incoming) shutdown() {
	t.mu.Lock()
	if t.expiry != nil {
		t.expiry.Stop()
	}
	if t.state == StateActive || t.state == StateInterrupted {
		t.pause()
		t.state = StateInterrupted
	}
	if t.place != nil {
		// The next run reopens it from the saved state.
		t.place.Close()
		t.place = nil
	}
	rs := t.sess
	t.sess = nil
	t.mu.Unlock()
	if rs != nil {
		rs.close()
	}
}
