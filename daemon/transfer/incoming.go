package transfer

import (
	"errors"
	"fmt"
	"os"
	"path"
	"sync"
	"syscall"
	"time"

	"github.com/ferry-dev/ferry/daemon/identity"
	"github.com/ferry-dev/ferry/daemon/store"
)

// How often a receiver makes its progress durable and tells the sender.
const (
	checkpointEvery = 16 << 20
	progressEvery   = 1 << 20
	maxOpenParts    = 8
)

// incoming is a transfer this daemon receives.
type incoming struct {
	m        *Manager
	id       string
	peer     identity.ID
	peerName string

	mu        sync.Mutex
	state     State
	code, err string
	count     int // entries announced by the offer
	entries   []Entry
	total     int64
	placed    []string
	files     []inFile
	root      *os.Root
	sess      *rsession
	open      int // part files open
	received  int64
	verified  int
	sinceCP   int64
	sinceProg int64
	resumed   []int64
	noted     time.Time // when watchers last heard of written bytes
	expiry    *time.Timer
	started   time.Time
	updated   time.Time
	assembled bool
}

type inFile struct {
	part  *store.PartFile
	held  int64
	cp    store.Checkpoint
	want  string // SHA-256 from file-end
	final string
	done  bool
}

func newIncoming(m *Manager, id string, peer identity.ID, name string) *incoming {
	now := time.Now()
	return &incoming{m: m, id: id, peer: peer, peerName: name, state: StatePending, started: now, updated: now}
}

// waiting reports whether the offer is still being received or waits for
// the owner. Call with m.mu held; it takes t.mu.
func (t *incoming) waiting() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.state == StatePending
}

func (t *incoming) info() Info {
	t.mu.Lock()
	defer t.mu.Unlock()
	in := Info{
		ID: t.id, Direction: "in", Peer: t.peer.String(), PeerName: t.peerName, State: t.state,
		Files: t.fileCount(), Bytes: t.total, Done: t.received, Verified: t.verified,
		Code: t.code, Error: t.err, Resumed: append([]int64(nil), t.resumed...), Started: t.started, Updated: t.updated,
	}
	for i, e := range t.entries {
		if len(in.Items) == 20 {
			break
		}
		name := e.Path
		if i < len(t.files) && t.files[i].final != "" {
			name = t.files[i].final
		} else if i < len(t.placed) {
			name = t.placed[i]
		}
		in.Items = append(in.Items, name)
	}
	return in
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
	t.entries = t.entries[:0]
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

func (t *incoming) addEntries(rs *rsession, entries []Entry) {
	t.mu.Lock()
	if len(t.entries)+len(entries) > t.count {
		t.mu.Unlock()
		t.failWith(protoErr(CodeBadMessage, "the offer sent more entries than its count of %d", t.count))
		rs.fail(protoErr(CodeBadMessage, "the offer sent more entries than its count of %d", t.count))
		return
	}
	t.entries = append(t.entries, entries...)
	complete := len(t.entries) == t.count
	t.mu.Unlock()
	if complete {
		t.offered(rs)
	}
}

// offered checks a complete manifest and puts it before the owner.
func (t *incoming) offered(rs *rsession) {
	t.mu.Lock()
	pe := t.checkManifest()
	if pe == nil {
		pe = t.checkSpace()
	}
	if pe != nil {
		t.mu.Unlock()
		if pe.Code == CodeNoSpace {
			t.end(StateDeclined, pe)
			rs.sendControl(Control{Type: MsgDecline, Code: pe.Code, Text: pe.Text})
			rs.closeSoon()
			return
		}
		t.failWith(pe)
		rs.fail(pe)
		return
	}
	t.assembled = true
	t.updated = time.Now()
	auto := t.m.cfg.AutoAccept(t.peer)
	if !auto {
		t.expiry = time.AfterFunc(t.m.cfg.PendingTTL, t.expire)
	}
	t.mu.Unlock()
	t.m.cfg.Log.Info("Offer received", "transfer", t.id, "peer", t.peer.Short(), "name", t.peerName, "files", t.fileCount(), "bytes", t.total)
	t.m.notify()
	if auto {
		t.accept()
	}
}

// checkManifest validates every name and the tree they form. Call with t.mu held.
func (t *incoming) checkManifest() *ProtoError {
	kinds := make(map[string]bool, len(t.entries)) // path -> is a folder
	t.total = 0
	for _, e := range t.entries {
		if _, err := store.CleanPath(e.Path); err != nil {
			return protoErr(CodeBadName, "%v", err)
		}
		if _, dup := kinds[e.Path]; dup {
			return protoErr(CodeBadName, "bad file name %q: it is listed twice", e.Path)
		}
		kinds[e.Path] = e.Dir
		t.total += e.Size
	}
	for _, e := range t.entries {
		for dir := path.Dir(e.Path); dir != "."; dir = path.Dir(dir) {
			if isDir, ok := kinds[dir]; ok && !isDir {
				return protoErr(CodeBadName, "bad file name %q: %q is a file, not a folder", e.Path, dir)
			}
		}
	}
	return nil
}

func (t *incoming) checkSpace() *ProtoError {
	free, err := t.m.cfg.Downloads.Free()
	if err != nil {
		return protoErr(CodeStorage, "the downloads folder is unusable: %v", err)
	}
	if uint64(t.total) > free {
		return protoErr(CodeNoSpace, "not enough space in the downloads folder: the offer needs %s, %s is free", HumanBytes(t.total), HumanBytes(int64(free)))
	}
	return nil
}

func (t *incoming) expire() {
	t.mu.Lock()
	if t.state != StatePending {
		t.mu.Unlock()
		return
	}
	rs := t.sess
	t.mu.Unlock()
	t.refuse(rs, StateExpired, protoErr(CodeExpired, "the offer expired after %s without an answer", t.m.cfg.PendingTTL))
}

func (t *incoming) decline() error {
	t.mu.Lock()
	if t.state != StatePending || !t.assembled {
		t.mu.Unlock()
		return fmt.Errorf("transfer %s: %w", t.id, ErrNotPending)
	}
	rs := t.sess
	t.mu.Unlock()
	t.refuse(rs, StateDeclined, protoErr(CodeDeclined, "%s declined the transfer", t.m.cfg.Name))
	return nil
}

// refuse ends a pending offer in state and tells the sender why over rs,
// if it is still connected.
func (t *incoming) refuse(rs *rsession, state State, pe *ProtoError) {
	t.end(state, pe)
	if rs != nil {
		rs.sendControl(Control{Type: MsgDecline, Code: pe.Code, Text: pe.Text})
		rs.closeSoon()
	}
}

// accept places the manifest in the downloads folder and asks for bytes.
func (t *incoming) accept() error {
	t.mu.Lock()
	if t.state != StatePending || !t.assembled {
		t.mu.Unlock()
		return fmt.Errorf("transfer %s: %w", t.id, ErrNotPending)
	}
	if pe := t.checkSpace(); pe != nil {
		t.mu.Unlock()
		return errors.New(pe.Text)
	}
	root, err := t.m.cfg.Downloads.Open()
	if err != nil {
		t.mu.Unlock()
		return err
	}
	se := make([]store.Entry, len(t.entries))
	for i, e := range t.entries {
		se[i] = store.Entry{Path: store.LocalPath(e.Path), Dir: e.Dir}
	}
	placed, err := store.Place(root, se)
	if err != nil {
		root.Close()
		t.mu.Unlock()
		return err
	}
	if t.expiry != nil {
		t.expiry.Stop()
	}
	t.root, t.placed = root, placed
	t.files = make([]inFile, len(t.entries))
	for i, e := range t.entries {
		if e.Dir {
			t.files[i].done, t.files[i].final = true, placed[i]
		}
	}
	t.state = StateActive
	t.updated = time.Now()
	t.save()
	rs := t.sess
	t.m.cfg.Log.Info("Transfer accepted", "transfer", t.id, "peer", t.peer.Short())
	if rs != nil {
		t.resume(rs)
	}
	t.mu.Unlock()
	t.m.notify()
	return nil
}

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
	if t.state == StateInterrupted || len(t.resumed) > 0 || t.received > 0 {
		t.resumed = append(t.resumed, t.received)
	}
	t.state = StateActive
	t.updated = time.Now()
	t.noted = time.Time{} // the first bytes after this are news
	rs.sendControl(Control{Type: MsgAccept, File: k, Offset: t.files[k].held})
}

func (t *incoming) firstIncomplete() int {
	for i := range t.files {
		if !t.files[i].done {
			return i
		}
	}
	return len(t.files)
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
			rs.fail(protoErr(CodeBadMessage, "entries after the offer was complete"))
			return
		}
		t.addEntries(rs, c.Entries)
	case MsgOffer:
		if c.Transfer != t.id {
			rs.fail(protoErr(CodeBadMessage, "a second offer on one connection"))
			return
		}
		t.offer(rs, c)
	case MsgFileEnd:
		t.fileEnd(rs, c)
	case MsgCancel:
		t.end(StateCancelled, protoErr(CodeCancelled, "%s cancelled the transfer", t.peerName))
		t.m.notify()
	case MsgError:
		t.end(StateFailed, protoErr(c.Code, "%s reported: %s", t.peerName, c.Text))
		t.m.notify()
	default:
		pe := protoErr(CodeBadMessage, "unexpected %s from the sender", c.Type)
		t.failWith(pe)
		rs.fail(pe)
	}
}

// chunk writes one chunk. Any violation ends the transfer and that session.
func (t *incoming) chunk(rs *rsession, b []byte) {
	file, off, payload, err := DecodeChunk(b)
	if err != nil {
		pe := err.(*ProtoError)
		t.failWith(pe)
		rs.fail(pe)
		return
	}
	t.mu.Lock()
	if t.sess != rs {
		// In flight when the session was replaced or the daemon began to
		// stop: the resume point covers it.
		t.mu.Unlock()
		return
	}
	pe := t.write(rs, file, off, payload)
	t.mu.Unlock()
	if pe != nil {
		t.failWith(pe)
		rs.fail(pe)
		return
	}
}

// write checks and stores a chunk. Call with t.mu held.
func (t *incoming) write(rs *rsession, file int, off int64, payload []byte) *ProtoError {
	if t.state != StateActive {
		return protoErr(CodeBadMessage, "chunk for a transfer that is not accepted")
	}
	if file >= len(t.entries) || t.entries[file].Dir {
		return protoErr(CodeUnknownFile, "chunk for file %d, which the offer does not list as a file", file)
	}
	f, e := &t.files[file], t.entries[file]
	if f.done {
		return protoErr(CodeBadOffset, "chunk for %s, which is already complete", e.Path)
	}
	if off != f.held {
		return protoErr(CodeBadOffset, "chunk for %s at offset %d; expected offset %d", e.Path, off, f.held)
	}
	if off+int64(len(payload)) > e.Size {
		return protoErr(CodeTooManyBytes, "more bytes than announced for %s (%d bytes)", e.Path, e.Size)
	}
	if f.part == nil {
		if t.open >= maxOpenParts {
			return protoErr(CodeBadMessage, "too many files in progress at once")
		}
		p, err := store.OpenPart(t.root, t.placed[file], e.Size, f.cp)
		if err != nil {
			return storageErr(err)
		}
		if p.Held() != f.held {
			p.Close()
			return protoErr(CodeStorage, "%s.part changed on disk during the transfer", t.placed[file])
		}
		f.part = p
		t.open++
	}
	if _, err := f.part.Write(payload); err != nil {
		return storageErr(err)
	}
	n := int64(len(payload))
	if t.received == 0 {
		t.m.cfg.Log.Debug("First bytes received", "transfer", t.id)
	}
	f.held += n
	t.received += n
	t.sinceCP += n
	t.sinceProg += n
	if f.held == e.Size && f.want != "" {
		if pe := t.finish(rs, file); pe != nil {
			return pe
		}
	}
	if t.sinceCP >= checkpointEvery {
		if err := t.checkpoint(); err != nil {
			return storageErr(err)
		}
	}
	now := time.Now()
	if t.sinceProg >= progressEvery {
		t.sinceProg = 0
		rs.sendControl(Control{Type: MsgProgress, Received: t.received})
	}
	if now.Sub(t.noted) >= 100*time.Millisecond {
		t.noted, t.updated = now, now
		go t.m.notify()
	}
	return nil
}

func storageErr(err error) *ProtoError {
	switch {
	case errors.Is(err, syscall.ENOSPC):
		return protoErr(CodeNoSpace, "the downloads folder is full: %v", err)
	case errors.Is(err, store.ErrTooManyBytes):
		return protoErr(CodeTooManyBytes, "%v", err)
	case errors.Is(err, store.ErrHashMismatch):
		return protoErr(CodeHashMismatch, "%v", err)
	case errors.Is(err, store.ErrFolderGone), errors.Is(err, os.ErrNotExist):
		return protoErr(CodeStorage, "the downloads folder was removed during the transfer: %v", err)
	}
	return protoErr(CodeStorage, "%v", err)
}

func (t *incoming) fileEnd(rs *rsession, c Control) {
	t.mu.Lock()
	var pe *ProtoError
	switch {
	case t.state != StateActive:
		pe = protoErr(CodeBadMessage, "file-end for a transfer that is not accepted")
	case c.File >= len(t.entries) || t.entries[c.File].Dir:
		pe = protoErr(CodeUnknownFile, "file-end for file %d, which the offer does not list as a file", c.File)
	case t.files[c.File].done:
		pe = protoErr(CodeBadMessage, "file-end for %s, which is already complete", t.entries[c.File].Path)
	default:
		f := &t.files[c.File]
		f.want = c.SHA256
		if f.held == t.entries[c.File].Size {
			pe = t.finish(rs, c.File)
		}
	}
	t.mu.Unlock()
	if pe != nil {
		t.failWith(pe)
		rs.fail(pe)
	}
}

// finish verifies a complete file and gives it its final name. Call with t.mu held.
func (t *incoming) finish(rs *rsession, file int) *ProtoError {
	f, e := &t.files[file], t.entries[file]
	if f.part == nil { // an empty file gets no chunks
		p, err := store.OpenPart(t.root, t.placed[file], e.Size, f.cp)
		if err != nil {
			return storageErr(err)
		}
		f.part = p
		t.open++
	}
	var mtime time.Time
	if e.Mtime > 0 {
		mtime = time.UnixMilli(e.Mtime)
	}
	final, err := f.part.Finish(f.want, mtime)
	f.part = nil
	t.open--
	if err != nil {
		return storageErr(err)
	}
	f.done, f.final = true, final
	t.verified++
	t.updated = time.Now()
	rs.sendControl(Control{Type: MsgFileOK, File: file, Path: final})
	if t.firstIncomplete() == len(t.files) {
		t.finishAll(rs)
	}
	go t.m.notify()
	return nil
}

// finishAll ends a transfer whose every file is verified. Call with t.mu held.
func (t *incoming) finishAll(rs *rsession) {
	t.state = StateDone
	t.updated = time.Now()
	if t.root != nil {
		t.root.Close()
		t.root = nil
	}
	t.m.cfg.States.Remove(t.id)
	rs.sendControl(Control{Type: MsgDone})
	t.m.cfg.Log.Info("Transfer finished", "transfer", t.id, "peer", t.peer.Short(), "files", t.verified, "bytes", t.received)
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

// saved is the resume state of an incoming transfer on disk.
type saved struct {
	ID       string      `json:"id"`
	Peer     identity.ID `json:"peer"`
	PeerName string      `json:"peerName"`
	Entries  []Entry     `json:"entries"`
	Placed   []string    `json:"placed"`
	Files    []savedFile `json:"files"`
	Verified int         `json:"verified"`
	Started  time.Time   `json:"started"`
}

type savedFile struct {
	CP    store.Checkpoint `json:"cp,omitzero"`
	Final string           `json:"final,omitempty"`
	Done  bool             `json:"done,omitempty"`
}

func (t *incoming) save() error {
	s := saved{ID: t.id, Peer: t.peer, PeerName: t.peerName, Entries: t.entries, Placed: t.placed,
		Files: make([]savedFile, len(t.files)), Verified: t.verified, Started: t.started}
	for i, f := range t.files {
		s.Files[i] = savedFile{CP: f.cp, Final: f.final, Done: f.done}
	}
	if err := t.m.cfg.States.Save(t.id, s); err != nil {
		t.m.cfg.Log.Warn("Cannot save transfer state", "transfer", t.id, "err", err)
		return err
	}
	return nil
}

func (m *Manager) loadIncoming(id string) (*incoming, error) {
	var s saved
	if err := m.cfg.States.Load(id, &s); err != nil {
		return nil, err
	}
	if s.ID != id || len(s.Entries) != len(s.Files) || len(s.Placed) != len(s.Files) {
		return nil, errors.New("inconsistent state")
	}
	for _, p := range s.Placed {
		if _, err := store.CleanPath(p); err != nil {
			return nil, err
		}
	}
	root, err := m.cfg.Downloads.Open()
	if err != nil {
		return nil, err
	}
	t := newIncoming(m, id, s.Peer, s.PeerName)
	t.state, t.assembled = StateInterrupted, true
	t.count, t.entries, t.placed, t.root, t.verified, t.started = len(s.Entries), s.Entries, s.Placed, root, s.Verified, s.Started
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
	return t, nil
}

// current reports whether rs is the session the transfer listens to;
// messages from any other are stale and dropped.
func (t *incoming) current(rs *rsession) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.sess == rs
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
	rs := t.sess
	t.sess = nil
	t.mu.Unlock()
	if rs != nil {
		rs.close()
	}
}

func (t *incoming) cancel() error {
	t.mu.Lock()
	if t.state.Final() {
		t.mu.Unlock()
		return fmt.Errorf("transfer %s has already ended", t.id)
	}
	rs := t.sess
	t.mu.Unlock()
	pe := protoErr(CodeCancelled, "%s cancelled the transfer", t.m.cfg.Name)
	t.end(StateCancelled, pe)
	if rs != nil {
		rs.sendControl(Control{Type: MsgCancel, Code: pe.Code, Text: pe.Text})
		rs.closeSoon()
	}
	t.m.notify()
	return nil
}

// failWith ends the transfer as failed.
func (t *incoming) failWith(pe *ProtoError) {
	t.end(StateFailed, pe)
	t.m.notify()
}

// end moves the transfer to a final state and removes what it wrote that
// is not finished: part files and the resume state. Files already verified
// stay.
func (t *incoming) end(state State, pe *ProtoError) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.state.Final() {
		return
	}
	if t.expiry != nil {
		t.expiry.Stop()
	}
	t.state, t.code, t.err = state, pe.Code, pe.Text
	t.updated = time.Now()
	for i := range t.files {
		f := &t.files[i]
		if f.part != nil {
			f.part.Discard()
			f.part = nil
		} else if !f.done && t.root != nil && i < len(t.placed) {
			t.root.Remove(t.placed[i] + store.PartSuffix)
		}
	}
	t.open = 0
	if t.root != nil {
		t.root.Close()
		t.root = nil
	}
	t.m.cfg.States.Remove(t.id)
	t.m.cfg.Log.Info("Transfer ended", "transfer", t.id, "state", state, "code", pe.Code, "reason", pe.Text)
}

// HumanBytes formats a byte count in binary units, as people read them.
func HumanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
