package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/ferry-dev/ferry/daemon/identity"
)

// peerBook remembers which device answered at each address, in peers.json,
// and which devices the owner trusts, in trusted.json.
type peerBook struct {
	dir     string
	mu      sync.Mutex
	known   map[string]identity.ID
	trusted map[identity.ID]bool
}

func loadPeerBook(dir string) (*peerBook, error) {
	b := &peerBook{dir: dir, known: map[string]identity.ID{}, trusted: map[identity.ID]bool{}}
	if err := readJSONFile(filepath.Join(dir, "peers.json"), &b.known); err != nil {
		return nil, err
	}
	var trusted []identity.ID
	if err := readJSONFile(filepath.Join(dir, "trusted.json"), &trusted); err != nil {
		return nil, err
	}
	for _, id := range trusted {
		b.trusted[id] = true
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
	return b.trusted[id]
}

func (b *peerBook) saveLocked() error {
	data, err := json.MarshalIndent(b.known, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(b.dir, "peers.json.tmp")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("saving known peers: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(b.dir, "peers.json")); err != nil {
		return fmt.Errorf("saving known peers: %w", err)
	}
	return nil
}
