package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
)

// Entry is one item of an incoming manifest, by its cleaned relative path.
type Entry struct {
	Path string
	Dir  bool
}

// place reserves names for a manifest's top-level items inside root and
// returns, for each entry, the relative path it will be written under. A top
// level name that exists (or whose .part exists) gets " (1)", " (2)", ...;
// folders are created and files' .part files are created empty, exclusively,
// so two transfers can never pick the same name.
func place(root *os.Root, entries []Entry) ([]string, error) {
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
				created = append(created, name+partSuffix)
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
			f, err = root.OpenFile(candidate+partSuffix, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
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

// Placement is one transfer's share of the downloads folder: the names
// reserved for its manifest, under a handle confined to the folder. Every
// part file of the transfer is opened and removed through it.
type Placement struct {
	root    *os.Root
	entries []Entry // placed paths
}

// Place creates the downloads folder if needed and reserves names for a
// manifest's entries, given by their cleaned wire paths (CleanPath): each
// becomes a path this OS can create (LocalPath), and a top-level name that
// is taken is numbered. Folders are created, empty ones included.
func (d *Downloads) Place(entries []Entry) (*Placement, error) {
	root, err := d.open()
	if err != nil {
		return nil, err
	}
	local := make([]Entry, len(entries))
	for i, e := range entries {
		local[i] = Entry{Path: LocalPath(e.Path), Dir: e.Dir}
	}
	paths, err := place(root, local)
	if err != nil {
		root.Close()
		return nil, err
	}
	for i := range local {
		local[i].Path = paths[i]
	}
	return &Placement{root: root, entries: local}, nil
}

// Reopen takes up a placement again after a restart, from the paths Paths
// returned then. A path that is not a clean relative path is refused.
func (d *Downloads) Reopen(placed []Entry) (*Placement, error) {
	for _, e := range placed {
		if _, err := CleanPath(e.Path); err != nil {
			return nil, fmt.Errorf("reopening a transfer's files: %w", err)
		}
	}
	root, err := d.open()
	if err != nil {
		return nil, err
	}
	return &Placement{root: root, entries: append([]Entry(nil), placed...)}, nil
}

// Paths returns, for each entry, the relative path it is written under.
func (p *Placement) Paths() []string {
	out := make([]string, len(p.entries))
	for i, e := range p.entries {
		out[i] = e.Path
	}
	return out
}

// OpenPart opens the part file of entry i, announced as size bytes, to
// continue from cp (see PartFile).
func (p *Placement) OpenPart(i int, size int64, cp Checkpoint) (*PartFile, error) {
	if i < 0 || i >= len(p.entries) || p.entries[i].Dir {
		return nil, fmt.Errorf("entry %d is not a file of this transfer", i)
	}
	return openPart(p.root, p.entries[i].Path, size, cp)
}

// Abandon removes the part file of every file entry that finished does not
// report finished, and closes the placement. Finished files and folders
// stay. Part files still open must be closed first.
func (p *Placement) Abandon(finished func(i int) bool) {
	for i, e := range p.entries {
		if !e.Dir && !finished(i) {
			p.root.Remove(e.Path + partSuffix)
		}
	}
	p.Close()
}

// Close releases the placement; the files stay as they are.
func (p *Placement) Close() error { return p.root.Close() }
