// Package nearby is the daemon's view of other ferry daemons: those found
// with mDNS (through discovery's peer table) and those added by address,
// which of them the owner trusts, which device answered at each address
// before, and which addresses turned out to present another device's
// certificate. It serves the owner's peer commands (peers, trust, untrust,
// connect, forget) and resolves what the owner types into an address.
//
// It does not send files or carry signaling; it only asks a hub who it is
// when the owner adds an address.
package nearby

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ferry-dev/ferry/daemon/api"
	"github.com/ferry-dev/ferry/daemon/datadir"
	"github.com/ferry-dev/ferry/daemon/identity"
	"github.com/ferry-dev/ferry/daemon/signal"
	"github.com/ferry-dev/ferry/discovery"
)

// Config configures Devices.
type Config struct {
	Self identity.ID
	Name string
	Dir  *datadir.Dir
	// TTL is how long a device found with mDNS stays without being seen.
	TTL time.Duration
	// Redial is how often the addresses the owner added are asked again.
	Redial time.Duration
	// Connect lists the addresses the owner added (the config's list).
	Connect []string
	// Events, if set, hears of every device that appears, changes or goes.
	Events func(discovery.Event)
	Log    *slog.Logger
}

// Devices is the daemon's nearby devices.
type Devices struct {
	cfg   Config
	self  string
	table *discovery.Table
	book  *book

	mu      sync.Mutex
	changed chan struct{}
}

// New loads the books of known and trusted devices.
func New(cfg Config) (*Devices, error) {
	b, err := loadBook(cfg.Dir)
	if err != nil {
		return nil, err
	}
	n := &Devices{cfg: cfg, self: cfg.Self.String(), book: b, changed: make(chan struct{})}
	n.table = discovery.NewTable(n.self, cfg.TTL, func(e discovery.Event) {
		if cfg.Events != nil {
			cfg.Events(e)
		}
		n.notify()
	})
	return n, nil
}

// Changed returns a channel closed at the next change of the list: a
// device appearing, changing or leaving, or the owner trusting one.
func (n *Devices) Changed() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.changed
}

func (n *Devices) notify() {
	n.mu.Lock()
	close(n.changed)
	n.changed = make(chan struct{})
	n.mu.Unlock()
}

// Table returns the peer table discovery fills.
func (n *Devices) Table() *discovery.Table { return n.table }

// Run expires devices not seen for their TTL and keeps asking the
// addresses the owner added, until ctx ends.
func (n *Devices) Run(ctx context.Context) error {
	expired := make(chan struct{})
	go func() { n.table.Run(ctx); close(expired) }()
	defer func() { <-expired }()
	if len(n.cfg.Connect) == 0 {
		<-ctx.Done()
		return nil
	}
	t := time.NewTicker(n.cfg.Redial)
	defer t.Stop()
	for {
		for _, a := range n.cfg.Connect {
			if _, err := n.dial(ctx, a); err != nil && ctx.Err() == nil {
				n.cfg.Log.Debug("Device added by address does not answer", "addr", a, "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Get returns the device with the ID.
func (n *Devices) Get(id identity.ID) (discovery.Peer, bool) { return n.table.Get(id.String()) }

// Remove drops a device from the table: it is most likely gone.
func (n *Devices) Remove(id identity.ID) { n.table.Remove(id.String()) }

// Addr returns where device id is reached, or why it cannot be.
func (n *Devices) Addr(id identity.ID) (string, error) {
	p, ok := n.Get(id)
	if !ok {
		return "", errors.New("it is not nearby: this device cannot reach it directly")
	}
	ap, ok := p.Addr()
	if !ok {
		return "", errors.New("it is flagged: it answered with another device's certificate")
	}
	return ap.String(), nil
}

// List returns every nearby device as the owner's API shows it.
func (n *Devices) List() []api.Peer {
	peers := n.table.List()
	out := make([]api.Peer, len(peers))
	for i, p := range peers {
		out[i] = n.apiPeer(p)
	}
	return out
}

func (n *Devices) apiPeer(p discovery.Peer) api.Peer {
	id, _ := identity.ParseID(p.ID)
	out := api.Peer{
		ID: p.ID, ShortID: id.Short(), Name: p.Name, Port: p.Port, Version: p.Version,
		FirstSeen: p.FirstSeen, LastSeen: p.LastSeen, Manual: p.Manual, Trusted: n.book.trusts(id),
		Addrs: []string{}, Flagged: []string{},
	}
	for _, a := range p.Addrs {
		out.Addrs = append(out.Addrs, a.String())
	}
	for _, a := range p.Flagged {
		out.Flagged = append(out.Flagged, a.String())
	}
	if ap, ok := p.Addr(); ok {
		out.Address = ap.String()
	}
	return out
}

// Resolve accepts HOST:PORT as it is, and otherwise looks the name or ID up
// among nearby devices.
func (n *Devices) Resolve(to string) (string, identity.ID, error) {
	if host, port, err := net.SplitHostPort(to); err == nil && host != "" {
		if _, err := strconv.ParseUint(port, 10, 16); err == nil {
			return to, identity.ID{}, nil
		}
	}
	p, err := n.table.Find(to)
	if err != nil {
		return "", identity.ID{}, err
	}
	id, err := identity.ParseID(p.ID)
	if err != nil {
		return "", identity.ID{}, err
	}
	ap, ok := p.Addr()
	if !ok {
		return "", identity.ID{}, fmt.Errorf("%s (%s) is flagged: it answered with another device's certificate", p.Name, id.Short())
	}
	return ap.String(), id, nil
}

// Trusts reports whether the owner trusts device id.
func (n *Devices) Trusts(id identity.ID) bool { return n.book.trusts(id) }

// Known and Remember are the book of which device answered at an address.
func (n *Devices) Known(addr string) (identity.ID, bool)      { return n.book.Known(addr) }
func (n *Devices) Remember(addr string, id identity.ID) error { return n.book.Remember(addr, id) }

// Forget drops what is remembered of the device at addr.
func (n *Devices) Forget(addr string) error { return n.book.forget(addr) }

// Trust adds a nearby device to the trusted list and returns the code both
// owners compare.
func (n *Devices) Trust(query string) (api.Trust, error) {
	p, err := n.table.Find(query)
	if err != nil {
		return api.Trust{}, err
	}
	id, err := identity.ParseID(p.ID)
	if err != nil {
		return api.Trust{}, err
	}
	if err := n.book.setTrust(id, p.Name, true); err != nil {
		return api.Trust{}, err
	}
	n.notify()
	return api.Trust{ID: p.ID, ShortID: id.Short(), Name: p.Name, Code: identity.PairCode(n.cfg.Self, id)}, nil
}

// Untrust removes a device from the trusted list, found by name or ID among
// the trusted ones, nearby or not.
func (n *Devices) Untrust(query string) (api.Trust, error) {
	nearby, nearbyErr := n.table.Find(query)
	var match []api.Trust
	for id, name := range n.book.trustedList() {
		if nearbyErr == nil && nearby.ID == id.String() {
			name = nearby.Name
		} else if !matchesQuery(id, name, query) {
			continue
		}
		match = append(match, api.Trust{ID: id.String(), ShortID: id.Short(), Name: name})
	}
	switch len(match) {
	case 0:
		return api.Trust{}, fmt.Errorf("no trusted device is called %q or has an ID starting with it", query)
	case 1:
		id, _ := identity.ParseID(match[0].ID)
		defer n.notify()
		return match[0], n.book.setTrust(id, "", false)
	}
	return api.Trust{}, fmt.Errorf("%q matches %d trusted devices; use more of the device ID", query, len(match))
}

// matchesQuery is the peer table's rule for finding one device: the name
// in any case, or a prefix of at least four characters of the ID.
func matchesQuery(id identity.ID, name, query string) bool {
	q := strings.TrimSpace(query)
	idq := strings.ToUpper(strings.ReplaceAll(q, "-", ""))
	return strings.EqualFold(name, q) || (len(idq) >= 4 && strings.HasPrefix(id.String(), idq))
}

// Connect adds the daemon at addr, for networks that block multicast. It
// asks the daemon's hub who it is and remembers the address in the config.
func (n *Devices) Connect(ctx context.Context, addr string) (api.Peer, error) {
	p, err := n.dial(ctx, addr)
	if err != nil {
		return api.Peer{}, err
	}
	err = n.cfg.Dir.UpdateConfig(func(c *datadir.Config) {
		if !slices.Contains(c.Connect, addr) {
			c.Connect = append(c.Connect, addr)
		}
	})
	if err != nil {
		return api.Peer{}, err
	}
	return n.apiPeer(p), nil
}

// dial introduces itself to the hub at addr and records the daemon that
// answers. The ID it claims is checked by DTLS when a transfer starts.
func (n *Devices) dial(ctx context.Context, addr string) (discovery.Peer, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return discovery.Peer{}, fmt.Errorf("%q is not HOST:PORT", addr)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 1 || port > 65535 {
		return discovery.Peer{}, fmt.Errorf("%q has no valid port", addr)
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil || len(ips) == 0 {
		return discovery.Peer{}, fmt.Errorf("cannot resolve %s: %v", host, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ip := ips[0].Unmap()
	c, welcome, err := signal.Dial(ctx, netip.AddrPortFrom(ip, uint16(port)).String(),
		signal.Message{Kind: signal.KindProbe, From: n.self, Name: n.cfg.Name}, nil)
	if err != nil {
		return discovery.Peer{}, fmt.Errorf("cannot reach a ferry daemon at %s: %w", addr, err)
	}
	c.Close()
	id, err := identity.ParseID(welcome.From)
	if err != nil {
		return discovery.Peer{}, fmt.Errorf("the daemon at %s sent a bad device ID: %w", addr, err)
	}
	if id == n.cfg.Self {
		return discovery.Peer{}, errors.New("that address is this daemon")
	}
	n.add(id, welcome.Name, netip.AddrPortFrom(ip, uint16(port)))
	p, _ := n.Get(id)
	return p, nil
}

// add puts a daemon reached by address in the table, named as it said or,
// if that name is unusable, by its short ID.
func (n *Devices) add(id identity.ID, name string, at netip.AddrPort) {
	if datadir.CheckName(name) != nil {
		name = id.Short()
	}
	n.table.AddManual(discovery.Sighting{
		Record: discovery.Record{ID: id.String(), Name: name, Port: int(at.Port()), Version: discovery.Version},
		Addrs:  []netip.Addr{at.Addr()},
	})
}

// Mismatch flags an address that presented another certificate than the
// device ID discovered there.
func (n *Devices) Mismatch(want identity.ID, addr string) {
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		n.table.Flag(want.String(), ap.Addr().Unmap())
	}
}

// Linked adds a daemon that linked its hub to this one and is not in the
// table yet: it found this daemon (or was told its address) where this one
// could not find it. It stays until its link drops.
func (n *Devices) Linked(id identity.ID, name string, at netip.AddrPort) {
	if _, ok := n.Get(id); !ok {
		n.add(id, name, at)
	}
}

// Flagged reports whether every address of daemon id presented another
// certificate.
func (n *Devices) Flagged(id identity.ID) bool {
	p, ok := n.Get(id)
	if !ok {
		return false
	}
	_, usable := p.Addr()
	return !usable
}
