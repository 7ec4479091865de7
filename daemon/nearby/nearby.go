// Package nearby is the daemon's view of other ferry daemons: those found
// with mDNS (through discovery's peer table) and those added by address,
// which of them the owner trusts, which device answered at each address
// before, and which addresses turned out to present another device's
// certificate. It serves the owner's peer commands (peers, trust, untrust,
// connect, forget) and resolves what the owner types into an address.
//
// An mDNS record is a claim anyone on the LAN can make. Every address a
// record brings for a device is asked which device it is (a probe: hello,
// welcome, hang up); one that answers as another device is flagged for
// that device ID only, and the table keeps trying the device's other
// addresses, those that answered or proved the ID first. A transfer then
// proves the ID with the certificate (Remember, Mismatch).
//
// It does not send files or carry signaling; it only asks a hub who it is.
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
	// wake tells the checker that the table changed and may hold
	// addresses nobody asked yet.
	wake chan struct{}
}

// checkTimeout bounds one probe of an announced address, and maxChecks how
// many run at once.
const (
	checkTimeout = 5 * time.Second
	maxChecks    = 4
)

// New loads the books of known and trusted devices.
func New(cfg Config) (*Devices, error) {
	b, err := loadBook(cfg.Dir)
	if err != nil {
		return nil, err
	}
	n := &Devices{cfg: cfg, self: cfg.Self.String(), book: b, changed: make(chan struct{}), wake: make(chan struct{}, 1)}
	n.table = discovery.NewTable(n.self, cfg.TTL, func(e discovery.Event) {
		if cfg.Events != nil {
			cfg.Events(e)
		}
		n.notify()
		select {
		case n.wake <- struct{}{}:
		default:
		}
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

// Run expires devices not seen for their TTL, asks every address
// announced for a device which device it is, and keeps asking the
// addresses the owner added, until ctx ends.
func (n *Devices) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { n.table.Run(ctx) })
	wg.Go(func() { n.check(ctx) })
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

// check probes the addresses announced for devices that nobody asked yet,
// a few at a time, whenever the table changes, until ctx ends.
func (n *Devices) check(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, maxChecks)
	for {
		for _, c := range n.table.ToCheck() {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			wg.Go(func() {
				defer func() { <-slots }()
				n.checkOne(ctx, c)
			})
		}
		select {
		case <-ctx.Done():
			return
		case <-n.wake:
		}
	}
}

// checkOne asks the hub at c.Addr which device it is and tells the table.
func (n *Devices) checkOne(parent context.Context, c discovery.Claim) {
	ctx, cancel := context.WithTimeout(parent, checkTimeout)
	defer cancel()
	welcome, err := n.probe(ctx, c.Addr)
	if err != nil {
		if parent.Err() == nil {
			n.table.Checked(c, "")
		}
		n.cfg.Log.Debug("An address announced for a device does not answer", "addr", c.Addr, "err", err)
		return
	}
	if welcome.From != c.ID {
		want, _ := identity.ParseID(c.ID)
		n.cfg.Log.Warn("An address announced for a device answered as another device; not using it for that device",
			"device", want.Short(), "addr", c.Addr, "answered", welcome.From)
	}
	n.table.Checked(c, welcome.From)
}

// probe asks the hub at addr which device it is: hello, welcome, hang up.
func (n *Devices) probe(ctx context.Context, addr netip.AddrPort) (signal.Message, error) {
	c, welcome, err := signal.Dial(ctx, addr.String(), signal.Message{Kind: signal.KindProbe, From: n.self, Name: n.cfg.Name}, nil)
	if err != nil {
		return signal.Message{}, err
	}
	c.Close()
	return welcome, nil
}

// Get returns the device with the ID.
func (n *Devices) Get(id identity.ID) (discovery.Peer, bool) { return n.table.Get(id.String()) }

// Remove drops a device from the table: it is most likely gone.
func (n *Devices) Remove(id identity.ID) { n.table.Remove(id.String()) }

// Locate returns where device id's hub is now, in the order to try the
// addresses: those it proved its ID at, then those that answered as it,
// then those not asked yet, then those that did not answer; none when it
// is not nearby or every address is flagged. A transfer asks at every new
// session, so that it follows a device that came back elsewhere.
func (n *Devices) Locate(id identity.ID) []string {
	p, ok := n.Get(id)
	if !ok {
		return nil
	}
	out := make([]string, 0, len(p.Hubs))
	for _, h := range p.Hubs {
		out = append(out, h.Addr.String())
	}
	return out
}

// Addr returns where device id is reached, or why it cannot be.
func (n *Devices) Addr(id identity.ID) (string, error) {
	p, ok := n.Get(id)
	if !ok {
		return "", errors.New("it is not nearby: this device cannot reach it directly")
	}
	ap, ok := p.Addr()
	if !ok {
		return "", errors.New("it is flagged: every address announced for it answered as another device")
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
		ID: p.ID, ShortID: id.Short(), Name: p.Name, Version: p.Version,
		FirstSeen: p.FirstSeen, LastSeen: p.LastSeen, Manual: p.Manual, Trusted: n.book.trusts(id),
		Addrs: []string{}, Flagged: []string{},
	}
	for _, h := range p.Hubs {
		out.Addrs = append(out.Addrs, h.Addr.String())
	}
	for _, a := range p.Flagged {
		out.Flagged = append(out.Flagged, a.String())
	}
	if ap, ok := p.Addr(); ok {
		out.Address, out.Port = ap.String(), int(ap.Port())
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
		return "", identity.ID{}, fmt.Errorf("%s (%s) is flagged: every address announced for it answered as another device", p.Name, id.Short())
	}
	return ap.String(), id, nil
}

// Trusts reports whether the owner trusts device id.
func (n *Devices) Trusts(id identity.ID) bool { return n.book.trusts(id) }

// Known returns the device that answered at addr before.
func (n *Devices) Known(addr string) (identity.ID, bool) { return n.book.Known(addr) }

// Remember records that device id proved its ID with its certificate at
// addr: the book keeps it, and the table tries that address first.
func (n *Devices) Remember(addr string, id identity.ID) error {
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		n.table.Proved(id.String(), netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()))
	}
	return n.book.Remember(addr, id)
}

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
	at := netip.AddrPortFrom(ips[0].Unmap(), uint16(port))
	welcome, err := n.probe(ctx, at)
	if err != nil {
		return discovery.Peer{}, fmt.Errorf("cannot reach a ferry daemon at %s: %w", addr, err)
	}
	id, err := identity.ParseID(welcome.From)
	if err != nil {
		return discovery.Peer{}, fmt.Errorf("the daemon at %s sent a bad device ID: %w", addr, err)
	}
	if id == n.cfg.Self {
		return discovery.Peer{}, errors.New("that address is this daemon")
	}
	n.add(id, welcome.Name, at, true)
	n.table.Checked(discovery.Claim{ID: id.String(), Addr: at}, id.String())
	p, _ := n.Get(id)
	return p, nil
}

// add puts a daemon reached by address in the table, named as it said or,
// if that name is unusable, by its short ID. manual keeps the daemon
// without mDNS; otherwise only the address is kept (Table.AddLinked).
func (n *Devices) add(id identity.ID, name string, at netip.AddrPort, manual bool) {
	if datadir.CheckName(name) != nil {
		name = id.Short()
	}
	s := discovery.Sighting{
		Record: discovery.Record{ID: id.String(), Name: name, Port: int(at.Port()), Version: discovery.Version},
		Addrs:  []netip.Addr{at.Addr()},
	}
	if manual {
		n.table.AddManual(s)
	} else {
		n.table.AddLinked(s)
	}
}

// Mismatch flags, for device want only, an address that presented another
// certificate than want's: the device's other addresses stay in use.
func (n *Devices) Mismatch(want identity.ID, addr string) {
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		n.table.Flag(want.String(), netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()))
	}
}

// Linked records the address of a daemon that linked its hub to this one,
// proving its ID in its hello. One not in the table yet found this daemon
// (or was told its address) where this one could not find it, and stays
// until its link drops. For one in the table the address joins those it
// was announced at and stays as long as the daemon, so forged records
// that get flagged cannot leave it with none.
func (n *Devices) Linked(id identity.ID, name string, at netip.AddrPort) {
	_, known := n.Get(id)
	n.add(id, name, at, !known)
}
