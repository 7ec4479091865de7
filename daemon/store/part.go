package store

import (
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"
)

// Checkpoint is what a PartFile holds on disk: the byte count and the SHA-256
// state after exactly those bytes, so a resumed transfer needs no rehashing.
type Checkpoint struct {
	Held int64  `json:"held"`
	Hash []byte `json:"hash,omitempty"`
}

// PartFile is one file being received as name.part.
type PartFile struct {
	root *os.Root
	rel  string
	size int64
	f    *os.File
	held int64
	h    hash.Hash
}

// openPart opens rel+".part" inside root to continue from cp. When the part
// file is shorter than the checkpoint or the hash state is unreadable it
// starts over from zero; bytes past the checkpoint are cut off, since they
// were never confirmed durable.
func openPart(root *os.Root, rel string, size int64, cp Checkpoint) (*PartFile, error) {
	if dir := path.Dir(rel); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("creating folder %s: %w", dir, err)
		}
	}
	f, err := root.OpenFile(rel+partSuffix, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", rel+partSuffix, err)
	}
	p := &PartFile{root: root, rel: rel, size: size, f: f, h: sha256.New()}
	if cp.Held > 0 && cp.Held <= size {
		if st, err := f.Stat(); err == nil && st.Size() >= cp.Held {
			if u, ok := p.h.(encoding.BinaryUnmarshaler); ok && u.UnmarshalBinary(cp.Hash) == nil {
				p.held = cp.Held
			} else {
				p.h.Reset()
			}
		}
	}
	if err := f.Truncate(p.held); err != nil {
		f.Close()
		return nil, fmt.Errorf("truncating %s: %w", rel+partSuffix, err)
	}
	if _, err := f.Seek(p.held, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("seeking %s: %w", rel+partSuffix, err)
	}
	return p, nil
}

// Path returns the relative path the file will have when finished.
func (p *PartFile) Path() string { return p.rel }

// Held returns how many bytes have been written.
func (p *PartFile) Held() int64 { return p.held }

// Size returns the announced size.
func (p *PartFile) Size() int64 { return p.size }

// Write appends b. It refuses to grow the file past its announced size.
func (p *PartFile) Write(b []byte) (int, error) {
	if int64(len(b)) > p.size-p.held {
		return 0, fmt.Errorf("%s: %w (%d bytes announced)", p.rel, ErrTooManyBytes, p.size)
	}
	n, err := p.f.Write(b)
	p.h.Write(b[:n])
	p.held += int64(n)
	if err != nil {
		return n, fmt.Errorf("writing %s: %w", p.rel+partSuffix, err)
	}
	return n, nil
}

// Checkpoint flushes the file to stable storage and returns what it holds.
func (p *PartFile) Checkpoint() (Checkpoint, error) {
	if err := p.f.Sync(); err != nil {
		return Checkpoint{}, fmt.Errorf("syncing %s: %w", p.rel+partSuffix, err)
	}
	state, err := p.h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return Checkpoint{}, fmt.Errorf("saving hash state: %w", err)
	}
	return Checkpoint{Held: p.held, Hash: state}, nil
}

// Finish checks the SHA-256 (hex) against what was received and renames the
// part file to its final name, numbering it if that name was taken meanwhile.
// On a mismatch the part file is deleted: its bytes are known to be wrong.
func (p *PartFile) Finish(wantHex string, mtime time.Time) (string, error) {
	if p.held != p.size {
		return "", fmt.Errorf("%s: %w (%d of %d bytes)", p.rel, ErrIncomplete, p.held, p.size)
	}
	got := hex.EncodeToString(p.h.Sum(nil))
	if !strings.EqualFold(got, wantHex) {
		p.Discard()
		return "", fmt.Errorf("%s: %w: sender says %s, received %s", p.rel, ErrHashMismatch, wantHex, got)
	}
	if err := p.f.Sync(); err != nil {
		p.f.Close()
		return "", fmt.Errorf("syncing %s: %w", p.rel+partSuffix, err)
	}
	if err := p.f.Close(); err != nil {
		return "", fmt.Errorf("closing %s: %w", p.rel+partSuffix, err)
	}
	part := p.rel + partSuffix
	if !mtime.IsZero() {
		p.root.Chtimes(part, mtime, mtime)
	}
	dir, base := path.Split(p.rel)
	for n := 0; n < 10000; n++ {
		final := dir + numbered(base, n, false)
		err := p.root.Link(part, final)
		if err == nil {
			p.root.Remove(part)
			return final, nil
		}
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("renaming %s: %w", part, ErrFolderGone)
		}
		// File systems without hard links (FAT, some network shares): a
		// checked rename is the best that is left.
		if _, serr := p.root.Lstat(final); serr == nil {
			continue
		}
		if err := p.root.Rename(part, final); err != nil {
			return "", fmt.Errorf("renaming %s: %w", part, err)
		}
		return final, nil
	}
	return "", fmt.Errorf("renaming %s: too many files with that name", part)
}

// Close closes the file and keeps the part file for a later resume.
func (p *PartFile) Close() error { return p.f.Close() }

// Discard closes the file and deletes the part file.
func (p *PartFile) Discard() {
	p.f.Close()
	p.root.Remove(p.rel + partSuffix)
}
