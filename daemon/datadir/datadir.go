package datadir

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// Names of the files in the data folder.
const (
	ConfigFile  = "config.json"
	APIFile     = "api.json"
	RoomsFile   = "rooms.json"
	PeersFile   = "peers.json"
	TrustedFile = "trusted.json"
	statesDir   = "transfers"
)

// Dir is a data folder. Nothing is created on disk until something is
// written, so clients can look for a daemon without leaving a folder behind.
type Dir struct {
	path string
	mu   sync.Mutex // serialises read-modify-write of the config file
}

// New returns the data folder at path.
func New(path string) *Dir { return &Dir{path: path} }

// Path returns the folder's path.
func (d *Dir) Path() string { return d.path }

// File returns the path of name inside the folder.
func (d *Dir) File(name string) string { return filepath.Join(d.path, name) }

// Create makes the folder, readable by its owner only.
func (d *Dir) Create() error {
	if err := os.MkdirAll(d.path, 0o700); err != nil {
		return fmt.Errorf("creating data folder: %w", err)
	}
	return nil
}

// ReadJSON decodes the file name into v. It reports false, and leaves v
// alone, when the file does not exist.
func (d *Dir) ReadJSON(name string, v any) (bool, error) {
	return readJSON(d.File(name), v)
}

// WriteJSON replaces the file name with v as indented JSON, atomically.
func (d *Dir) WriteJSON(name string, v any) error {
	if err := d.Create(); err != nil {
		return err
	}
	return WriteJSON(d.File(name), v)
}

// Remove deletes the file name; a missing file is not an error.
func (d *Dir) Remove(name string) error {
	if err := os.Remove(d.File(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing %s: %w", name, err)
	}
	return nil
}

func readJSON(path string, v any) (bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		return false, fmt.Errorf("reading %s: %w", path, err)
	}
	return true, nil
}

// WriteJSON replaces the file at path with v as indented JSON: it writes a
// temporary file in the same folder, syncs it, renames it over path and
// syncs the folder, so that after a crash the file holds either its old
// content or v. The file is readable by its owner only.
func WriteJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding %s: %w", filepath.Base(path), err)
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("saving %s: %w", filepath.Base(path), err)
	}
	_, err = tmp.Write(append(data, '\n'))
	if err == nil {
		err = tmp.Chmod(0o600)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("saving %s: %w", filepath.Base(path), err)
	}
	syncDir(dir)
	return nil
}

// syncDir makes a rename in dir durable. Some systems (Windows) cannot
// open a folder for syncing; there the rename is as durable as it gets.
func syncDir(dir string) {
	f, err := os.Open(dir)
	if err != nil {
		return
	}
	f.Sync()
	f.Close()
}
