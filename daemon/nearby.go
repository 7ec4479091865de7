package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ferry-dev/ferry/daemon/api"
	"github.com/ferry-dev/ferry/daemon/identity"
	"github.com/ferry-dev/ferry/daemon/signal"
	"github.com/ferry-dev/ferry/discovery"
)

// nearby is the daemon's view of other daemons: discovered with mDNS or
// added by address. It serves the peer side of the local API.
type nearby struct {
	self  identity.ID
	name  string
	table *discovery.Table
	book  *peerBook
	dir   string // data folder, for the config file's connect list

	mu sync.Mutex // serialises config file updates
}

var _ api.Peers = (*nearby)(nil)

func (n *nearby) List() []api.Peer {
	peers := n.table.List()
	out := make([]api.Peer, len(peers))
	for i, p := range peers {
		out[i] = api.Peer{Peer: p, ShortID: p.ID.Short(), Trusted: n.book.Trusted(p.ID)}
	}
	return out
}

// Resolve accepts HOST:PORT as it is, and otherwise looks the name or ID up
// among nearby devices.
func (n *nearby) Resolve(to string) (string, identity.ID, error) {
	if host, port, err := net.SplitHostPort(to); err == nil && host != "" {
		if _, err := strconv.ParseUint(port, 10, 16); err == nil {
			return to, identity.ID{}, nil
		}
	}
	p, err := n.table.Find(to)
	if err != nil {
		return "", identity.ID{}, err
	}
	ap, ok := p.Addr()
	if !ok {
		return "", identity.ID{}, fmt.Errorf("%s (%s) is flagged: it answered with another device's certificate", p.Name, p.ID.Short())
	}
	return ap.String(), p.ID, nil
}

// Trust adds a nearby device, or one already trusted, to the trusted list.
func (n *nearby) Trust(query string) (api.Trust, error) {
	p, err := n.table.Find(query)
	if err != nil {
		return api.Trust{}, err
	}
	if err := n.book.setTrust(p.ID, p.Name, true); err != nil {
		return api.Trust{}, err
	}
	return api.Trust{ID: p.ID.String(), ShortID: p.ID.Short(), Name: p.Name, Code: identity.PairCode(n.self, p.ID)}, nil
}

// Untrust removes a device from the trusted list, found by name or ID among
// the trusted ones, nearby or not.
func (n *nearby) Untrust(query string) (api.Trust, error) {
	var match []api.Trust
	for id, name := range n.book.trustedList() {
		if p, err := n.table.Find(query); err == nil && p.ID == id {
			name = p.Name
			match = append(match, api.Trust{ID: id.String(), ShortID: id.Short(), Name: name})
			continue
		}
		if matchesQuery(id, name, query) {
			match = append(match, api.Trust{ID: id.String(), ShortID: id.Short(), Name: name})
		}
	}
	switch len(match) {
	case 0:
		return api.Trust{}, fmt.Errorf("no trusted device is called %q or has an ID starting with it", query)
	case 1:
		id, _ := identity.ParseID(match[0].ID)
		return match[0], n.book.setTrust(id, "", false)
	}
	return api.Trust{}, fmt.Errorf("%q matches %d trusted devices; use more of the device ID", query, len(match))
}

// matchesQuery is Table.Find's rule for one device: the name in any case,
// or a prefix of at least four characters of the ID.
func matchesQuery(id identity.ID, name, query string) bool {
	q := strings.TrimSpace(query)
	idq := strings.ToUpper(strings.ReplaceAll(q, "-", ""))
	return strings.EqualFold(name, q) || (len(idq) >= 4 && strings.HasPrefix(id.String(), idq))
}

// Connect adds the daemon at addr, for networks that block multicast. It
// asks the daemon's hub who it is and remembers the address in the config.
func (n *nearby) Connect(ctx context.Context, addr string) (api.Peer, error) {
	p, err := n.dial(ctx, addr)
	if err != nil {
		return api.Peer{}, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	f, err := LoadFile(n.dir)
	if err != nil {
		return api.Peer{}, err
	}
	if !slices.Contains(f.Connect, addr) {
		f.Connect = append(f.Connect, addr)
		if err := SaveFile(n.dir, f); err != nil {
			return api.Peer{}, err
		}
	}
	return api.Peer{Peer: p, ShortID: p.ID.Short(), Trusted: n.book.Trusted(p.ID)}, nil
}

// dial introduces itself to the hub at addr and records the daemon that
// answers. The ID it claims is checked by DTLS when a transfer starts.
func (n *nearby) dial(ctx context.Context, addr string) (discovery.Peer, error) {
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
	ap := netip.AddrPortFrom(ips[0].Unmap(), uint16(port)).String()
	c, welcome, err := signal.Dial(ctx, ap, signal.Message{Kind: signal.KindProbe, From: n.self.String(), Name: n.name})
	if err != nil {
		return discovery.Peer{}, fmt.Errorf("cannot reach a ferry daemon at %s: %w", addr, err)
	}
	c.Close()
	id, err := identity.ParseID(welcome.From)
	if err != nil {
		return discovery.Peer{}, fmt.Errorf("the daemon at %s sent a bad device ID: %w", addr, err)
	}
	if id == n.self {
		return discovery.Peer{}, errors.New("that address is this daemon")
	}
	name := welcome.Name
	if CheckName(name) != nil {
		name = id.Short()
	}
	n.table.AddManual(discovery.Sighting{
		Record: discovery.Record{ID: id, Name: name, Port: port, Version: discovery.Version},
		Addrs:  []netip.Addr{ips[0].Unmap()},
	})
	p, _ := n.table.Get(id)
	return p, nil
}

// keepConnected re-dials the addresses in the config file every interval,
// so manual peers stay current, until ctx ends.
func (n *nearby) keepConnected(ctx context.Context, addrs []string, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		for _, a := range addrs {
			n.dial(ctx, a)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// mismatch flags an address that presented another certificate than the
// device ID discovered there.
func (n *nearby) mismatch(want identity.ID, addr string) {
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		n.table.Flag(want, ap.Addr().Unmap())
	}
}

// linked adds a daemon that linked its hub to this one and is not in the
// table yet: it found this daemon (or was told its address) where this one
// could not find it. It stays until its link drops.
func (n *nearby) linked(id identity.ID, name string, addr netip.AddrPort) {
	if _, ok := n.table.Get(id); ok {
		return
	}
	if CheckName(name) != nil {
		name = id.Short()
	}
	n.table.AddManual(discovery.Sighting{
		Record: discovery.Record{ID: id, Name: name, Port: int(addr.Port()), Version: discovery.Version},
		Addrs:  []netip.Addr{addr.Addr()},
	})
}

// flagged reports whether every address of daemon id presented another
// certificate.
func (n *nearby) flagged(id identity.ID) bool {
	p, ok := n.table.Get(id)
	if !ok {
		return false
	}
	_, usable := p.Addr()
	return !usable
}

// Forget drops what is remembered of the device at addr.
func (n *nearby) Forget(addr string) error { return n.book.Forget(addr) }
