package store

import (
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"fmt"
	"io"
	"os"
)

// Sum returns the SHA-256 (hex) of the Held bytes the checkpoint covers,
// from its hash state; ok is false when the state is unreadable.
func (cp Checkpoint) Sum() (sum string, ok bool) {
	h := sha256.New()
	if cp.Held > 0 {
		u, isU := h.(encoding.BinaryUnmarshaler)
		if !isU || u.UnmarshalBinary(cp.Hash) != nil {
			return "", false
		}
	}
	return hex.EncodeToString(h.Sum(nil)), true
}

// Sum returns the SHA-256 (hex) of the bytes written so far.
func (p *PartFile) Sum() string { return hex.EncodeToString(p.h.Sum(nil)) }

// Extend returns a checkpoint of everything the part file of entry i holds,
// up to size bytes, starting from cp. A daemon that was killed (rather than
// stopped) saved its last checkpoint up to 16 MiB before the end of what it
// wrote, and the rest is usually on disk: the page cache outlives a process.
// Nothing says those bytes are the ones that were sent, though: after a
// power cut they may be zeros. So Extend reads them into the hash state and
// makes them durable, but the caller must have the sender confirm them (by
// the SHA-256 of everything held) before relying on them. It returns cp as
// it is when the file holds nothing past it or cp's hash state is
// unreadable.
func (p *Placement) Extend(i int, size int64, cp Checkpoint) (Checkpoint, error) {
	if i < 0 || i >= len(p.entries) || p.entries[i].Dir {
		return cp, fmt.Errorf("entry %d is not a file of this transfer", i)
	}
	name := p.entries[i].Path + partSuffix
	f, err := p.root.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		return cp, fmt.Errorf("opening %s: %w", name, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return cp, fmt.Errorf("reading %s: %w", name, err)
	}
	end := min(st.Size(), size)
	if end <= cp.Held || cp.Held < 0 {
		return cp, nil
	}
	h := sha256.New()
	if cp.Held > 0 {
		if u, ok := h.(encoding.BinaryUnmarshaler); !ok || u.UnmarshalBinary(cp.Hash) != nil {
			return cp, nil
		}
	}
	if _, err := f.Seek(cp.Held, io.SeekStart); err != nil {
		return cp, fmt.Errorf("seeking %s: %w", name, err)
	}
	if _, err := io.CopyN(h, f, end-cp.Held); err != nil {
		return cp, fmt.Errorf("reading %s: %w", name, err)
	}
	if err := f.Sync(); err != nil {
		return cp, fmt.Errorf("syncing %s: %w", name, err)
	}
	state, err := h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return cp, fmt.Errorf("saving hash state: %w", err)
	}
	return Checkpoint{Held: end, Hash: state}, nil
}

// PartSize returns the size of the part file of entry i, 0 if it has
// none.
func (p *Placement) PartSize(i int) int64 {
	if i < 0 || i >= len(p.entries) || p.entries[i].Dir {
		return 0
	}
	st, err := p.root.Stat(p.entries[i].Path + partSuffix)
	if err != nil {
		return 0
	}
	return st.Size()
}

// Parts returns the part files that hold bytes among those of the file
// entries finished does not report finished, relative to the downloads
// folder, and the bytes they hold: what Abandon frees.
func (p *Placement) Parts(finished func(i int) bool) (names []string, bytes int64) {
	for i, e := range p.entries {
		if e.Dir || finished(i) {
			continue
		}
		if n := p.PartSize(i); n > 0 {
			names = append(names, e.Path+partSuffix)
			bytes += n
		}
	}
	return names, bytes
}
