package datadir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"
	"unicode"
)

// Accept policies for incoming offers.
const (
	AcceptNone    = "none"
	AcceptTrusted = "trusted"
	AcceptAll     = "all"
)

// Config is the config file. Flags given to 'ferry run' override it.
type Config struct {
	Name       string   `json:"name,omitempty"`
	Downloads  string   `json:"downloads,omitempty"`
	Port       *int     `json:"port,omitempty"`
	Accept     string   `json:"accept,omitempty"`
	Interfaces []string `json:"interfaces,omitempty"`
	LogLevel   string   `json:"logLevel,omitempty"`
	// HTTPS also serves the pages over HTTPS with the device's own
	// certificate (ferry run --https), on HTTPSPort; 0 there is the port
	// after Port.
	HTTPS     bool `json:"https,omitempty"`
	HTTPSPort int  `json:"httpsPort,omitempty"`
	// Connect lists daemons added by address with ferry connect.
	Connect []string `json:"connect,omitempty"`
}

// LoadConfig reads the config file; a missing file is an empty config. A
// field the daemon does not know is an error, so a typo is not ignored.
func (d *Dir) LoadConfig() (Config, error) {
	var c Config
	b, err := os.ReadFile(d.File(ConfigFile))
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("reading config: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("reading %s: %w", d.File(ConfigFile), err)
	}
	return c, nil
}

// UpdateConfig applies change to the config file and saves it.
func (d *Dir) UpdateConfig(change func(*Config)) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	c, err := d.LoadConfig()
	if err != nil {
		return err
	}
	change(&c)
	return d.WriteJSON(ConfigFile, c)
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

// APIInfo is the content of api.json, written while a daemon runs: where
// clients on this computer reach its API.
type APIInfo struct {
	Addr string `json:"addr"`
	PID  int    `json:"pid"`
	// Service is set when the daemon runs under the OS service manager.
	Service bool `json:"service,omitempty"`
	// Log is the file the daemon logs to (ferry run --log-file), "" when it
	// logs to its terminal or to the service manager's journal.
	Log string `json:"log,omitempty"`
}

// ReadAPIInfo reads api.json; it reports false when no daemon has written it.
func (d *Dir) ReadAPIInfo() (APIInfo, bool, error) {
	var info APIInfo
	ok, err := d.ReadJSON(APIFile, &info)
	return info, ok, err
}

// Rooms is the content of rooms.json: the code rooms this device is in, so
// a restart within a room's hour keeps it in them.
type Rooms struct {
	Joined []string  `json:"joined"`
	Saved  time.Time `json:"saved"`
}

// LoadRooms returns the rooms to rejoin: those saved less than ttl ago.
func (d *Dir) LoadRooms(ttl time.Duration) ([]string, error) {
	var r Rooms
	ok, err := d.ReadJSON(RoomsFile, &r)
	if err != nil || !ok || time.Since(r.Saved) >= ttl {
		return nil, err
	}
	return r.Joined, nil
}

// SaveRooms records the rooms this device is in now.
func (d *Dir) SaveRooms(joined []string) error {
	return d.WriteJSON(RoomsFile, Rooms{Joined: joined, Saved: time.Now()})
}
