package transfer

import (
	"context"
	"fmt"

	"github.com/ferry-dev/ferry/daemon/identity"
	"github.com/ferry-dev/ferry/daemon/proto"
	"github.com/ferry-dev/ferry/daemon/signal"
)

// Route is how signaling reaches the peer of an outgoing transfer: Direct
// dials the hub at the peer's address, ThroughMesh sends through the
// signaling mesh to a peer ID. Either way the peer then proves its
// certificate in DTLS; the route decides what it must prove.
//
// The methods are unexported because a route works with the manager's
// insides; Direct and ThroughMesh are the routes there are.
type Route interface {
	// open starts signaling for one session of transfer conn.
	open(ctx context.Context, m *Manager, conn string) (*signaling, error)
	// describe returns the hub address (Info.Addr, "" through the mesh),
	// the peer as far as it is known before it answers (Info.Peer and
	// Info.PeerKind, "" when unknown), and a name for people.
	describe() (addr, peer, kind, label string)
}

// signaling is one session's way to its peer.
type signaling struct {
	send func(signal.Message) error
	// in carries the peer's messages for this conn; it is closed when the
	// route drops (a dialed hub connection that closed).
	in <-chan signal.Message
	// verify checks the fingerprint the answer's SDP gives, which DTLS
	// then holds the peer to, and records who answered in o.
	verify func(o *outgoing, fp fingerprint) error
	close  func()
}

// Direct is the route to the hub at addr ("host:port"), the way a daemon
// found by discovery or added by address is reached. With want set the
// daemon there must prove it is that device, or the transfer fails with
// code identity-mismatch and Config.Mismatch is told; without, the device
// must be the one seen at addr before (Config.Peers), or the transfer fails
// with identity-changed.
func Direct(addr string, want identity.ID) Route { return direct{addr: addr, want: want} }

type direct struct {
	addr string
	want identity.ID
}

func (r direct) describe() (addr, peer, kind, label string) {
	return r.addr, "", KindDaemon, r.addr
}

func (r direct) open(ctx context.Context, m *Manager, conn string) (*signaling, error) {
	return r.dial(ctx, m, conn, false)
}

// dial starts signaling through the hub at r.addr. With moved, the device
// r.want is being looked for where it may have gone: a hub there that
// introduces itself as another device is not the one (an address that
// answered as r.want before may belong to another daemon now), and dial
// fails without going further. Otherwise that device's certificate
// decides, in check.
func (r direct) dial(ctx context.Context, m *Manager, conn string, moved bool) (*signaling, error) {
	sub, err := m.cfg.Dialer.Open(ctx, r.addr, conn)
	if err != nil {
		return nil, err
	}
	if moved && sub.Welcome.From != r.want.String() {
		sub.Close()
		return nil, fmt.Errorf("%s is another device now", r.addr)
	}
	return &signaling{
		send:  sub.Send,
		in:    sub.C,
		close: sub.Close,
		verify: func(o *outgoing, fp fingerprint) error {
			id, err := fp.deviceID()
			if err != nil {
				return err
			}
			return r.check(o, id, sub.Welcome)
		},
	}, nil
}

// check compares the device ID the answer proves with the ID the hub
// introduced itself with, the ID discovered at the address (want), and the
// ID seen at the address before.
func (r direct) check(o *outgoing, id identity.ID, welcome signal.Message) error {
	m := o.m
	if claimed, err := identity.ParseID(welcome.From); err != nil || claimed != id {
		return &endError{StateFailed, proto.CodeBadMessage, fmt.Sprintf("%s answered with a certificate that does not match the device ID it announced", r.addr)}
	}
	if !r.want.IsZero() && id != r.want {
		if m.cfg.Mismatch != nil {
			m.cfg.Mismatch(r.want, r.addr)
		}
		return &endError{StateFailed, proto.CodeIdentityMismatch, fmt.Sprintf("%s was discovered as device %s but answered as %s; that address is flagged for that device and skipped",
			r.addr, r.want.Short(), id.Short())}
	}
	if r.want.IsZero() {
		o.mu.Lock()
		prev, _ := identity.ParseID(o.peer)
		o.mu.Unlock()
		if known, ok := m.cfg.Peers.Known(r.addr); ok && known != id {
			prev = known
		}
		if !prev.IsZero() && prev != id {
			return &endError{StateFailed, proto.CodeIdentityChanged, fmt.Sprintf("%v: %s was %s and is now %s; if that device was reset, remove it from the known peers (ferry forget %s) and send again",
				ErrIdentityChanged, r.addr, prev.Short(), id.Short(), r.addr)}
		}
	}
	if err := m.cfg.Peers.Remember(r.addr, id); err != nil {
		m.cfg.Log.Warn("Cannot remember peer", "addr", r.addr, "err", err)
	}
	o.set(func() { o.peer, o.peerName, o.peerKind, o.addr = id.String(), welcome.Name, KindDaemon, r.addr })
	return nil
}

// Sender sends a signaling message to a peer anywhere in the mesh; the
// mesh (*mesh.Mesh) is one.
type Sender interface {
	Send(to string, m signal.Message) error
}

// ThroughMesh is the route to peer (a daemon's device ID or a guest's
// client ID) through the signaling mesh: messages go out through via, and
// the peer's answers come back when the mesh delivers them to
// Manager.HandleSignal. A peer whose ID is a device ID must prove that ID
// with its certificate, or the transfer fails with code identity-mismatch;
// a guest proves nothing, and its certificate's fingerprint is recorded.
func ThroughMesh(via Sender, peer string) Route { return meshRoute{via: via, peer: peer} }

type meshRoute struct {
	via  Sender
	peer string
}

func (r meshRoute) describe() (addr, peer, kind, label string) {
	if id, err := identity.ParseID(r.peer); err == nil {
		return "", r.peer, KindDaemon, id.Short()
	}
	return "", r.peer, KindGuest, r.peer
}

// meshWait is an outgoing session waiting for its peer's messages.
type meshWait struct {
	ch   chan signal.Message
	from signal.Peer // who sent the latest message; guarded by Manager.mu
}

func waitKey(peer, conn string) string { return peer + "/" + conn }

func (r meshRoute) open(_ context.Context, m *Manager, conn string) (*signaling, error) {
	key := waitKey(r.peer, conn)
	w := &meshWait{ch: make(chan signal.Message, 64)}
	m.mu.Lock()
	m.waits[key] = w
	m.mu.Unlock()
	return &signaling{
		send: func(msg signal.Message) error { return r.via.Send(r.peer, msg) },
		in:   w.ch,
		close: func() {
			m.mu.Lock()
			if m.waits[key] == w {
				delete(m.waits, key)
			}
			m.mu.Unlock()
		},
		verify: func(o *outgoing, fp fingerprint) error {
			m.mu.Lock()
			from := w.from
			m.mu.Unlock()
			return r.check(o, fp, from)
		},
	}, nil
}

func (r meshRoute) check(o *outgoing, fp fingerprint, from signal.Peer) error {
	kind := KindGuest
	if want, err := identity.ParseID(r.peer); err == nil {
		if id, err := fp.deviceID(); err != nil || id != want {
			other := fp.String()
			if err == nil {
				other = "that of device " + id.Short()
			}
			return &endError{StateFailed, proto.CodeIdentityMismatch, fmt.Sprintf("device %s answered through the mesh with a certificate that is not its own (%s)", want.Short(), other)}
		}
		if from.Kind != signal.KindGuest {
			kind = KindDaemon
		}
	}
	o.set(func() { o.peerName, o.peerKind = from.Name, kind })
	return nil
}

// toSender hands a message from the mesh to the outgoing session waiting
// for it, if any; messages for no one are dropped. It never blocks the
// mesh: a session that does not read loses signaling.
func (m *Manager) toSender(from signal.Peer, msg signal.Message) {
	m.mu.Lock()
	defer m.mu.Unlock()
	w := m.waits[waitKey(from.ID, msg.Conn)]
	if w == nil {
		return
	}
	w.from = from
	select {
	case w.ch <- msg:
	default:
	}
}
