package datadir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// States keeps one JSON document per transfer in the data folder's
// transfers/ folder, each written with WriteJSON.
type States struct {
	dir string
}

// States returns the resume states kept in this data folder.
func (d *Dir) States() *States { return &States{dir: d.File(statesDir)} }

var stateID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

func (s *States) file(id string) (string, error) {
	if !stateID.MatchString(id) {
		return "", fmt.Errorf("bad transfer ID %q", id)
	}
	return filepath.Join(s.dir, id+".json"), nil
}

// Save writes v as the state of transfer id.
func (s *States) Save(id string, v any) error {
	name, err := s.file(id)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return fmt.Errorf("creating state folder: %w", err)
	}
	return WriteJSON(name, v)
}

// Load reads the state of transfer id into v.
func (s *States) Load(id string, v any) error {
	name, err := s.file(id)
	if err != nil {
		return err
	}
	ok, err := readJSON(name, v)
	if err == nil && !ok {
		err = fmt.Errorf("reading state of %s: %w", id, fs.ErrNotExist)
	}
	return err
}

// Remove deletes the state of transfer id.
func (s *States) Remove(id string) error {
	name, err := s.file(id)
	if err != nil {
		return err
	}
	if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing state of %s: %w", id, err)
	}
	return nil
}

// List returns the IDs of all saved states.
func (s *States) List() ([]string, error) {
	des, err := os.ReadDir(s.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing saved transfers: %w", err)
	}
	var ids []string
	for _, de := range des {
		if id, ok := strings.CutSuffix(de.Name(), ".json"); ok && stateID.MatchString(id) {
			ids = append(ids, id)
		}
	}
	return ids, nil
}
