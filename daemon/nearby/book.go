package nearby

import (
	"fmt"
	"maps"
	"sort"
	"sync"

	"github.com/ferry-dev/ferry/daemon/datadir"
	"github.com/ferry-dev/ferry/daemon/identity"
)

// book remembers which device answered at each address, in peers.json,
// and which devices the owner trusts, in trusted.json.
type book struct {
	dir     *datadir.Dir
	mu      sync.Mutex
	known   map[string]identity.ID
	trusted map[identity.ID]string // ID to the name it had when trusted
}

// trustedDevice is one entry of trusted.json.
type trustedDevice struct {
	ID   identity.ID `json:"id"`
	Name string      `json:"name"`
}

func loadBook(dir *datadir.Dir) (*book, error) {
	b := &book{dir: dir, known: map[string]identity.ID{}, trusted: map[identity.ID]string{}}
	if _, err := dir.ReadJSON(datadir.PeersFile, &b.known); err != nil {
		return nil, err
	}
	var trusted []trustedDevice
	if _, err := dir.ReadJSON(datadir.TrustedFile, &trusted); err != nil {
		return nil, err
	}
	for _, t := range trusted {
		b.trusted[t.ID] = t.Name
	}
	return b, nil
}

// Known returns the device that answered at addr before.
func (b *book) Known(addr string) (identity.ID, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	id, ok := b.known[addr]
	return id, ok
}

// Remember records that device id answered at addr.
func (b *book) Remember(addr string, id identity.ID) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.known[addr] == id {
		return nil
	}
	b.known[addr] = id
	return b.dir.WriteJSON(datadir.PeersFile, b.known)
}

// forget drops what is remembered of addr.
func (b *book) forget(addr string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.known[addr]; !ok {
		return fmt.Errorf("no device is remembered at %s", addr)
	}
	delete(b.known, addr)
	return b.dir.WriteJSON(datadir.PeersFile, b.known)
}

// trusts reports whether the owner trusts device id.
func (b *book) trusts(id identity.ID) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, ok := b.trusted[id]
	return ok
}

// setTrust adds or removes a device from the trusted list and saves it.
func (b *book) setTrust(id identity.ID, name string, trust bool) error {
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
	return b.dir.WriteJSON(datadir.TrustedFile, list)
}

// trustedList returns the trusted devices and their names.
func (b *book) trustedList() map[identity.ID]string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return maps.Clone(b.trusted)
}
