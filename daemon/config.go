package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode"
)

// DefaultPort is where a daemon listens unless told otherwise, so people and
// peers can find it.
const DefaultPort = 7466

// Accept policies for incoming offers.
const (
	AcceptNone    = "none"
	AcceptTrusted = "trusted"
	AcceptAll     = "all"
)

// File is the config file in the data folder. Flags override it.
type File struct {
	Name       string   `json:"name,omitempty"`
	Downloads  string   `json:"downloads,omitempty"`
	Port       *int     `json:"port,omitempty"`
	Accept     string   `json:"accept,omitempty"`
	Interfaces []string `json:"interfaces,omitempty"`
	LogLevel   string   `json:"logLevel,omitempty"`
	// Connect lists daemons added by address with ferry connect.
	Connect []string `json:"connect,omitempty"`
}

// ConfigFileName is the config file's name inside the data folder.
const ConfigFileName = "config.json"

// LoadFile reads the config file of dataDir; a missing file is an empty one.
func LoadFile(dataDir string) (File, error) {
	var f File
	b, err := os.ReadFile(filepath.Join(dataDir, ConfigFileName))
	if errors.Is(err, fs.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return f, fmt.Errorf("reading config: %w", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return f, fmt.Errorf("reading %s: %w", filepath.Join(dataDir, ConfigFileName), err)
	}
	return f, nil
}

// SaveFile writes the config file of dataDir atomically.
func SaveFile(dataDir string, f File) error {
	return writeJSONFile(filepath.Join(dataDir, ConfigFileName), f)
}

// CheckName validates a device name.
func CheckName(name string) error {
	if strings.TrimSpace(name) == "" {
		return errors.New("the device name is empty")
	}
	if len(name) > 64 {
		return fmt.Errorf("the device name is %d bytes long (the limit is 64)", len(name))
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return fmt.Errorf("the device name %q contains a control character", name)
		}
	}
	return nil
}

// CheckAccept validates an accept policy.
func CheckAccept(p string) error {
	switch p {
	case AcceptNone, AcceptTrusted, AcceptAll:
		return nil
	}
	return fmt.Errorf("--accept must be none, trusted or all, not %q", p)
}
