package transfer

import (
	"errors"
	"os"
	"syscall"
	"time"

	"github.com/ferry-dev/ferry/daemon/proto"
	"github.com/ferry-dev/ferry/daemon/store"
)

// chunk writes one chunk. Any violation ends the transfer and that session.
func (t *incoming) chunk(rs *rsession, b []byte) {
	file, off, payload, err := DecodeChunk(b)
	if err != nil {
		pe := err.(*proto.Error)
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
func (t *incoming) write(rs *rsession, file int, off int64, payload []byte) *proto.Error {
	if t.state != StateActive {
		return proto.Errorf(proto.CodeBadMessage, "chunk for a transfer that is not accepted")
	}
	if file >= len(t.entries) || t.entries[file].Dir {
		return proto.Errorf(proto.CodeUnknownFile, "chunk for file %d, which the offer does not list as a file", file)
	}
	f, e := &t.files[file], t.entries[file]
	if f.done {
		return proto.Errorf(proto.CodeBadOffset, "chunk for %s, which is already complete", e.Path)
	}
	if off != f.held {
		if off != 0 || !f.restartable {
			return proto.Errorf(proto.CodeBadOffset, "chunk for %s at offset %d; expected offset %d", e.Path, off, f.held)
		}
		t.restart(file)
	}
	f.restartable = false
	if off+int64(len(payload)) > e.Size {
		return proto.Errorf(proto.CodeTooManyBytes, "more bytes than announced for %s (%d bytes)", e.Path, e.Size)
	}
	if f.part == nil {
		if t.open >= maxOpenParts {
			return proto.Errorf(proto.CodeBadMessage, "too many files in progress at once")
		}
		p, err := t.place.OpenPart(file, e.Size, f.cp)
		if err != nil {
			return storageErr(err)
		}
		if p.Held() != f.held {
			p.Close()
			return proto.Errorf(proto.CodeStorage, "the unfinished %s changed on disk during the transfer", t.placed[file])
		}
		f.part, f.disk = p, 0
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
	t.arrived += n
	t.sinceCP += n
	t.sinceProg += n
	if f.held == e.Size && f.want != "" {
		if pe := t.finish(rs, file); pe != nil {
			return pe
		}
		if t.state == StateDone {
			return nil // nothing is left to checkpoint or report
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

// storageErr turns a failure of the downloads folder into the error the
// sender is told.
func storageErr(err error) *proto.Error {
	switch {
	case errors.Is(err, syscall.ENOSPC):
		return proto.Errorf(proto.CodeNoSpace, "the downloads folder is full: %v", err)
	case errors.Is(err, store.ErrTooManyBytes):
		return proto.Errorf(proto.CodeTooManyBytes, "%v", err)
	case errors.Is(err, store.ErrHashMismatch):
		return proto.Errorf(proto.CodeHashMismatch, "%v", err)
	case errors.Is(err, store.ErrFolderGone), errors.Is(err, os.ErrNotExist):
		return proto.Errorf(proto.CodeStorage, "the downloads folder was removed during the transfer: %v", err)
	}
	return proto.Errorf(proto.CodeStorage, "%v", err)
}

func (t *incoming) fileEnd(rs *rsession, c Control) {
	t.mu.Lock()
	var pe *proto.Error
	switch {
	case t.state != StateActive:
		pe = proto.Errorf(proto.CodeBadMessage, "file-end for a transfer that is not accepted")
	case c.File >= len(t.entries) || t.entries[c.File].Dir:
		pe = proto.Errorf(proto.CodeUnknownFile, "file-end for file %d, which the offer does not list as a file", c.File)
	case t.files[c.File].done:
		pe = proto.Errorf(proto.CodeBadMessage, "file-end for %s, which is already complete", t.entries[c.File].Path)
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
func (t *incoming) finish(rs *rsession, file int) *proto.Error {
	f, e := &t.files[file], t.entries[file]
	if f.part == nil { // an empty file gets no chunks
		p, err := t.place.OpenPart(file, e.Size, f.cp)
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
	if t.place != nil {
		t.place.Close()
		t.place = nil
	}
	t.m.cfg.States.Remove(t.id)
	rs.sendControl(Control{Type: MsgDone})
	rs.closeSoon() // nothing more will cross it
	t.m.cfg.Log.Info("Transfer finished", "transfer", t.id, "peer", t.peer.label(), "files", t.verified, "bytes", t.received)
	t.retire()
}
