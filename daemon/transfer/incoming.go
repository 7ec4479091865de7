package transfer

import (
	"slices"
	"sync"
	"time"

	"github.com/ferry-dev/ferry/daemon/proto"
	"github.com/ferry-dev/ferry/daemon/store"
)

// An incoming transfer's work is spread over files by job: this one holds
// its state and routes the sender's messages; incoming_manifest.go checks
// the offer, incoming_owner.go carries the owner's answer, incoming_write.go
// writes and verifies the bytes, incoming_resume.go keeps what is needed
// to resume.

// How often a receiver makes its progress durable and tells the sender.
const (
	checkpointEvery = 16 << 20
	progressEvery   = 1 << 20
	maxOpenParts    = 8
)

// incoming is a transfer this daemon receives.
type incoming struct {
	m    *Manager
	id   string
	peer Peer
	addr string // the network address the offer came from (remoteHost)

	mu        sync.Mutex
	state     State
	code, err string
	// own tells an end the owner caused in the owner's words; err
	// keeps what the sender is told.
	own       string
	count     int // entries announced by the offer
	entries   []Entry
	size      int   // of the entries so far, as MaxManifestBytes counts it
	kept      *kept // once ended, in place of entries, placed and files
	total     int64
	placed    []string
	files     []inFile
	place     *store.Placement // the files' names in the downloads folder, once accepted
	sess      *rsession
	open      int // part files open
	received  int64
	arrived   int64 // chunk bytes this transfer took from the wire
	verified  int
	sinceCP   int64
	sinceProg int64
	resumed   []int64
	noted     time.Time // when watchers last heard of written bytes
	expiry    *time.Timer
	started   time.Time
	updated   time.Time
	assembled bool
	// checkHeld is the sender's offer's: it checks the sha256 of what an
	// accept says is held (Control.CheckHeld).
	checkHeld bool
	// unreported is set on a transfer that continues an earlier one
	// (adopt): its sender has not heard file-ok for the files the earlier
	// one completed.
	unreported bool
}

type inFile struct {
	part  *store.PartFile
	held  int64
	cp    store.Checkpoint
	want  string // SHA-256 from file-end
	final string
	done  bool
	// restartable is set when an accept gave the sha256 of the held
	// bytes: until the next chunk, a chunk at offset 0 starts the file
	// over (the sender's copy differs).
	restartable bool
	// disk is the size of the part file when it was last looked at while
	// closed (after a restart): a killed daemon leaves more there than
	// held counts. It is 0 once the part is opened.
	disk int64
}

func newIncoming(m *Manager, id string, peer Peer, addr string) *incoming {
	now := time.Now()
	return &incoming{m: m, id: id, peer: peer, addr: addr, state: StatePending, started: now, updated: now}
}

// waiting reports whether the offer is still being received or waits for
// the owner. Call with m.mu held; it takes t.mu.
func (t *incoming) waiting() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.state == StatePending
}

// endedAt returns when the transfer ended; ok is false while it has not.
// Call with m.mu held; it takes t.mu.
func (t *incoming) endedAt() (at time.Time, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.updated, t.state.Final()
}

func (t *incoming) info() Info {
	t.mu.Lock()
	defer t.mu.Unlock()
	in := Info{
		ID: t.id, Direction: "in", Peer: t.peer.ID, PeerName: t.peer.Name, PeerKind: t.peer.Kind(), State: t.state,
		Bytes: t.total, Done: t.received, Arrived: t.arrived, Verified: t.verified,
		Code: t.code, Error: t.err, Resumed: append([]int64(nil), t.resumed...), Started: t.started, Updated: t.updated,
	}
	if t.own != "" {
		in.Error = t.own
	}
	if t.kept != nil {
		in.Files, in.Items, in.Tops = t.kept.files, slices.Clone(t.kept.items), t.kept.tops
		return in
	}
	in.Files, in.Items, in.Tops = t.fileCount(), t.items(), countTops(t.entries)
	in.atPosition(t.entries, t.received)
	in.Held = t.heldBytes()
	return in
}

// items returns the first 20 names of the manifest: final names where
// they are known. Call with t.mu held.
func (t *incoming) items() []string {
	var items []string
	for i, e := range t.entries {
		if len(items) == 20 {
			break
		}
		name := e.Path
		if i < len(t.files) && t.files[i].final != "" {
			name = t.files[i].final
		} else if i < len(t.placed) {
			name = t.placed[i]
		}
		items = append(items, name)
	}
	return items
}

// retire lets go of the manifest and the per-file state of a transfer that
// has ended, keeping what Info shows, and has the manager trim its list of
// ended transfers. Call with t.mu held.
func (t *incoming) retire() {
	t.kept = keep(t.fileCount(), t.items())
	t.kept.tops = countTops(t.entries)
	t.entries, t.placed, t.files, t.size = nil, nil, nil, 0
	t.err = clip(t.err, maxTextBytes)
	t.m.ended.Store(true)
}

func (t *incoming) fileCount() int {
	n := 0
	for _, e := range t.entries {
		if !e.Dir {
			n++
		}
	}
	return n
}

// offer handles an offer message on a session: the first page of a new
// transfer's manifest, or the reconnect of a known one.
func (t *incoming) offer(rs *rsession, c Control) {
	t.mu.Lock()
	old := t.sess
	t.sess = rs
	t.checkHeld = c.CheckHeld
	if old != nil && old != rs {
		defer old.close()
	}
	switch {
	case t.state.Final():
		t.replyFinal(rs)
		t.mu.Unlock()
		return
	case t.state == StatePending && t.assembled:
		// The sender reconnected while the owner decides: keep waiting.
		t.mu.Unlock()
		return
	case t.state == StateActive || t.state == StateInterrupted:
		t.resume(rs)
		t.mu.Unlock()
		t.m.notify()
		return
	}
	t.count = c.Count
	t.entries, t.size = t.entries[:0], 0
	t.mu.Unlock()
	t.addEntries(rs, c.Entries)
}

// replyFinal tells a reconnecting sender how the transfer ended.
func (t *incoming) replyFinal(rs *rsession) {
	switch t.state {
	case StateDone:
		rs.sendControl(Control{Type: MsgDone})
	case StateDeclined, StateExpired:
		rs.sendControl(Control{Type: MsgDecline, Code: t.code, Text: t.err})
	default:
		rs.sendControl(Control{Type: MsgError, Code: t.code, Text: t.err})
	}
	rs.closeSoon()
}

// handle processes a control message after the offer.
func (t *incoming) handle(rs *rsession, c Control) {
	if c.Type != MsgOffer && !t.current(rs) {
		return
	}
	switch c.Type {
	case MsgEntries:
		t.mu.Lock()
		ok := t.state == StatePending && !t.assembled
		t.mu.Unlock()
		if !ok {
			rs.fail(proto.Errorf(proto.CodeBadMessage, "entries after the offer was complete"))
			return
		}
		t.addEntries(rs, c.Entries)
	case MsgOffer:
		if c.Transfer != t.id {
			rs.fail(proto.Errorf(proto.CodeBadMessage, "a second offer on one connection"))
			return
		}
		t.offer(rs, c)
	case MsgFileEnd:
		t.fileEnd(rs, c)
	case MsgCancel:
		t.end(StateCancelled, proto.Errorf(proto.CodeCancelled, "%s cancelled the transfer", t.peer.Name))
		t.m.notify()
	case MsgError:
		t.end(StateFailed, proto.Errorf(c.Code, "%s reported: %s", t.peer.Name, c.Text))
		t.m.notify()
	default:
		pe := proto.Errorf(proto.CodeBadMessage, "unexpected %s from the sender", c.Type)
		t.failWith(pe)
		rs.fail(pe)
	}
}

// current reports whether rs is the session the transfer listens to;
// messages from any other are stale and dropped.
func (t *incoming) current(rs *rsession) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.sess == rs
}

// failWith ends the transfer as failed.
func (t *incoming) failWith(pe *proto.Error) {
	t.end(StateFailed, pe)
	t.m.notify()
}

// end moves the transfer to a final state and removes what it wrote that
// is not finished: part files and the resume state. Files already verified
// stay.
func (t *incoming) end(state State, pe *proto.Error) { t.endAs(state, pe, "") }

// endAs is end for an end the owner caused: own says it in the owner's
// words ("you declined the transfer"), while pe keeps what the sender is
// told, also when it reconnects later.
func (t *incoming) endAs(state State, pe *proto.Error, own string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.endLocked(state, pe, own)
}

// endLocked is endAs with t.mu held.
func (t *incoming) endLocked(state State, pe *proto.Error, own string) {
	if t.state.Final() {
		return
	}
	if t.expiry != nil {
		t.expiry.Stop()
	}
	t.state, t.code, t.err, t.own = state, pe.Code, pe.Text, own
	t.updated = time.Now()
	for i := range t.files {
		if p := t.files[i].part; p != nil {
			p.Close()
			t.files[i].part = nil
		}
	}
	t.open = 0
	if t.place != nil {
		t.place.Abandon(func(i int) bool { return i < len(t.files) && t.files[i].done })
		t.place = nil
	}
	t.m.cfg.States.Remove(t.id)
	t.retire()
	t.m.cfg.Log.Info("Transfer ended", "transfer", t.id, "state", state, "code", pe.Code, "reason", pe.Text)
}
