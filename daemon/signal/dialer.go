package signal

import (
	"context"
	"errors"
	"sync"
)

// Dialer keeps one outgoing connection per hub address, shared by every
// transfer to it, and hands each transfer the messages for its conn.
// It lives as long as the daemon: Run closes what is left when it stops.
type Dialer struct {
	hello Message
	prove Prover

	mu      sync.Mutex
	conns   map[string]*dialed       // by address
	dialing map[string]chan struct{} // closed when the dial to the address ends
	closed  bool
	wg      sync.WaitGroup // readers
}

// NewDialer returns a Dialer that introduces itself with hello, proving the
// device ID it claims with prove. It can be used at once; Run only ends it.
func NewDialer(hello Message, prove Prover) *Dialer {
	return &Dialer{hello: hello, prove: prove, conns: make(map[string]*dialed), dialing: make(map[string]chan struct{})}
}

// dialed is one connection to a hub and the transfers subscribed to it.
type dialed struct {
	d       *Dialer
	addr    string
	conn    *Conn
	welcome Message

	mu   sync.Mutex
	subs map[string]chan Message // by conn
}

// Subscription is one transfer's share of a dialed connection: it sends on
// the connection and receives the messages addressed to its conn.
type Subscription struct {
	// Welcome is the hub's answer to hello: the device it claims to be.
	Welcome Message
	// C carries the messages for this conn, and errors about the
	// connection itself. It is closed when the connection drops or on
	// Close.
	C <-chan Message

	c    *dialed
	id   string
	ch   chan Message
	once sync.Once
}

// ErrDialerStopped is returned by Open after Run has returned.
var ErrDialerStopped = errors.New("the daemon is shutting down")

// Open returns a subscription for conn on a live connection to the hub at
// addr, dialing if there is none. Close it when done; the connection closes
// with its last subscription.
func (d *Dialer) Open(ctx context.Context, addr, conn string) (*Subscription, error) {
	c, err := d.connection(ctx, addr)
	if err != nil {
		return nil, err
	}
	ch := make(chan Message, 64)
	c.mu.Lock()
	select {
	case <-c.conn.Done():
		close(ch) // dropped meanwhile: the caller sees a lost connection
	default:
		c.subs[conn] = ch
	}
	c.mu.Unlock()
	return &Subscription{Welcome: c.welcome, C: ch, c: c, id: conn, ch: ch}, nil
}

// connection returns the live connection to addr, dialing one if needed.
// One dial to an address at a time: the hub keeps only the newest
// connection of a device, so a second dial would close the first.
func (d *Dialer) connection(ctx context.Context, addr string) (*dialed, error) {
	for {
		d.mu.Lock()
		c := d.liveLocked(addr)
		closed := d.closed
		wait := d.dialing[addr]
		if c == nil && !closed && wait == nil {
			d.dialing[addr] = make(chan struct{})
		}
		d.mu.Unlock()
		switch {
		case closed:
			return nil, ErrDialerStopped
		case c != nil:
			return c, nil
		case wait != nil:
			select {
			case <-wait:
				continue // the other dial ended: use its connection, or dial
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return d.dial(ctx, addr)
	}
}

// dial connects to addr for connection, which has marked it as dialing.
func (d *Dialer) dial(ctx context.Context, addr string) (*dialed, error) {
	conn, welcome, err := Dial(ctx, addr, d.hello, d.prove)
	d.mu.Lock()
	defer d.mu.Unlock()
	close(d.dialing[addr])
	delete(d.dialing, addr)
	switch {
	case err != nil:
		return nil, err
	case d.closed:
		conn.Close()
		return nil, ErrDialerStopped
	}
	c := &dialed{d: d, addr: addr, conn: conn, welcome: welcome, subs: make(map[string]chan Message)}
	d.conns[addr] = c
	d.wg.Go(c.read)
	return c, nil
}

// liveLocked returns the connection to addr if it is still open.
func (d *Dialer) liveLocked(addr string) *dialed {
	c := d.conns[addr]
	if c == nil {
		return nil
	}
	select {
	case <-c.conn.Done():
		return nil
	default:
		return c
	}
}

// Send sends m on the shared connection.
func (s *Subscription) Send(m Message) error { return s.c.conn.Send(m) }

// Close ends the subscription; it is safe to call more than once.
func (s *Subscription) Close() { s.once.Do(func() { s.c.unsubscribe(s.id, s.ch) }) }

func (c *dialed) unsubscribe(id string, ch chan Message) {
	c.mu.Lock()
	if c.subs[id] == ch {
		delete(c.subs, id)
		close(ch)
	}
	idle := len(c.subs) == 0
	c.mu.Unlock()
	if idle {
		c.d.mu.Lock()
		if c.d.conns[c.addr] == c {
			delete(c.d.conns, c.addr)
		}
		c.d.mu.Unlock()
		c.conn.Close()
	}
}

func (c *dialed) read() {
	defer func() {
		c.conn.Close()
		c.mu.Lock()
		for id, ch := range c.subs {
			close(ch)
			delete(c.subs, id)
		}
		c.mu.Unlock()
	}()
	for {
		m, err := c.conn.Read()
		if err != nil {
			return
		}
		c.mu.Lock()
		ch := c.subs[m.Conn]
		if ch == nil && m.Type == TypeError {
			// An error about the connection itself goes to everyone.
			for _, s := range c.subs {
				select {
				case s <- m:
				default:
				}
			}
		} else if ch != nil {
			select {
			case ch <- m:
			default: // a subscriber that does not read loses signaling, not the connection
			}
		}
		c.mu.Unlock()
	}
}

// Run returns when ctx ends, after closing every connection and waiting
// for their readers. Open fails from then on.
func (d *Dialer) Run(ctx context.Context) error {
	<-ctx.Done()
	d.mu.Lock()
	d.closed = true
	conns := make([]*dialed, 0, len(d.conns))
	for addr, c := range d.conns {
		conns = append(conns, c)
		delete(d.conns, addr)
	}
	d.mu.Unlock()
	for _, c := range conns {
		c.conn.Close()
	}
	d.wg.Wait()
	return nil
}
