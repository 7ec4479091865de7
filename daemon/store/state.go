package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// States keeps one JSON document per transfer in a folder of the data
// directory, written atomically (temporary file, sync, rename) so a crash
// leaves either the old state or the new one.
type States struct {
	dir string
}

// NewStates returns the state folder at dir.
func NewStates(dir string) *States { return &States{dir: dir} }

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
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding state of %s: %w", id, err)
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return fmt.Errorf("creating state folder: %w", err)
	}
	tmp, err := os.CreateTemp(s.dir, id+".*.tmp")
	if err != nil {
		return fmt.Errorf("saving state of %s: %w", id, err)
	}
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), name)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("saving state of %s: %w", id, err)
	}
	return nil
}

// Load reads the state of transfer id into v.
func (s *States) Load(id string, v any) error {
	name, err := s.file(id)
	if err != nil {
		return err
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return fmt.Errorf("reading state of %s: %w", id, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("reading state of %s: %w", id, err)
	}
	return nil
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
