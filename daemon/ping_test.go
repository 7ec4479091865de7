package daemon

import (
	"testing"

	"github.com/ferry-dev/ferry/daemon/signal"
)

// TestGuestPing: a guest's ping is answered with a pong, which is how a
// page learns that its connection to the hub is still alive.
func TestGuestPing(t *testing.T) {
	d, _ := runTestDaemon(t, "alpha")
	g := dialGuest(t, d, "g-pinging-guest", "phone")
	g.send(signal.Message{Type: signal.TypePing})
	g.await("a pong", isType(signal.TypePong))
}
