package signal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/ferry-dev/ferry/daemon/proto"
	"github.com/gorilla/websocket"
)

// Transport carries a Conn's messages: a WebSocket (the hub's and a
// dialer's connections) or a paired WebRTC data channel (package pair).
// Each message is one JSON text; the transport keeps its own liveness.
type Transport interface {
	// ReadMessage returns the next message. A *proto.Error means the peer
	// sent something that is not a signaling message (too large, binary);
	// any other error means the transport is gone.
	ReadMessage() ([]byte, error)
	// WriteMessage sends one message; Conn calls it from one goroutine at
	// a time.
	WriteMessage(b []byte) error
	// Close ends the transport; code is the wire code of a refusal, ""
	// for a normal end. Conn calls it once.
	Close(code string)
	// RemoteAddr is the peer's network address.
	RemoteAddr() net.Addr
}

// Conn is one transport carrying signaling messages. Send may be called
// from any goroutine; Read from one.
type Conn struct {
	t     Transport
	wmu   sync.Mutex
	once  sync.Once
	done  chan struct{}
	qonce sync.Once
	queue chan Message
	ronce sync.Once
	ready chan struct{} // closed once queued messages may go out
}

// queueLen is how far a peer may fall behind queued messages before it is
// disconnected.
const queueLen = 256

// NewConn returns a Conn over t.
func NewConn(t Transport) *Conn {
	return &Conn{t: t, done: make(chan struct{}), ready: make(chan struct{})}
}

// Send writes one message.
func (c *Conn) Send(m Message) error {
	m.V = Version
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", m.Type, err)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.t.WriteMessage(b); err != nil {
		return fmt.Errorf("sending %s: %w", m.Type, err)
	}
	return nil
}

// Queue sends m after every message queued before it, without waiting for
// the network. A peer that falls queueLen messages behind is disconnected.
// Use either Queue or Send for a connection's messages, not both: only
// queued messages keep their order.
func (c *Conn) Queue(m Message) error {
	c.qonce.Do(func() {
		c.queue = make(chan Message, queueLen)
		go c.drain()
	})
	select {
	case <-c.done:
		return net.ErrClosed
	default:
	}
	select {
	case c.queue <- m:
		return nil
	default:
		// Say why before hanging up, past the full queue, without holding
		// up the caller on a peer that reads this slowly.
		go c.Refuse(proto.Errorf(proto.CodeBusy, "this connection fell %d messages behind; reconnect", queueLen))
		return errors.New("the peer fell too far behind; disconnected")
	}
}

// Ready lets queued messages go out. A hub calls it once its welcome is
// sent, so nothing queued for a new peer meanwhile overtakes the welcome.
func (c *Conn) Ready() { c.ronce.Do(func() { close(c.ready) }) }

func (c *Conn) drain() {
	select {
	case <-c.done:
		return
	case <-c.ready:
	}
	for {
		select {
		case <-c.done:
			return
		case m := <-c.queue:
			if c.Send(m) != nil {
				c.Close()
				return
			}
		}
	}
}

// Read returns the next message. A *proto.Error means the peer sent
// something invalid; any other error means the connection is gone.
func (c *Conn) Read() (Message, error) {
	b, err := c.t.ReadMessage()
	if err != nil {
		return Message{}, err
	}
	return Decode(b)
}

// Serve reads messages into s until the connection ends, then closes s. A
// message of a type this side does not know is answered with an error and
// skipped, so newer peers can add types; any other bad message closes the
// connection.
func (c *Conn) Serve(s Session, log *slog.Logger) {
	defer s.Close()
	for {
		m, err := c.Read()
		var pe *proto.Error
		switch {
		case errors.As(err, &pe) && pe.Code == proto.CodeUnknownType:
			c.Send(Message{Type: TypeError, Code: pe.Code, Text: pe.Text})
			continue
		case pe != nil:
			log.Info("Bad signaling message", "err", err)
			c.Refuse(err)
			return
		case err != nil:
			return
		}
		s.Handle(m)
	}
}

// Refuse sends an error for a refused message, then closes the connection
// with the matching WebSocket close code.
func (c *Conn) Refuse(err error) {
	code := proto.CodeOf(err)
	if code == "" {
		code = proto.CodeBadMessage
	}
	text := err.Error()
	var pe *proto.Error
	if errors.As(err, &pe) {
		text = pe.Text // without what the error was wrapped in on the way
	}
	c.Send(Message{Type: TypeError, Code: code, Text: text})
	c.closeWith(code)
}

// Close closes the connection; it is safe to call more than once.
func (c *Conn) Close() error {
	c.closeWith("")
	return nil
}

func (c *Conn) closeWith(code string) {
	c.once.Do(func() {
		close(c.done)
		c.wmu.Lock()
		defer c.wmu.Unlock()
		c.t.Close(code)
	})
}

// Done is closed when the connection is closed.
func (c *Conn) Done() <-chan struct{} { return c.done }

// RemoteAddr returns the peer's network address.
func (c *Conn) RemoteAddr() net.Addr { return c.t.RemoteAddr() }

// Dial connects to the hub at addr ("host:port"), says hello and waits for the
// welcome, which names the remote device. A daemon's hello (KindPeer or
// KindMesh) carries prove's signature of the hub's challenge, which proves
// the device ID in hello.From; a probe needs none and passes nil.
func Dial(ctx context.Context, addr string, hello Message, prove Prover) (*Conn, Message, error) {
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	ws, resp, err := d.DialContext(ctx, "ws://"+addr+HubPath, http.Header{DeviceHeader: {hello.From}})
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		return nil, Message{}, fmt.Errorf("connecting to %s: %w", addr, err)
	}
	hello.Type = TypeHello
	if prove != nil {
		if err := Prove(&hello, resp.Header, prove); err != nil {
			ws.Close()
			return nil, Message{}, err
		}
	}
	c := newConn(ws)
	if err := c.Send(hello); err != nil {
		c.Close()
		return nil, Message{}, err
	}
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	m, err := c.Read()
	if err != nil {
		c.Close()
		return nil, Message{}, fmt.Errorf("greeting %s: %w", addr, err)
	}
	switch m.Type {
	case TypeWelcome:
		c.Ready()
		return c, m, nil
	case TypeError:
		c.Close()
		return nil, Message{}, fmt.Errorf("%s refused the connection: %s", addr, m.Text)
	default:
		c.Close()
		return nil, Message{}, fmt.Errorf("greeting %s: expected welcome, got %s", addr, m.Type)
	}
}
