package store

import (
	"errors"
	"fmt"
	"os"
)

// Errors callers tell apart.
var (
	ErrTooManyBytes = errors.New("more bytes than announced")
	ErrIncomplete   = errors.New("file is incomplete")
	ErrHashMismatch = errors.New("SHA-256 mismatch")
	ErrFolderGone   = errors.New("the downloads folder was removed")
)

// partSuffix marks a file that is still arriving. Only this package names
// part files: what arrives is written and removed through a Placement.
const partSuffix = ".part"

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

// open creates the folder if needed and returns a handle confined to it:
// every path below resolves inside the folder, never through a link out.
func (d *Downloads) open() (*os.Root, error) {
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
