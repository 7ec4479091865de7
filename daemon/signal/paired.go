package signal

import (
	"time"

	"github.com/ferry-dev/ferry/daemon/proto"
)

// ServeGuest serves a guest whose connection came another way than the
// hub's WebSocket: a data channel of a pairing (package pair), over which
// a browser speaks the hub protocol as it would on /ws. The guest must say
// hello as a guest with the ID it paired as (want); from then on it is a
// guest like any other, in the same pool of places. ServeGuest returns when
// the connection ends, and closes c.
func (h *Hub) ServeGuest(c *Conn, want string) {
	defer c.Close()
	src := Source(c.RemoteAddr().String())
	h.mu.Lock()
	err := h.guests.take(src)
	h.mu.Unlock()
	if err != nil {
		h.cfg.Log.Debug("Refused paired guest", "remote", c.RemoteAddr(), "err", err)
		c.Refuse(proto.Errorf(proto.CodeTooMany, "%v", err))
		return
	}
	defer func() {
		h.mu.Lock()
		h.guests.give(src)
		h.mu.Unlock()
	}()
	late := time.AfterFunc(h.cfg.HelloWait, func() { c.Close() })
	hello, err := c.Read()
	late.Stop()
	switch {
	case err != nil:
	case hello.Type != TypeHello:
		err = proto.Errorf(proto.CodeBadMessage, "the first message must be hello, not %s", hello.Type)
	case hello.Kind != KindGuest:
		err = proto.Errorf(proto.CodeBadMessage, "a paired browser says hello as a guest")
	case hello.From != want:
		err = proto.Errorf(proto.CodeIdentity, "the hello is from %s, but the pairing was with %s", hello.From, want)
	}
	if err != nil {
		h.cfg.Log.Debug("Refused paired guest", "remote", c.RemoteAddr(), "err", err)
		if proto.CodeOf(err) != "" {
			c.Refuse(err)
		}
		return
	}
	peer := Peer{ID: hello.From, Name: hello.Name, Kind: KindGuest}
	h.serveSession(peer, c, Message{Type: TypeWelcome, From: h.cfg.ID, Name: h.cfg.Name})
}
