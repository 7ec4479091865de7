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

// Errors callers tell apart.
var (
	ErrTooManyBytes = errors.New("more bytes than announced")
	ErrIncomplete   = errors.New("file is incomplete")
	ErrHashMismatch = errors.New("SHA-256 mismatch")
	ErrFolderGone   = errors.New("the downloads folder was removed")
)

// PartSuffix marks a file that is still arriving.
const PartSuffix = ".part"

// Downloads is the folder incoming files land in.
type Downloads struct {
	dir string
}

// NewDownloads returns the downloads folder at dir. The folder is created when
// a transfer is accepted, not before, so removing it while the daemon runs is
// harmless: the next transfer makes it again.
func NewDownloads(dir string) *Downloads { return &Downloads{dir: dir} }

// Dir returns the folder's path.
func (d *Downloads) Dir() string { return d.dir }

// Open creates the folder if needed and returns a handle confined to it.
func (d *Downloads) Open() (*os.Root, error) {
	if err := os.MkdirAll(d.dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating downloads folder: %w", err)
	}
	root, err := os.OpenRoot(d.dir)
	if err != nil {
		return nil, fmt.Errorf("opening downloads folder: %w", err)
	}
	return root, nil
}

// Free returns the bytes available to this user in the downloads folder.
func (d *Downloads) Free() (uint64, error) {
	if err := os.MkdirAll(d.dir, 0o755); err != nil {
		return 0, fmt.Errorf("creating downloads folder: %w", err)
	}
	return freeSpace(d.dir)
}

// Entry is one item of an incoming manifest, by its cleaned relative path.
type Entry struct {
	Path string
	Dir  bool
}

// Place reserves names for a manifest's top-level items inside root and
// returns, for each entry, the relative path it will be written under. A top
// level name that exists (or whose .part exists) gets " (1)", " (2)", ...;
// folders are created and files' .part files are created empty, exclusively,
// so two transfers can never pick the same name.
func Place(root *os.Root, entries []Entry) ([]string, error) {
	placed := make(map[string]string)
	var created []string
	undo := func() {
		for i := len(created) - 1; i >= 0; i-- {
			root.Remove(created[i])
		}
	}
	out := make([]string, len(entries))
	for i, e := range entries {
		top, rest, nested := strings.Cut(e.Path, "/")
		name, ok := placed[top]
		if !ok {
			isDir := e.Dir || nested
			var err error
			name, err = reserve(root, top, isDir)
			if err != nil {
				undo()
				return nil, err
			}
			placed[top] = name
			if isDir {
				created = append(created, name)
			} else {
				created = append(created, name+PartSuffix)
			}
		}
		if nested {
			out[i] = name + "/" + rest
		} else {
			out[i] = name
		}
		if e.Dir {
			if err := root.MkdirAll(out[i], 0o755); err != nil {
				undo()
				return nil, fmt.Errorf("creating folder %s: %w", out[i], err)
			}
		}
	}
	return out, nil
}

func reserve(root *os.Root, name string, dir bool) (string, error) {
	for n := 0; n < 10000; n++ {
		candidate := numbered(name, n, dir)
		var err error
		if dir {
			err = root.Mkdir(candidate, 0o755)
		} else {
			if _, serr := root.Lstat(candidate); serr == nil {
				continue
			}
			var f *os.File
			f, err = root.OpenFile(candidate+PartSuffix, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
			if err == nil {
				f.Close()
			}
		}
		if err == nil {
			return candidate, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("reserving %s: %w", candidate, err)
		}
	}
	return "", fmt.Errorf("reserving %s: too many files with that name", name)
}

// numbered returns name with " (n)" before its extension, or name for n == 0.
func numbered(name string, n int, dir bool) string {
	if n == 0 {
		return name
	}
	ext := ""
	if !dir {
		ext = path.Ext(name)
		if ext == name {
			ext = "" // ".bashrc" has no extension to keep apart
		}
	}
	return fmt.Sprintf("%s (%d)%s", strings.TrimSuffix(name, ext), n, ext)
}

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

// OpenPart opens rel+".part" inside root to continue from cp. When the part
// file is shorter than the checkpoint or the hash state is unreadable it
// starts over from zero; bytes past the checkpoint are cut off, since they
// were never confirmed durable.
func OpenPart(root *os.Root, rel string, size int64, cp Checkpoint) (*PartFile, error) {
	if dir := path.Dir(rel); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("creating folder %s: %w", dir, err)
		}
	}
	f, err := root.OpenFile(rel+PartSuffix, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", rel+PartSuffix, err)
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
		return nil, fmt.Errorf("truncating %s: %w", rel+PartSuffix, err)
	}
	if _, err := f.Seek(p.held, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("seeking %s: %w", rel+PartSuffix, err)
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
		return n, fmt.Errorf("writing %s: %w", p.rel+PartSuffix, err)
	}
	return n, nil
}

// Checkpoint flushes the file to stable storage and returns what it holds.
func (p *PartFile) Checkpoint() (Checkpoint, error) {
	if err := p.f.Sync(); err != nil {
		return Checkpoint{}, fmt.Errorf("syncing %s: %w", p.rel+PartSuffix, err)
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
		return "", fmt.Errorf("syncing %s: %w", p.rel+PartSuffix, err)
	}
	if err := p.f.Close(); err != nil {
		return "", fmt.Errorf("closing %s: %w", p.rel+PartSuffix, err)
	}
	part := p.rel + PartSuffix
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
	p.root.Remove(p.rel + PartSuffix)
}
