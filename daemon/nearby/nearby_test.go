package nearby

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/ferry-dev/ferry/daemon/datadir"
	"github.com/ferry-dev/ferry/daemon/identity"
	"github.com/ferry-dev/ferry/daemon/signal"
	"github.com/ferry-dev/ferry/discovery"
)

func newID(t *testing.T) identity.ID {
	t.Helper()
	i, err := identity.Load(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return i.ID
}

// hubOf serves a signaling hub that introduces itself as id on loopback
// and returns its address.
func hubOf(t *testing.T, id identity.ID) netip.AddrPort {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle(signal.HubPath, signal.NewHub(signal.HubConfig{ID: id.String(), Name: "hub", Log: slog.New(slog.DiscardHandler)}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return netip.MustParseAddrPort(srv.Listener.Addr().String())
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	return netip.MustParseAddrPort(ln.Addr().String())
}

// announce is a record for device id, called name, at hub.
func announce(id identity.ID, name string, hub netip.AddrPort) discovery.Sighting {
	return discovery.Sighting{
		Record: discovery.Record{ID: id.String(), Name: name, Port: int(hub.Port()), Version: discovery.Version},
		Addrs:  []netip.Addr{hub.Addr()},
	}
}

// TestAnnouncedAddressesAreAsked: records announce a device at its own
// hub, at a hub that introduces itself as another device and at an
// address where nothing answers. Each is asked who it is: the other
// device's hub is flagged for the announced ID only, the silent address
// is tried last, and the device's own hub first; a certificate proven
// there keeps it first.
func TestAnnouncedAddressesAreAsked(t *testing.T) {
	real, mallory := newID(t), newID(t)
	n, err := New(Config{
		Self: newID(t), Name: "alpha", Dir: datadir.New(t.TempDir()), TTL: time.Hour, Redial: time.Hour,
		Log: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { n.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	own, forged, silent := hubOf(t, real), hubOf(t, mallory), closedPort(t)
	n.Table().See(announce(real, "laptop", forged))
	n.Table().See(announce(real, "laptop", silent))
	n.Table().See(announce(real, "laptop", own))
	want := []discovery.Hub{{Addr: own, State: discovery.Answered}, {Addr: silent, State: discovery.Silent}}
	deadline := time.Now().Add(20 * time.Second)
	for {
		changed := n.Changed()
		p, _ := n.Get(real)
		if slices.Equal(p.Hubs, want) && slices.Equal(p.Flagged, []netip.AddrPort{forged}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after asking: hubs %+v, flagged %v; want hubs %+v, %s flagged", p.Hubs, p.Flagged, want, forged)
		}
		select {
		case <-changed:
		case <-time.After(time.Until(deadline)):
		}
	}
	if addr, id, err := n.Resolve("laptop"); err != nil || id != real || addr != own.String() {
		t.Fatalf("Resolve(laptop) = %s %v %v, want %s", addr, id, err, own)
	}

	// A certificate proven at the device's hub; another presented at the
	// silent address flags that one alone.
	n.Remember(own.String(), real)
	n.Mismatch(real, silent.String())
	p, _ := n.Get(real)
	if want := []discovery.Hub{{Addr: own, State: discovery.Proven}}; !slices.Equal(p.Hubs, want) {
		t.Fatalf("hubs %+v, want %+v", p.Hubs, want)
	}
	if addr, err := n.Addr(real); err != nil || addr != own.String() {
		t.Fatalf("Addr = %s %v", addr, err)
	}
	if known, ok := n.Known(own.String()); !ok || known != real {
		t.Fatalf("the book has %v %v at %s", known, ok, own)
	}
	view := n.List()
	flagged := slices.Sorted(slices.Values([]string{forged.String(), silent.String()}))
	if len(view) != 1 || view[0].Address != own.String() || view[0].Port != int(own.Port()) || !slices.Equal(view[0].Addrs, []string{own.String()}) ||
		!slices.Equal(slices.Sorted(slices.Values(view[0].Flagged)), flagged) {
		t.Fatalf("the owner's view: %+v", view)
	}
}
