package transfer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferry-dev/ferry/daemon/identity"
	"github.com/ferry-dev/ferry/daemon/signal"
	"github.com/ferry-dev/ferry/daemon/store"
	"github.com/pion/webrtc/v4"
)

// PeerBook remembers which device answered at an address.
type PeerBook interface {
	Known(addr string) (identity.ID, bool)
	Remember(addr string, id identity.ID) error
}

// States keeps the resume state of incoming transfers, one JSON document
// per transfer ID, across restarts.
type States interface {
	Save(id string, v any) error
	Load(id string, v any) error
	Remove(id string) error
	List() ([]string, error)
}

// Config configures a Manager.
type Config struct {
	Identity  *identity.Identity
	Name      string
	API       *webrtc.API
	Downloads *store.Downloads
	States    States
	// Dialer reaches the hubs of Direct routes; required for them.
	Dialer *signal.Dialer
	// Peers remembers the device at each address Direct routes reach;
	// required for them.
	Peers PeerBook
	// AutoAccept reports whether an offer from p is accepted without
	// asking the owner; nil asks for every offer.
	AutoAccept func(p Peer) bool
	// Trusted reports whether p is a device the owner trusts: its offers
	// wait even when strangers' offers fill every slot. nil trusts nobody.
	Trusted    func(p Peer) bool
	PendingTTL time.Duration // how long an offer waits for the owner; 0 means 5 minutes
	ResumeFor  time.Duration // how long a sender keeps reconnecting; 0 means 5 minutes
	// PendingPerAddr caps the offers from untrusted senders at one network
	// address (remoteHost: the remote end of the connection's ICE candidate
	// pair, an IPv6 address counting as its /64) that wait for the owner at
	// once; 0 means 8.
	PendingPerAddr int
	// HTTPPort is this daemon's HTTP port, where browsers download the
	// files they fetch instead of receiving them in the page (links.go);
	// 0 offers no such downloads.
	HTTPPort int
	// History is how many ended transfers List keeps, the most recently
	// ended; 0 means 200.
	History int
	Log     *slog.Logger
	// Mismatch, if set, hears of a daemon at addr that was discovered as
	// want but presented another certificate.
	Mismatch func(want identity.ID, addr string)
	// Locate, if set, returns the hub addresses where device id is now,
	// best first (where it proved its ID, then where it answered as
	// itself, then the rest). A direct transfer asks it at every new
	// session once it knows its device, so that it follows a receiver
	// that came back on another address or port.
	Locate func(id identity.ID) []string
	// Relay, if set, carries signaling to a daemon through the mesh: a
	// direct transfer tries it when its device answers at no address.
	Relay Sender
	// KeepInterrupted is how long an interrupted incoming transfer keeps
	// what it holds (its part files and resume state) with nothing
	// arriving; 0 means 7 days. Older ones are swept when the Manager is
	// made and every day after.
	KeepInterrupted time.Duration
}

// Errors callers tell apart.
var (
	ErrNotFound   = errors.New("no such transfer")
	ErrNotPending = errors.New("the transfer is not waiting for an answer")
)

// Manager runs every transfer of one daemon, in both directions.
type Manager struct {
	cfg  Config
	cert webrtc.Certificate

	mu      sync.Mutex
	in      map[string]*incoming
	out     map[string]*outgoing
	rs      map[string]*rsession // receiving sessions by rsKey
	waits   map[string]*meshWait // outgoing sessions through the mesh, by peer ID + "/" + conn
	changed chan struct{}
	closed  bool
	wg      sync.WaitGroup
	// ended is set when a transfer reaches a final state, so that the next
	// notify trims the ended transfers to cfg.History.
	ended atomic.Bool
	links links // files browsers download over HTTP instead (links.go)
}

// Limits on offers waiting for an answer at once from peers the owner does
// not trust; a trusted device's offer waits regardless. Besides these, each
// sender (device ID or guest ID) has one offer waiting at most.
const (
	maxPending        = 32 // in all
	maxPendingPerCert = 4  // per certificate the senders proved: guest IDs cost nothing
)

// New returns a Manager and loads interrupted incoming transfers from disk so
// their senders can resume them. It works at once; Run only ends it.
func New(cfg Config) (*Manager, error) {
	if cfg.PendingTTL == 0 {
		cfg.PendingTTL = 5 * time.Minute
	}
	if cfg.ResumeFor == 0 {
		cfg.ResumeFor = 5 * time.Minute
	}
	if cfg.AutoAccept == nil {
		cfg.AutoAccept = func(Peer) bool { return false }
	}
	if cfg.Trusted == nil {
		cfg.Trusted = func(Peer) bool { return false }
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.PendingPerAddr == 0 {
		cfg.PendingPerAddr = 8
	}
	if cfg.History == 0 {
		cfg.History = 200
	}
	if cfg.KeepInterrupted == 0 {
		cfg.KeepInterrupted = DefaultKeepInterrupted
	}
	m := &Manager{
		cfg:     cfg,
		cert:    webrtc.CertificateFromX509(cfg.Identity.Key, cfg.Identity.Cert),
		in:      make(map[string]*incoming),
		out:     make(map[string]*outgoing),
		rs:      make(map[string]*rsession),
		waits:   make(map[string]*meshWait),
		changed: make(chan struct{}),
	}
	ids, err := cfg.States.List()
	if err != nil {
		return nil, fmt.Errorf("listing interrupted transfers: %w", err)
	}
	for _, id := range ids {
		if strings.HasPrefix(id, outPrefix) {
			if o := m.loadOutgoing(id); o != nil {
				m.out[o.id] = o
			}
			continue
		}
		t, err := m.loadIncoming(id)
		if err != nil {
			cfg.Log.Warn("Dropping unreadable transfer state", "transfer", id, "err", err)
			cfg.States.Remove(id)
			continue
		}
		m.in[id] = t
	}
	m.sweep(time.Now().Add(-cfg.KeepInterrupted))
	m.trim()
	return m, nil
}

// Run returns nil when ctx ends, after stopping every transfer: incoming
// ones save their resume state, outgoing ones stop sending, and it waits
// for the senders to return. No transfer starts after. Meanwhile it
// sweeps old interrupted transfers every day (as New did once).
func (m *Manager) Run(ctx context.Context) error {
	m.resumeOutgoing()
	sweep := time.NewTicker(min(24*time.Hour, max(m.cfg.KeepInterrupted, time.Second)))
	defer sweep.Stop()
	for ctx.Err() == nil {
		select {
		case <-sweep.C:
			m.sweep(time.Now().Add(-m.cfg.KeepInterrupted))
		case <-ctx.Done():
		}
	}
	ins, outs := m.snapshot(true)
	for _, t := range outs {
		t.stop()
	}
	for _, t := range ins {
		t.shutdown()
	}
	m.wg.Wait()
	return nil
}

// Changed returns a channel that is closed at the next change of any transfer.
func (m *Manager) Changed() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.changed
}

func (m *Manager) notify() {
	m.mu.Lock()
	if m.ended.Swap(false) {
		m.trim()
	}
	close(m.changed)
	m.changed = make(chan struct{})
	m.mu.Unlock()
}

// trim forgets the transfers that ended longest ago beyond cfg.History.
// Call with m.mu held.
func (m *Manager) trim() {
	type ended struct {
		id  string
		at  time.Time
		out bool
	}
	var all []ended
	for id, t := range m.in {
		if at, ok := t.endedAt(); ok {
			all = append(all, ended{id, at, false})
		}
	}
	for id, o := range m.out {
		if at, ok := o.endedAt(); ok {
			all = append(all, ended{id, at, true})
		}
	}
	if len(all) <= m.cfg.History {
		return
	}
	slices.SortFunc(all, func(a, b ended) int {
		if c := b.at.Compare(a.at); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	for _, e := range all[m.cfg.History:] {
		if e.out {
			delete(m.out, e.id)
		} else {
			delete(m.in, e.id)
		}
	}
}

// snapshot returns the transfers in both directions; with closing, it also
// marks the manager closed in the same step, so no transfer is added after.
func (m *Manager) snapshot(closing bool) ([]*incoming, []*outgoing) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = m.closed || closing
	ins := make([]*incoming, 0, len(m.in))
	for _, t := range m.in {
		ins = append(ins, t)
	}
	outs := make([]*outgoing, 0, len(m.out))
	for _, t := range m.out {
		outs = append(outs, t)
	}
	return ins, outs
}

// List returns every transfer, newest first.
func (m *Manager) List() []Info {
	ins, outs := m.snapshot(false)
	infos := make([]Info, 0, len(ins)+len(outs))
	for _, t := range ins {
		infos = append(infos, t.info())
	}
	for _, t := range outs {
		infos = append(infos, t.info())
	}
	sort.Slice(infos, func(i, j int) bool { return infos[i].Started.After(infos[j].Started) })
	return infos
}

// Get returns one transfer.
func (m *Manager) Get(id string) (Info, error) {
	m.mu.Lock()
	in, out := m.in[id], m.out[id]
	m.mu.Unlock()
	switch {
	case in != nil:
		return in.info(), nil
	case out != nil:
		return out.info(), nil
	}
	return Info{}, fmt.Errorf("transfer %s: %w", id, ErrNotFound)
}

// Entries returns the manifest of a transfer: every file and folder with
// its size, as the sender listed them. A transfer that has ended keeps
// only a summary (Info) and lists none.
func (m *Manager) Entries(id string) ([]Entry, error) {
	m.mu.Lock()
	in, out := m.in[id], m.out[id]
	m.mu.Unlock()
	switch {
	case in != nil:
		in.mu.Lock()
		defer in.mu.Unlock()
		return slices.Clone(in.entries), nil
	case out != nil:
		out.mu.Lock()
		defer out.mu.Unlock()
		return slices.Clone(out.entries), nil
	}
	return nil, fmt.Errorf("transfer %s: %w", id, ErrNotFound)
}

// Accept accepts a pending incoming offer.
func (m *Manager) Accept(id string) error {
	t, err := m.incoming(id)
	if err != nil {
		return err
	}
	return t.accept()
}

// Decline declines a pending incoming offer.
func (m *Manager) Decline(id string) error {
	t, err := m.incoming(id)
	if err != nil {
		return err
	}
	return t.decline()
}

// Cancel stops a transfer in either direction and discards what it wrote.
func (m *Manager) Cancel(id string) error {
	m.mu.Lock()
	in, out := m.in[id], m.out[id]
	m.mu.Unlock()
	switch {
	case in != nil:
		return in.cancel()
	case out != nil:
		return out.cancelByOwner()
	}
	return fmt.Errorf("transfer %s: %w", id, ErrNotFound)
}

func (m *Manager) incoming(id string) (*incoming, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.in[id]
	if t == nil {
		return nil, fmt.Errorf("incoming transfer %s: %w", id, ErrNotFound)
	}
	return t, nil
}

// Send starts sending paths (files and folders, absolute) to the peer r
// reaches and returns the transfer ID. It reads the manifest before
// returning, so a missing file is reported here; the transfer itself runs
// on.
func (m *Manager) Send(r Route, paths []string) (string, error) {
	entries, local, err := buildManifest(paths)
	if err != nil {
		return "", err
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return "", errors.New("the daemon is shutting down")
	}
	o := newOutgoing(m, r, entries, local)
	m.out[o.id] = o
	m.mu.Unlock()
	o.save()
	m.start(o)
	m.notify()
	return o.id, nil
}

// start runs o until it ends.
func (m *Manager) start(o *outgoing) {
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		o.run()
	}()
}

// HandleSignal handles a signaling message for this daemon, from a peer on
// its hub or from anywhere in the mesh: offers of new sessions and their
// candidates, and the answers, candidates and errors for sessions this
// daemon offered through the mesh. It answers through from.Reply.
func (m *Manager) HandleSignal(from signal.Peer, msg signal.Message) {
	switch msg.Type {
	case signal.TypeOffer:
		m.answer(from, msg)
	case signal.TypeCandidate:
		if rs := m.receiverSession(from, msg.Conn); rs != nil && rs.num == msg.Session {
			rs.addCandidate(msg.Candidate)
		}
		m.toSender(from, msg)
	case signal.TypeAnswer, signal.TypeError:
		m.toSender(from, msg)
	case signal.TypeBye:
		if rs := m.receiverSession(from, msg.Conn); rs != nil {
			rs.close()
		}
	}
}
