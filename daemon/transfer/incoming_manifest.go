package transfer

import (
	"fmt"
	"path"
	"time"

	"github.com/ferry-dev/ferry/daemon/proto"
	"github.com/ferry-dev/ferry/daemon/store"
)

// addEntries takes a page of the manifest; the last page puts the offer
// before the owner. A manifest over MaxManifestBytes is refused as soon as
// a page takes it there, so no more than that is ever held.
func (t *incoming) addEntries(rs *rsession, entries []Entry) {
	t.mu.Lock()
	if t.state != StatePending || t.assembled {
		t.mu.Unlock() // the owner cancelled it meanwhile
		return
	}
	var pe *proto.Error
	size := t.size + ManifestBytes(entries)
	switch {
	case len(t.entries)+len(entries) > t.count:
		pe = proto.Errorf(proto.CodeBadMessage, "the offer sent more entries than its count of %d", t.count)
	case size > MaxManifestBytes:
		pe = proto.Errorf(proto.CodeTooLarge, "the offer's list of files is over the limit of %d bytes (its paths, and %d bytes for each item); send fewer files at once", MaxManifestBytes, EntryOverheadBytes)
	}
	if pe != nil {
		t.mu.Unlock()
		t.failWith(pe)
		rs.fail(pe)
		return
	}
	t.entries, t.size = append(t.entries, entries...), size
	complete := len(t.entries) == t.count
	t.mu.Unlock()
	if complete {
		t.offered(rs)
	}
}

// offered checks a complete manifest and puts it before the owner, or
// accepts it at once when the owner's policy says so.
func (t *incoming) offered(rs *rsession) {
	t.mu.Lock()
	if t.state != StatePending {
		t.mu.Unlock() // the owner cancelled it meanwhile
		return
	}
	pe := t.checkManifest()
	if pe == nil {
		pe = t.checkSpace()
	}
	if pe != nil {
		t.mu.Unlock()
		if pe.Code == proto.CodeNoSpace {
			t.refuse(rs, StateDeclined, pe)
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
	files, bytes := t.fileCount(), t.total
	t.mu.Unlock()
	t.m.cfg.Log.Info("Offer received", "transfer", t.id, "peer", t.peer.label(), "kind", t.peer.Kind(), "name", t.peer.Name, "files", files, "bytes", bytes)
	t.m.notify()
	if auto {
		t.accept()
	}
}

// checkManifest validates every name and the tree they form. Call with t.mu held.
func (t *incoming) checkManifest() *proto.Error {
	kinds := make(map[string]bool, len(t.entries)) // path -> is a folder
	t.total = 0
	for _, e := range t.entries {
		if _, err := store.CleanPath(e.Path); err != nil {
			return proto.Errorf(proto.CodeBadName, "%v", err)
		}
		if _, dup := kinds[e.Path]; dup {
			return proto.Errorf(proto.CodeBadName, "bad file name %q: it is listed twice", e.Path)
		}
		kinds[e.Path] = e.Dir
		t.total += e.Size
	}
	for _, e := range t.entries {
		for dir := path.Dir(e.Path); dir != "."; dir = path.Dir(dir) {
			if isDir, ok := kinds[dir]; ok && !isDir {
				return proto.Errorf(proto.CodeBadName, "bad file name %q: %q is a file, not a folder", e.Path, dir)
			}
		}
	}
	return nil
}

// checkSpace refuses an offer larger than the free space. Call with t.mu held.
func (t *incoming) checkSpace() *proto.Error {
	free, err := t.m.cfg.Downloads.Free()
	if err != nil {
		return proto.Errorf(proto.CodeStorage, "the downloads folder is unusable: %v", err)
	}
	if uint64(t.total) > free {
		return proto.Errorf(proto.CodeNoSpace, "not enough space in the downloads folder: the offer needs %s, %s is free", sizeText(t.total), sizeText(int64(min(free, 1<<62))))
	}
	return nil
}

// sizeText formats a byte count for the no-space message, in the decimal
// units disks are sold in.
func sizeText(n int64) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%d bytes", n)
	case n < 1000*1000:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	case n < 1000*1000*1000:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%.1f GB", float64(n)/1e9)
}
