package daemon

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-dev/ferry/daemon/datadir"
	"github.com/ferry-dev/ferry/daemon/identity"
	"github.com/ferry-dev/ferry/daemon/proto"
	"github.com/ferry-dev/ferry/daemon/signal"
	"github.com/ferry-dev/ferry/daemon/transfer"
	"github.com/ferry-dev/ferry/discovery"
)

func startTestDaemon(t *testing.T, name string) *Daemon {
	t.Helper()
	d, _ := runTestDaemon(t, name)
	return d
}

// runTestDaemon starts a daemon and returns it with a function that stops
// it and waits until it has; the test's cleanup stops it too.
func runTestDaemon(t *testing.T, name string) (*Daemon, func()) {
	t.Helper()
	return runTestDaemonIn(t, name, t.TempDir())
}

// runTestDaemonIn is runTestDaemon with the data and downloads folders in dir.
func runTestDaemonIn(t *testing.T, name, dir string) (*Daemon, func()) {
	t.Helper()
	return runTestDaemonWith(t, name, dir, nil)
}

// runTestDaemonWith is runTestDaemonIn with edit applied to the config
// before the daemon is made.
func runTestDaemonWith(t *testing.T, name, dir string, edit func(*Config)) (*Daemon, func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	cfg := Config{
		DataDir: filepath.Join(dir, "data"), Downloads: filepath.Join(dir, "dl"), Name: name,
		Listener: ln, Accept: datadir.AcceptAll, Interfaces: []string{"lo"}, Version: "test",
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Ready: func() { close(ready) },
	}
	if edit != nil {
		edit(&cfg)
	}
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	stop := func() { cancel(); <-done }
	t.Cleanup(stop)
	<-ready
	return d, stop
}

// TestSpoofedDeviceID: a daemon advertises another device's ID. Sending
// to it by name fails on the DTLS fingerprint, nothing is delivered, and
// the address is flagged so it is never used again.
func TestSpoofedDeviceID(t *testing.T) {
	a := startTestDaemon(t, "alpha")
	mallory := startTestDaemon(t, "mallory")
	victim, err := identity.Load(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	lo := netip.MustParseAddr("127.0.0.1")
	a.nearby.Table().See(discovery.Sighting{
		Record: discovery.Record{ID: victim.ID.String(), Name: "victim", Port: mallory.port(), Version: discovery.Version},
		Addrs:  []netip.Addr{lo},
	})
	src := filepath.Join(t.TempDir(), "secret.txt")
	os.WriteFile(src, []byte("for the victim only"), 0o600)

	addr, want, err := a.nearby.Resolve("victim")
	if err != nil || want != victim.ID {
		t.Fatalf("Resolve: %s %v %v", addr, want, err)
	}
	id, err := a.manager.Send(transfer.Direct(addr, want), []string{src})
	if err != nil {
		t.Fatal(err)
	}
	var info transfer.Info
	for info, _ = a.manager.Get(id); !info.State.Final(); info, _ = a.manager.Get(id) {
		<-a.manager.Changed()
	}
	if info.State != transfer.StateFailed || info.Code != proto.CodeIdentityMismatch || !strings.Contains(info.Error, "flagged") {
		t.Fatalf("transfer: %+v", info)
	}
	// The flagged ID cannot link its hub to alpha's either.
	if _, refusal := dialHub(t, a, signal.Message{Kind: signal.KindMesh, From: victim.ID.String(), Name: "victim"}); refusal.Code != proto.CodeIdentity {
		t.Errorf("a mesh link with the flagged ID: got %+v", refusal)
	}
	if entries, _ := os.ReadDir(mallory.cfg.Downloads); len(entries) != 0 {
		t.Fatalf("mallory received %v", entries)
	}
	if _, _, err := a.nearby.Resolve("victim"); err == nil || !strings.Contains(err.Error(), "flagged") {
		t.Fatalf("Resolve after the mismatch: %v", err)
	}
	p, _ := a.nearby.Get(victim.ID)
	if len(p.Flagged) != 1 || p.Flagged[0] != lo {
		t.Fatalf("flagged: %v", p.Flagged)
	}
}

// TestConnectByAddress adds a daemon by address, as on networks that block
// multicast, and finds it remembered in the config.
func TestConnectByAddress(t *testing.T) {
	a := startTestDaemon(t, "alpha")
	b := startTestDaemon(t, "beta")
	addr := b.Addr().String()
	p, err := a.nearby.Connect(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	if p.ID != b.ID().String() || p.Name != "beta" || !p.Manual {
		t.Fatalf("connected peer: %+v", p)
	}
	f, err := a.dir.LoadConfig()
	if err != nil || len(f.Connect) != 1 || f.Connect[0] != addr {
		t.Fatalf("config: %+v %v", f, err)
	}
	if _, err := a.nearby.Connect(context.Background(), a.Addr().String()); err == nil || !strings.Contains(err.Error(), "this daemon") {
		t.Fatalf("connecting to itself: %v", err)
	}
	for _, bad := range []string{"nonsense", "127.0.0.1:0", "127.0.0.1:99999"} {
		if _, err := a.nearby.Connect(context.Background(), bad); err == nil {
			t.Errorf("Connect(%q) succeeded", bad)
		}
	}

	// Trust by name, then untrust by ID prefix.
	tr, err := a.nearby.Trust("beta")
	if err != nil || tr.Code != identity.PairCode(b.ID(), a.ID()) {
		t.Fatalf("trust: %+v %v", tr, err)
	}
	if !a.nearby.Trusts(b.ID()) {
		t.Fatal("beta is not trusted")
	}
	if _, err := a.nearby.Untrust(b.ID().String()[:6]); err != nil || a.nearby.Trusts(b.ID()) {
		t.Fatalf("untrust: %v", err)
	}
}
