package transfer

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/ferry-dev/ferry/daemon/identity"
	"github.com/ferry-dev/ferry/daemon/signal"
)

// A direct transfer follows its device, not its address. A receiver that
// restarts may come back on another port (--port 0) or another address
// (DHCP, another network); discovery and the mesh learn where within
// seconds, and every new session asks them where the device is now.

// open starts signaling for one session. The first sessions of a transfer
// go where the owner sent it (Route). Once the transfer has reached its
// peer (follow), or was taken up after a restart, a direct transfer whose
// device ID is known (the one it was sent to, or the one that answered
// its first session) dials where the nearby table has that device now
// (Config.Locate, best first), then the address it last reached it at, and
// when none of them answers as the device, asks the mesh to carry the
// signaling to it (Config.Relay).
func (o *outgoing) open(ctx context.Context, follow bool) (*signaling, error) {
	r, ok := o.route.(direct)
	id := o.device()
	if !ok || !follow || id.IsZero() {
		return o.route.open(ctx, o.m, o.id)
	}
	o.mu.Lock()
	last := o.addr
	o.mu.Unlock()
	var addrs []string
	if o.m.cfg.Locate != nil {
		addrs = o.m.cfg.Locate(id)
	}
	if last == "" {
		last = r.addr
	}
	if !slices.Contains(addrs, last) {
		addrs = append(addrs, last)
	}
	var errs []error
	for _, addr := range addrs {
		sig, err := direct{addr: addr, want: id}.dial(ctx, o.m, o.id, true)
		if err == nil {
			if addr != last {
				o.m.cfg.Log.Info("Following the receiver to another address", "transfer", o.id, "device", id.Short(), "from", last, "to", addr)
			}
			return sig, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		errs = append(errs, err)
	}
	dialErr := errors.Join(errs...)
	if o.m.cfg.Relay == nil {
		return nil, dialErr
	}
	sig, err := meshRoute{via: o.m.cfg.Relay, peer: id.String()}.open(ctx, o.m, o.id)
	if err != nil {
		return nil, errors.Join(dialErr, err)
	}
	// Whether the mesh reaches the device shows when the offer goes out;
	// if it does not, say why no address did either.
	send := sig.send
	sig.send = func(m signal.Message) error {
		if err := send(m); err != nil {
			return fmt.Errorf("%w; through the mesh: %w", dialErr, err)
		}
		return nil
	}
	return sig, nil
}

// device returns the device ID of a direct transfer's peer once it is
// known: the one it was sent to, or the one that proved itself in a
// session. It is zero before, and for other routes.
func (o *outgoing) device() identity.ID {
	r, ok := o.route.(direct)
	if !ok {
		return identity.ID{}
	}
	if !r.want.IsZero() {
		return r.want
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	id, _ := identity.ParseID(o.peer)
	return id
}

// saveIfMoved saves the transfer for a restart again when the address it
// reached its device at, or the device, is not the one saved, and at each
// session of a transfer to a guest, whose certificate (proven just before)
// is saved with it.
func (o *outgoing) saveIfMoved() {
	o.mu.Lock()
	moved := o.addr != o.savedAddr || o.peer != o.savedPeer
	o.mu.Unlock()
	if _, mesh := o.route.(meshRoute); moved || mesh {
		o.save()
	}
}
