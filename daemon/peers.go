package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/ferry-dev/ferry/daemon/identity"
)

// peerBook remembers which device answered at each address, in peers.json,
// and which devices the owner trusts, in trusted.json.
type peerBook struct {
	dir     string
	mu      sync.Mutex
	known   map[string]identity.ID
	trusted map[identity.ID]string // ID to the name it had when trusted
}

// trustedDevice is one entry of trusted.json.
type trustedDevice struct {
	ID   identity.ID `json:"id"`
	Name string      `json:"name"`
}

func loadPeerBook(dir string) (*peerBook, error) {
	b := &peerBook{dir: dir, known: map[string]identity.ID{}, trusted: map[identity.ID]string{}}
	if err := readJSONFile(filepath.Join(dir, "peers.json"), &b.known); err != nil {
		return nil, err
	}
	var trusted []trustedDevice
	if err := readJSONFile(filepath.Join(dir, "trusted.json"), &trusted); err != nil {
		return nil, err
	}
	for _, t := range trusted {
		b.trusted[t.ID] = t.Name
	}
	return b, nil
}

func readJSONFile(name string, v any) error {
	data, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err == nil {
		err = json.Unmarshal(data, v)
	}
	if err != nil {
		return fmt.Errorf("reading %s: %w", name, err)
	}
	return nil
}

func (b *peerBook) Known(addr string) (identity.ID, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	id, ok := b.known[addr]
	return id, ok
}

func (b *peerBook) Remember(addr string, id identity.ID) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.known[addr] == id {
		return nil
	}
	b.known[addr] = id
	return b.saveLocked()
}

// Forget drops what is remembered of addr.
func (b *peerBook) Forget(addr string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.known[addr]; !ok {
		return fmt.Errorf("no device is remembered at %s", addr)
	}
	delete(b.known, addr)
	return b.saveLocked()
}

func (b *peerBook) Trusted(id identity.ID) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, ok := b.trusted[id]
	return ok
}

// Trust adds or removes a device from the trusted list and saves it.
func (b *peerBook) setTrust(id identity.ID, name string, trust bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if trust {
		b.trusted[id] = name
	} else {
		delete(b.trusted, id)
	}
	list := make([]trustedDevice, 0, len(b.trusted))
	for id, name := range b.trusted {
		list = append(list, trustedDevice{id, name})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	return writeJSONFile(filepath.Join(b.dir, "trusted.json"), list)
}

// trustedList returns the trusted devices and their names.
func (b *peerBook) trustedList() map[identity.ID]string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return maps.Clone(b.trusted)
}

func (b *peerBook) saveLocked() error {
	return writeJSONFile(filepath.Join(b.dir, "peers.json"), b.known)
}

// writeJSONFile replaces name atomically with v as indented JSON.
func writeJSONFile(name string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("saving %s: %w", filepath.Base(name), err)
	}
	if err := os.Rename(tmp, name); err != nil {
		return fmt.Errorf("saving %s: %w", filepath.Base(name), err)
	}
	return nil
}
