package signal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
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
	MaxPeers int // connections at once; 0 means 256
}

// Hub accepts signaling connections from peers. A peer that connects again
// with the same ID replaces its old connection.
type Hub struct {
	cfg      HubConfig
	upgrader websocket.Upgrader
	mu       sync.Mutex
	peers    map[string]*Conn
	total    int
}

// NewHub returns a hub. It takes everything it hands peers to here, so the
// parts it serves are built before it.
func NewHub(cfg HubConfig) *Hub {
	if cfg.MaxPeers == 0 {
		cfg.MaxPeers = 256
	}
	return &Hub{
		cfg:   cfg,
		peers: make(map[string]*Conn),
		upgrader: websocket.Upgrader{
			// Peers are other daemons and, later, guest pages of any
			// daemon: the hub is meant to be reached cross-origin and
			// grants nothing but the right to ask.
			CheckOrigin: func(*http.Request) bool { return true },
		},
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

// helloWait is how long a new connection has to say hello.
var helloWait = 5 * time.Second

// ServeHTTP upgrades the request and serves the peer until it leaves.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	full := h.total >= h.cfg.MaxPeers
	if !full {
		h.total++
	}
	h.mu.Unlock()
	if full {
		http.Error(w, "too many peers connected", http.StatusServiceUnavailable)
		return
	}
	defer func() {
		h.mu.Lock()
		h.total--
		h.mu.Unlock()
	}()
	ws, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	c := newConn(ws)
	defer c.Close()
	stop := context.AfterFunc(r.Context(), func() { c.Close() })
	defer stop()

	// A connection that does not say hello soon holds a place for nothing:
	// close it, however well it answers pings.
	late := time.AfterFunc(helloWait, func() { c.Close() })
	hello, err := c.Read()
	late.Stop()
	if err == nil && hello.Type != TypeHello {
		err = proto.Errorf(proto.CodeBadMessage, "the first message must be hello, not %s", hello.Type)
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
