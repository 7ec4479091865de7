package pair

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/ferry-dev/ferry/daemon/api"
	"github.com/ferry-dev/ferry/daemon/signal"
	"github.com/pion/webrtc/v4"
)

// Guests takes a paired browser as a guest of the hub: signal.Hub.
type Guests interface {
	// ServeGuest serves c until it ends; the guest must say hello with
	// the ID it paired as.
	ServeGuest(c *signal.Conn, want string)
}

var _ Guests = (*signal.Hub)(nil)

// Config configures a Manager.
type Config struct {
	// API is the daemon's Pion API (transfer.NewAPI) and Cert its DTLS
	// certificate, as for its transfers: a daemon's fingerprint is its
	// device ID.
	API  *webrtc.API
	Cert webrtc.Certificate
	// ID and Name are this daemon's, told in its texts.
	ID, Name string
	Guests   Guests
	Log      *slog.Logger
	// TTL is how long an offer waits for its answer, and how long an
	// ended pairing stays listed; 0 means ten minutes.
	TTL time.Duration
	// ConnectWait is how long a pairing has, once both texts are known,
	// to open its channel; 0 means two minutes.
	ConnectWait time.Duration
	// MaxPending caps pairings not yet paired (waiting or connecting);
	// 0 means 4.
	MaxPending int
}

// Errors callers tell apart.
var (
	ErrNotFound = errors.New("no pairing with that ID; it may have expired")
	ErrTooMany  = errors.New("too many pairings are waiting; answer or let one expire first")
	ErrAnswered = errors.New("that offer has its answer already")
)

// Manager makes and answers pairing texts, and hands each paired channel
// to the hub as a guest.
type Manager struct {
	cfg    Config
	mu     sync.Mutex
	all    map[string]*pairing
	notify chan struct{}
	closed bool
}

type pairing struct {
	id      string
	pc      *webrtc.PeerConnection
	t       *channel
	st      api.Pairing // guarded by Manager.mu
	timer   *time.Timer // expiry or connect deadline; guarded by Manager.mu
	removal *time.Timer // drops an ended pairing from the list
}

// New returns a manager; Run closes its connections when it ends.
func New(cfg Config) *Manager {
	if cfg.TTL == 0 {
		cfg.TTL = 10 * time.Minute
	}
	if cfg.ConnectWait == 0 {
		cfg.ConnectWait = 2 * time.Minute
	}
	if cfg.MaxPending == 0 {
		cfg.MaxPending = 4
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Manager{cfg: cfg, all: map[string]*pairing{}, notify: make(chan struct{})}
}

// Run waits for ctx to end, then closes every pairing.
func (m *Manager) Run(ctx context.Context) error {
	<-ctx.Done()
	m.mu.Lock()
	m.closed = true
	var pcs []*webrtc.PeerConnection
	for _, p := range m.all {
		pcs = append(pcs, p.pc)
	}
	m.mu.Unlock()
	for _, pc := range pcs {
		pc.Close()
	}
	return nil
}

// Changed returns a channel closed at the next change of any pairing.
func (m *Manager) Changed() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.notify
}

func (m *Manager) changedLocked() {
	close(m.notify)
	m.notify = make(chan struct{})
}

// Get returns pairing id.
func (m *Manager) Get(id string) (api.Pairing, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.all[id]
	if p == nil {
		return api.Pairing{}, ErrNotFound
	}
	return p.st, nil
}

// Offer makes an offer with ICE gathering complete and keeps it waiting
// for its answer (Give) for Config.TTL.
func (m *Manager) Offer(ctx context.Context) (api.Pairing, error) {
	p, err := m.start(api.PairWaiting, RoleOffer)
	if err != nil {
		return api.Pairing{}, err
	}
	offer, err := p.pc.CreateOffer(nil)
	if err == nil {
		err = m.describe(ctx, p, offer, RoleOffer)
	}
	if err != nil {
		m.drop(p)
		return api.Pairing{}, fmt.Errorf("making a pairing offer: %w", err)
	}
	return m.arm(p, m.cfg.TTL, api.PairExpired, "nobody answered the offer in time"), nil
}

// Give gives pairing id the answer to its offer; the connection forms in
// the background.
func (m *Manager) Give(id, text string) (api.Pairing, error) {
	info, err := Decode(text)
	if err != nil {
		return api.Pairing{}, err
	}
	if info.Role != RoleAnswer {
		return api.Pairing{}, fmt.Errorf("%w: this is an offer; the offer's answer is needed here", ErrBadText)
	}
	if err := m.peerKind(info); err != nil {
		return api.Pairing{}, err
	}
	m.mu.Lock()
	p := m.all[id]
	switch {
	case p == nil:
		m.mu.Unlock()
		return api.Pairing{}, ErrNotFound
	case p.st.State.Final():
		st := p.st.State
		m.mu.Unlock()
		return api.Pairing{}, fmt.Errorf("that offer has %s; make a new one", st)
	case p.st.Role != RoleOffer || p.st.State != api.PairWaiting || p.st.Peer != nil:
		m.mu.Unlock()
		return api.Pairing{}, ErrAnswered
	}
	p.st.Peer, p.st.State = &api.PairPeer{ID: info.ID, Name: info.Name, Kind: info.Kind}, api.PairConnecting
	m.changedLocked()
	m.mu.Unlock()
	err = p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: info.SDP()})
	if err != nil {
		m.mu.Lock()
		if p.st.State == api.PairConnecting {
			// The offer may still take a good answer.
			p.st.Peer, p.st.State = nil, api.PairWaiting
			m.changedLocked()
		}
		m.mu.Unlock()
		return api.Pairing{}, fmt.Errorf("taking the answer: %w", err)
	}
	m.watch(p, info.ID)
	return m.arm(p, m.cfg.ConnectWait, api.PairFailed, connectFailed), nil
}

// Answer answers an offer with ICE gathering complete; the connection
// forms in the background.
func (m *Manager) Answer(ctx context.Context, text string) (api.Pairing, error) {
	info, err := Decode(text)
	if err != nil {
		return api.Pairing{}, err
	}
	if info.Role != RoleOffer {
		return api.Pairing{}, fmt.Errorf("%w: this is an answer; an offer is needed here", ErrBadText)
	}
	if err := m.peerKind(info); err != nil {
		return api.Pairing{}, err
	}
	p, err := m.start(api.PairConnecting, RoleAnswer)
	if err != nil {
		return api.Pairing{}, err
	}
	m.mu.Lock()
	p.st.Peer = &api.PairPeer{ID: info.ID, Name: info.Name, Kind: info.Kind}
	m.mu.Unlock()
	err = p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: info.SDP()})
	if err != nil {
		m.drop(p)
		return api.Pairing{}, fmt.Errorf("taking the offer: %w", err)
	}
	m.watch(p, info.ID)
	answer, err := p.pc.CreateAnswer(nil)
	if err == nil {
		err = m.describe(ctx, p, answer, RoleAnswer)
	}
	if err != nil {
		m.drop(p)
		return api.Pairing{}, fmt.Errorf("making a pairing answer: %w", err)
	}
	return m.arm(p, m.cfg.ConnectWait, api.PairFailed, connectFailed), nil
}

const connectFailed = "the connection did not open in time; check that both devices are on networks that reach each other"

// peerKind refuses what a daemon cannot pair with: another daemon (two
// daemons link through their hubs) or itself.
func (m *Manager) peerKind(info Info) error {
	if info.Kind != KindGuest {
		return errors.New("this daemon pairs with browsers; two daemons link with 'ferry connect HOST:PORT'")
	}
	return nil
}

// start makes a pairing's peer connection and ferry-hub channel.
func (m *Manager) start(state api.PairState, role string) (*pairing, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, errors.New("this daemon is shutting down")
	}
	pending := 0
	for _, p := range m.all {
		if p.st.State == api.PairWaiting || p.st.State == api.PairConnecting {
			pending++
		}
	}
	if pending >= m.cfg.MaxPending {
		return nil, ErrTooMany
	}
	pc, err := m.cfg.API.NewPeerConnection(webrtc.Configuration{Certificates: []webrtc.Certificate{m.cfg.Cert}})
	if err != nil {
		return nil, fmt.Errorf("making a peer connection: %w", err)
	}
	dc, err := hubChannel(pc)
	if err != nil {
		pc.Close()
		return nil, fmt.Errorf("making the %s channel: %w", HubLabel, err)
	}
	b := make([]byte, 8)
	rand.Read(b)
	p := &pairing{id: hex.EncodeToString(b), pc: pc, t: newChannel(pc, dc)}
	p.st = api.Pairing{ID: p.id, Role: role, State: state}
	m.all[p.id] = p
	m.changedLocked()
	return p, nil
}

// describe sets desc as p's local description, waits for ICE gathering to
// complete and writes p's text.
func (m *Manager) describe(ctx context.Context, p *pairing, desc webrtc.SessionDescription, role string) error {
	gathered := webrtc.GatheringCompletePromise(p.pc)
	if err := p.pc.SetLocalDescription(desc); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	select {
	case <-gathered:
	case <-ctx.Done():
		return fmt.Errorf("gathering candidates: %w", ctx.Err())
	}
	info := Info{Role: role, ID: m.cfg.ID, Name: m.cfg.Name, Kind: KindDaemon}
	if len(info.Name) > MaxNameBytes {
		info.Name = strings.ToValidUTF8(info.Name[:MaxNameBytes], "")
	}
	if err := info.FromDescription(p.pc.LocalDescription().SDP); err != nil {
		return err
	}
	text, err := Encode(info)
	if err != nil {
		return err
	}
	m.mu.Lock()
	p.st.Text = text
	m.mu.Unlock()
	return nil
}

// arm gives p until d to move on, else it ends as state with why, and
// returns it as it stands.
func (m *Manager) arm(p *pairing, d time.Duration, state api.PairState, why string) api.Pairing {
	m.mu.Lock()
	defer m.mu.Unlock()
	if p.st.State != api.PairWaiting && p.st.State != api.PairConnecting {
		return p.st // it opened, or ended, already
	}
	if p.timer != nil {
		p.timer.Stop()
	}
	p.st.Expires = time.Now().Add(d)
	p.timer = time.AfterFunc(d, func() { m.end(p, state, why) })
	m.changedLocked()
	return p.st
}

// watch serves p's channel to the hub once it opens, and ends p when its
// peer connection fails or closes.
func (m *Manager) watch(p *pairing, peer string) {
	p.t.dc.OnOpen(func() {
		m.mu.Lock()
		if p.st.State.Final() {
			m.mu.Unlock()
			return
		}
		if p.timer != nil {
			p.timer.Stop()
		}
		p.st.State, p.st.Expires = api.PairPaired, time.Time{}
		m.changedLocked()
		m.mu.Unlock()
		m.cfg.Log.Info("Paired", "peer", peer, "remote", p.t.RemoteAddr())
		go func() {
			m.cfg.Guests.ServeGuest(signal.NewConn(p.t), peer)
			// Closing the Conn closed the transport, which closes the peer
			// connection once a refusal's error has left.
			m.settle(p, api.PairClosed, "")
		}()
	})
	p.pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		switch s {
		case webrtc.PeerConnectionStateFailed:
			m.end(p, api.PairFailed, "the connection failed")
		case webrtc.PeerConnectionStateClosed:
			m.end(p, api.PairClosed, "")
		}
	})
}

// end ends p as state, unless it has ended already, closes its
// connection, and lists it for Config.TTL more.
func (m *Manager) end(p *pairing, state api.PairState, why string) {
	if m.settle(p, state, why) {
		p.t.end()
		go p.pc.Close()
	}
}

// settle marks p ended as state and lists it for Config.TTL more, and
// reports whether it had not ended before.
func (m *Manager) settle(p *pairing, state api.PairState, why string) bool {
	m.mu.Lock()
	if p.st.State.Final() {
		m.mu.Unlock()
		return false
	}
	if p.st.State == api.PairPaired && state == api.PairFailed {
		state, why = api.PairClosed, "the connection was lost"
	}
	p.st.State, p.st.Error, p.st.Expires = state, why, time.Time{}
	if p.timer != nil {
		p.timer.Stop()
	}
	p.removal = time.AfterFunc(m.cfg.TTL, func() {
		m.mu.Lock()
		delete(m.all, p.id)
		m.changedLocked()
		m.mu.Unlock()
	})
	m.changedLocked()
	m.mu.Unlock()
	m.cfg.Log.Debug("Pairing ended", "pairing", p.id, "state", state, "why", why)
	return true
}

// drop forgets a pairing that never got going.
func (m *Manager) drop(p *pairing) {
	m.mu.Lock()
	delete(m.all, p.id)
	m.changedLocked()
	m.mu.Unlock()
	p.pc.Close()
}
