package transfer

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/ferry-dev/ferry/daemon/identity"
)

// outPrefix marks the saved state of an outgoing transfer among the states,
// which otherwise hold incoming ones under their bare IDs.
const outPrefix = "out-"

// savedOut is what a sender keeps on disk of an outgoing transfer, so that
// it goes on after the daemon restarts: where the files are, what was
// offered, and whom to. The receiver keeps what it holds; on reconnect it
// says where to continue, as after any lost connection.
type savedOut struct {
	ID   string      `json:"id"`
	Addr string      `json:"addr,omitempty"` // where the device was last reached; empty for a guest
	Want identity.ID `json:"want,omitzero"`
	// Peer is the device that answered, once one did: after a restart
	// the transfer looks for it wherever it is (outgoing.open).
	Peer identity.ID `json:"peer,omitzero"`
	// Guest is the client ID of the browser a transfer through the mesh
	// goes to, and Fingerprint the certificate it proved, once it did: the
	// rest of the files go to that certificate only, as before the restart
	// (outgoing.proveCert), not to whoever claims the ID meanwhile.
	Guest       string    `json:"guest,omitempty"`
	Fingerprint string    `json:"fingerprint,omitempty"`
	Entries     []Entry   `json:"entries"`
	Local       []string  `json:"local"`
	Started     time.Time `json:"started"`
}

// save records o, if its route can be taken up again after a restart: a
// direct one, or one through the mesh to a browser guest, which comes back
// to its daemon's hub on its own (its page reconnects) and waits there for
// the rest. A transfer through the mesh to another daemon is not kept.
func (o *outgoing) save() {
	var want identity.ID
	var guest string
	switch r := o.route.(type) {
	case direct:
		want = r.want
	case meshRoute:
		if _, _, kind, _ := r.describe(); kind != KindGuest {
			return
		}
		guest = r.peer
	default:
		return
	}
	o.mu.Lock()
	s := savedOut{ID: o.id, Addr: o.addr, Want: want, Guest: guest, Entries: o.entries, Local: o.local, Started: o.started}
	if guest != "" {
		s.Fingerprint = o.fingerprint
	} else {
		s.Peer, _ = identity.ParseID(o.peer)
	}
	o.savedAddr, o.savedPeer = o.addr, o.peer
	o.mu.Unlock()
	if r, ok := o.route.(direct); ok && s.Addr == "" {
		s.Addr = r.addr
	}
	if err := o.m.cfg.States.Save(outPrefix+o.id, s); err != nil {
		o.m.cfg.Log.Warn("Cannot save the transfer for a restart", "transfer", o.id, "err", err)
	}
}

// forget removes o's saved state once it has ended.
func (o *outgoing) forget() {
	if err := o.m.cfg.States.Remove(outPrefix + o.id); err != nil {
		o.m.cfg.Log.Warn("Cannot remove a finished transfer's state", "transfer", o.id, "err", err)
	}
}

// loadOutgoing reads a saved outgoing transfer. One whose files changed on
// disk while the daemon was stopped is listed as failed, with the reason,
// and not resumed: what the receiver holds may no longer match. An
// unreadable state is dropped.
func (m *Manager) loadOutgoing(stateID string) *outgoing {
	var s savedOut
	err := m.cfg.States.Load(stateID, &s)
	if err == nil && (s.ID != strings.TrimPrefix(stateID, outPrefix) || len(s.Entries) != len(s.Local) || len(s.Entries) == 0 || (s.Addr == "") == (s.Guest == "")) {
		err = errors.New("inconsistent state")
	}
	if err == nil && s.Guest != "" && m.cfg.Relay == nil {
		err = errors.New("a transfer to a guest, and no mesh to reach it through")
	}
	if err != nil {
		m.cfg.Log.Warn("Dropping unreadable transfer state", "transfer", stateID, "err", err)
		m.cfg.States.Remove(stateID)
		return nil
	}
	route := Direct(s.Addr, s.Want)
	if s.Guest != "" {
		route = ThroughMesh(m.cfg.Relay, s.Guest)
	}
	o := newOutgoing(m, route, s.Entries, s.Local)
	o.id, o.started, o.state, o.fingerprint = s.ID, s.Started, StateInterrupted, s.Fingerprint
	if !s.Peer.IsZero() {
		o.peer, o.peerKind = s.Peer.String(), KindDaemon
	}
	o.savedAddr, o.savedPeer = o.addr, o.peer
	if err := unchanged(s.Entries, s.Local); err != nil {
		o.end(StateFailed, "", fmt.Sprintf("cannot resume after the restart: %v; send it again", err))
		o.forget()
		m.cfg.Log.Info("Not resuming a transfer", "transfer", o.id, "reason", o.err)
		return o
	}
	o.restored, o.resuming, o.lastProgress = true, true, time.Now()
	return o
}

// unchanged reports, as an error, the first file that is not as it was
// when the transfer started: gone, or another size or modification time.
func unchanged(entries []Entry, local []string) error {
	for i, e := range entries {
		if e.Dir {
			continue
		}
		info, err := os.Stat(local[i])
		switch {
		case err != nil:
			return fmt.Errorf("%s is gone", local[i])
		case info.Size() != e.Size || info.ModTime().UnixMilli() != e.Mtime:
			return fmt.Errorf("%s changed while ferry was stopped", local[i])
		}
	}
	return nil
}

// resumeOutgoing starts the transfers loaded from disk.
func (m *Manager) resumeOutgoing() {
	m.mu.Lock()
	var restored []*outgoing
	for _, o := range m.out {
		if o.restored {
			o.restored = false
			restored = append(restored, o)
		}
	}
	m.mu.Unlock()
	for _, o := range restored {
		m.cfg.Log.Info("Resuming a transfer after the restart", "transfer", o.id, "to", o.label)
		m.start(o)
	}
}

// Sending reports whether an unfinished outgoing transfer sends a file
// from inside dir.
func (m *Manager) Sending(dir string) bool {
	_, outs := m.snapshot(false)
	prefix := strings.TrimSuffix(dir, string(os.PathSeparator)) + string(os.PathSeparator)
	for _, o := range outs {
		o.mu.Lock()
		local := o.local // nil once the transfer has ended
		o.mu.Unlock()
		for _, p := range local {
			if strings.HasPrefix(p, prefix) {
				return true
			}
		}
	}
	return false
}
