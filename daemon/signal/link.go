package signal

import (
	"context"
	"sync"
)

// Links keeps one outgoing connection per remote address, shared by every
// transfer to it, and routes incoming messages by their conn field.
type Links struct {
	hello Message
	mu    sync.Mutex
	links map[string]*Link
}

// NewLinks returns a link pool that introduces itself with hello.
func NewLinks(hello Message) *Links {
	return &Links{hello: hello, links: make(map[string]*Link)}
}

// Link is a shared connection to one hub.
type Link struct {
	pool    *Links
	addr    string
	conn    *Conn
	Welcome Message
	mu      sync.Mutex
	subs    map[string]chan Message
}

// Open returns a live link to addr, dialing if there is none, and subscribes
// connID to it. Messages for connID arrive on the channel, which is closed when
// the link drops. Call the returned function when done.
func (p *Links) Open(ctx context.Context, addr, connID string) (*Link, <-chan Message, func(), error) {
	p.mu.Lock()
	l := p.links[addr]
	if l != nil {
		select {
		case <-l.conn.Done():
			l = nil
		default:
		}
	}
	p.mu.Unlock()
	if l == nil {
		c, welcome, err := Dial(ctx, addr, p.hello)
		if err != nil {
			return nil, nil, nil, err
		}
		l = &Link{pool: p, addr: addr, conn: c, Welcome: welcome, subs: make(map[string]chan Message)}
		p.mu.Lock()
		if old := p.links[addr]; old != nil {
			old.conn.Close()
		}
		p.links[addr] = l
		p.mu.Unlock()
		go l.read()
	}
	ch := make(chan Message, 64)
	l.mu.Lock()
	select {
	case <-l.conn.Done():
		close(ch)
	default:
		l.subs[connID] = ch
	}
	l.mu.Unlock()
	return l, ch, func() { l.unsubscribe(connID, ch) }, nil
}

func (l *Link) unsubscribe(connID string, ch chan Message) {
	l.mu.Lock()
	if l.subs[connID] == ch {
		delete(l.subs, connID)
		close(ch)
	}
	idle := len(l.subs) == 0
	l.mu.Unlock()
	if idle {
		l.pool.mu.Lock()
		if l.pool.links[l.addr] == l {
			delete(l.pool.links, l.addr)
		}
		l.pool.mu.Unlock()
		l.conn.Close()
	}
}

func (l *Link) read() {
	defer func() {
		l.conn.Close()
		l.mu.Lock()
		for id, ch := range l.subs {
			close(ch)
			delete(l.subs, id)
		}
		l.mu.Unlock()
	}()
	for {
		m, err := l.conn.Read()
		if err != nil {
			return
		}
		l.mu.Lock()
		ch := l.subs[m.Conn]
		if ch == nil && m.Type == TypeError {
			// An error about the link itself goes to everyone.
			for _, c := range l.subs {
				select {
				case c <- m:
				default:
				}
			}
		} else if ch != nil {
			select {
			case ch <- m:
			default: // a subscriber that does not read loses signaling, not the link
			}
		}
		l.mu.Unlock()
	}
}

// Send sends m on the link.
func (l *Link) Send(m Message) error { return l.conn.Send(m) }

// Close closes every link.
func (p *Links) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for addr, l := range p.links {
		l.conn.Close()
		delete(p.links, addr)
	}
}
