package signal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/ferry-dev/ferry/daemon/proto"
	"github.com/gorilla/websocket"
)

// HubPath is where the hub's WebSocket endpoint is served.
const HubPath = "/ws"

// Handler receives validated messages from connected peers.
type Handler interface {
	HandleSignal(from Peer, m Message)
}

// Peer is a connected peer as it introduced itself. The ID is a claim until
// a DTLS handshake proves it.
type Peer struct {
	ID   string
	Name string
	// Kind is the kind of connection the peer opened (KindPeer, KindMesh,
	// KindGuest). For a message the mesh delivers it is KindGuest when the
	// sender is a browser guest, wherever it is connected, and KindPeer
	// for a daemon.
	Kind string
	Port int // the hub port a daemon linking to the mesh serves on
	// Reply, set on every peer a Handler receives, answers this peer the
	// way its message came: the hub sends to the peer's current
	// connection, the mesh routes back to the sender.
	Reply func(Message) error
}

// Sessions takes the hub's mesh links and guests; the hub only reads their
// messages and hands them over.
type Sessions interface {
	// Open is called before the welcome; an error refuses the peer.
	Open(p Peer, c *Conn) (Session, error)
}

// Session is one open mesh link or guest connection.
type Session interface {
	Started()         // the welcome is sent
	Handle(m Message) // a valid message arrived
	Close()           // the connection is gone
}

// HubConfig configures a Hub.
type HubConfig struct {
	ID       string // this device's ID, sent in the welcome
	Name     string
	Handler  Handler  // direct peers (KindPeer); nil refuses them
	Sessions Sessions // mesh links and guests; nil refuses them
	Log      *slog.Logger
	// MaxGuests caps connections from browsers at once, and PerSource
	// those from one address (one /64 for IPv6); 0 means 160 and 12.
	MaxGuests, PerSource int
	// MaxDaemons caps connections from daemons at once, and
	// PerSourceDaemons those from one address; 0 means 256 and 8. Daemons
	// have their own places, so browsers filling theirs never keep a daemon
	// out.
	MaxDaemons, PerSourceDaemons int
	// HelloWait is how long a new connection has to say hello; 0 means 5 s.
	HelloWait time.Duration
}

// DeviceHeader, on the WebSocket upgrade, says a daemon is connecting: it
// takes a daemon's place and must say a daemon's hello. Browsers cannot set
// it, so a page only ever takes a guest's place.
const DeviceHeader = "Ferry-Device"

// Hub accepts signaling connections from peers. A daemon that connects again
// with the same proven ID replaces its old connection.
type Hub struct {
	cfg      HubConfig
	upgrader websocket.Upgrader
	mu       sync.Mutex
	peers    map[string]*Conn
	guests   pool
	daemons  pool
}

// pool counts connections of one kind, in all and per source address.
type pool struct {
	max, perSource int
	total          int
	bySource       map[netip.Prefix]int
}

func (p *pool) take(src netip.Prefix) error {
	switch {
	case p.total >= p.max:
		return fmt.Errorf("the hub has its limit of %d connections of this kind", p.max)
	case p.bySource[src] >= p.perSource:
		return fmt.Errorf("the hub has its limit of %d connections from %s", p.perSource, src)
	}
	p.total++
	p.bySource[src]++
	return nil
}

func (p *pool) give(src netip.Prefix) {
	p.total--
	if p.bySource[src]--; p.bySource[src] <= 0 {
		delete(p.bySource, src)
	}
}

// Source is the address a connection came from: the host for IPv4, its /64
// for IPv6, where one host can hold a whole prefix.
func Source(remote string) netip.Prefix {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		return netip.PrefixFrom(netip.IPv4Unspecified(), 32) // all unknown sources share one place
	}
	a := ap.Addr().Unmap()
	if a.Is4() {
		return netip.PrefixFrom(a, 32)
	}
	p, _ := a.Prefix(64)
	return p
}

// NewHub returns a hub. It takes everything it hands peers to here, so the
// parts it serves are built before it.
func NewHub(cfg HubConfig) *Hub {
	if cfg.MaxGuests == 0 {
		cfg.MaxGuests = 160
	}
	if cfg.PerSource == 0 {
		cfg.PerSource = 12
	}
	if cfg.MaxDaemons == 0 {
		cfg.MaxDaemons = 256
	}
	if cfg.PerSourceDaemons == 0 {
		cfg.PerSourceDaemons = 8
	}
	if cfg.HelloWait == 0 {
		cfg.HelloWait = 5 * time.Second
	}
	return &Hub{
		cfg:     cfg,
		peers:   make(map[string]*Conn),
		guests:  pool{max: cfg.MaxGuests, perSource: cfg.PerSource, bySource: map[netip.Prefix]int{}},
		daemons: pool{max: cfg.MaxDaemons, perSource: cfg.PerSourceDaemons, bySource: map[netip.Prefix]int{}},
		// The default origin check: a request with an Origin header must
		// come from a page this daemon served (same host and port). Other
		// daemons send none; any other web page is refused.
		upgrader: websocket.Upgrader{},
	}
}

// ErrNotConnected is returned by Send for a peer with no connection.
var ErrNotConnected = errors.New("peer is not connected")

// Send sends m to the current connection of peer id.
func (h *Hub) Send(id string, m Message) error {
	h.mu.Lock()
	c := h.peers[id]
	h.mu.Unlock()
	if c == nil {
		return fmt.Errorf("sending %s to %s: %w", m.Type, id, ErrNotConnected)
	}
	return c.Send(m)
}

// ServeHTTP upgrades the request and serves the peer until it leaves.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	src := Source(r.RemoteAddr)
	daemon := r.Header.Get(DeviceHeader) != ""
	p := &h.guests
	if daemon {
		p = &h.daemons
	}
	h.mu.Lock()
	err := p.take(src)
	h.mu.Unlock()
	if err != nil {
		h.cfg.Log.Debug("Refused signaling connection", "remote", r.RemoteAddr, "err", err)
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	defer func() {
		h.mu.Lock()
		p.give(src)
		h.mu.Unlock()
	}()
	nonce := newNonce()
	ws, err := h.upgrader.Upgrade(w, r, http.Header{challengeHeader: {nonce}, hubHeader: {h.cfg.ID}})
	if err != nil {
		return // the upgrader has answered
	}
	c := newConn(ws)
	defer c.Close()
	stop := context.AfterFunc(r.Context(), func() { c.Close() })
	defer stop()

	// A connection that does not say hello soon holds a place for nothing:
	// close it, however well it answers pings.
	late := time.AfterFunc(h.cfg.HelloWait, func() { c.Close() })
	hello, err := c.Read()
	late.Stop()
	switch {
	case err != nil:
	case hello.Type != TypeHello:
		err = proto.Errorf(proto.CodeBadMessage, "the first message must be hello, not %s", hello.Type)
	case daemon && hello.Kind == KindGuest:
		err = proto.Errorf(proto.CodeBadMessage, "a guest does not send %s", DeviceHeader)
	case !daemon && hello.Kind != KindGuest:
		err = proto.Errorf(proto.CodeBadMessage, "a daemon's connection sends %s", DeviceHeader)
	case hello.Kind == KindPeer || hello.Kind == KindMesh:
		err = verifyHello(hello, nonce, h.cfg.ID)
	}
	if err != nil {
		h.cfg.Log.Debug("Refused signaling peer", "remote", r.RemoteAddr, "err", err)
		c.Refuse(err)
		return
	}
	peer := Peer{ID: hello.From, Name: hello.Name, Kind: hello.Kind, Port: hello.Port}
	welcome := Message{Type: TypeWelcome, From: h.cfg.ID, Name: h.cfg.Name}
	switch hello.Kind {
	case KindProbe:
		c.Send(welcome)
		return
	case KindMesh, KindGuest:
		h.serveSession(peer, c, welcome)
		return
	}
	if h.cfg.Handler == nil {
		c.Refuse(proto.Errorf(proto.CodeBadMessage, "this hub takes no transfer connections"))
		return
	}
	peer.Reply = func(m Message) error { return h.Send(peer.ID, m) }
	// Register before the welcome, so a peer that has its welcome can be
	// reached through Send.
	h.mu.Lock()
	old := h.peers[peer.ID]
	h.peers[peer.ID] = c
	h.mu.Unlock()
	if old != nil {
		h.cfg.Log.Debug("Peer reconnected; closing its old connection", "peer", peer.ID)
		old.Close()
	}
	if err := c.Send(welcome); err != nil {
		return
	}
	defer func() {
		h.mu.Lock()
		if h.peers[peer.ID] == c {
			delete(h.peers, peer.ID)
		}
		h.mu.Unlock()
	}()
	for {
		m, err := c.Read()
		if proto.CodeOf(err) != "" {
			h.cfg.Log.Info("Bad signaling message", "peer", peer.ID, "err", err)
			c.Refuse(err)
			return
		}
		if err != nil {
			return
		}
		h.cfg.Handler.HandleSignal(peer, m)
	}
}

func (h *Hub) serveSession(peer Peer, c *Conn, welcome Message) {
	if h.cfg.Sessions == nil {
		c.Refuse(proto.Errorf(proto.CodeBadMessage, "this hub takes no %s connections", peer.Kind))
		return
	}
	s, err := h.cfg.Sessions.Open(peer, c)
	if err != nil {
		h.cfg.Log.Debug("Refused signaling peer", "peer", peer.ID, "kind", peer.Kind, "err", err)
		c.Refuse(err)
		return
	}
	if err := c.Send(welcome); err != nil {
		s.Close()
		return
	}
	c.Ready()
	s.Started()
	c.Serve(s, h.cfg.Log.With("peer", peer.ID, "kind", peer.Kind))
}

// Peers returns the IDs of connected peers.
func (h *Hub) Peers() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	ids := make([]string, 0, len(h.peers))
	for id := range h.peers {
		ids = append(ids, id)
	}
	return ids
}
