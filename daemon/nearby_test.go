package daemon

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

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

// TestSpoofedDeviceID: a daemon advertises another device's ID. A send
// that reaches it fails on the DTLS fingerprint and delivers nothing; the
// address is flagged for that ID (if asking it who it is did not flag it
// first), which leaves the ID with no address to send to. The device the
// ID belongs to still links its hub, proving its ID: a flag is never on
// the ID itself.
func TestSpoofedDeviceID(t *testing.T) {
	a := startTestDaemon(t, "alpha")
	mallory := startTestDaemon(t, "mallory")
	victim, err := identity.Load(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	hub := netip.MustParseAddrPort(mallory.Addr().String())
	a.nearby.Table().See(discovery.Sighting{
		Record: discovery.Record{ID: victim.ID.String(), Name: "victim", Port: int(hub.Port()), Version: discovery.Version},
		Addrs:  []netip.Addr{hub.Addr()},
	})
	src := filepath.Join(t.TempDir(), "secret.txt")
	os.WriteFile(src, []byte("for the victim only"), 0o600)

	info := sendFile(t, a, transfer.Direct(hub.String(), victim.ID), src)
	if info.State != transfer.StateFailed || info.Code != proto.CodeIdentityMismatch || !strings.Contains(info.Error, "flagged") {
		t.Fatalf("transfer: %+v", info)
	}
	if entries, _ := os.ReadDir(mallory.cfg.Downloads); len(entries) != 0 {
		t.Fatalf("mallory received %v", entries)
	}
	if _, _, err := a.nearby.Resolve("victim"); err == nil || !strings.Contains(err.Error(), "flagged") {
		t.Fatalf("Resolve after the mismatch: %v", err)
	}
	p, _ := a.nearby.Get(victim.ID)
	if len(p.Hubs) != 0 || !slices.Equal(p.Flagged, []netip.AddrPort{hub}) {
		t.Fatalf("victim in alpha's table: %+v", p)
	}
	if _, welcome := dialHubAs(t, a, victim, signal.Message{Kind: signal.KindMesh, From: victim.ID.String(), Name: "victim"}); welcome.Type != signal.TypeWelcome {
		t.Errorf("a mesh link proving the victim's ID: got %+v", welcome)
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

// replayBackend is a discovery backend that announces nothing and answers
// every browse with the same records, in order, then tells reported.
type replayBackend struct {
	records  []discovery.Found
	reported chan struct{}
}

func (replayBackend) Announce(discovery.Announcement) (func(), error) {
	return func() {}, nil
}

func (b replayBackend) Browse(ctx context.Context, _ []net.Interface, found func(discovery.Found)) error {
	for _, f := range b.records {
		found(f)
	}
	select {
	case b.reported <- struct{}{}:
	default:
	}
	<-ctx.Done()
	return nil
}

// record is the answer to a browse that announces device id, called
// name, at hub.
func record(id identity.ID, name string, hub netip.AddrPort) discovery.Found {
	r := discovery.Record{ID: id.String(), Name: name, Port: int(hub.Port()), Version: discovery.Version}
	return discovery.Found{Instance: r.Instance(), Port: r.Port, TXT: r.TXT(), Addrs: []net.IP{hub.Addr().AsSlice()}}
}

// sendFile sends one file over route and waits until the transfer ends.
func sendFile(t *testing.T, d *Daemon, route transfer.Route, path string) transfer.Info {
	t.Helper()
	id, err := d.manager.Send(route, []string{path})
	if err != nil {
		t.Fatal(err)
	}
	return awaitTransfer(t, d, id)
}

// TestForgedRecordKeepsRealDevice: while a forger announces the real
// daemon's ID, name and version at its own hub, every browse answered with
// the real record first and the forged one last, sends to the real daemon by
// name keep arriving. The forged hub answers as another device, so it is
// flagged for that ID; a send that reaches it anyway fails on the
// certificate and flags nothing else: the real daemon stays reachable.
func TestForgedRecordKeepsRealDevice(t *testing.T) {
	beta := startTestDaemon(t, "beta")
	mallory := startTestDaemon(t, "mallory")
	real := netip.MustParseAddrPort(beta.Addr().String())
	forged := netip.MustParseAddrPort(mallory.Addr().String())
	b := replayBackend{
		records:  []discovery.Found{record(beta.ID(), "beta", real), record(beta.ID(), "beta", forged)},
		reported: make(chan struct{}, 1),
	}
	alpha, _ := runTestDaemonWith(t, "alpha", t.TempDir(), func(c *Config) {
		c.Discovery, c.DiscoveryCycle = b, 300*time.Millisecond
	})
	dir := t.TempDir()
	send := func(name string) {
		t.Helper()
		// The forged record is the latest answer when the send starts.
		<-b.reported
		<-b.reported
		src := filepath.Join(dir, name)
		os.WriteFile(src, []byte("for beta: "+name), 0o600)
		addr, want, err := alpha.nearby.Resolve("beta")
		if err != nil || want != beta.ID() || addr != real.String() {
			t.Fatalf("Resolve(beta) = %s %v %v, want %s", addr, want, err, real)
		}
		if info := sendFile(t, alpha, transfer.Direct(addr, want), src); info.State != transfer.StateDone {
			t.Fatalf("sending %s to beta: %+v", name, info)
		}
		if got, err := os.ReadFile(filepath.Join(beta.cfg.Downloads, name)); err != nil || string(got) != "for beta: "+name {
			t.Fatalf("beta received %q, %v", got, err)
		}
	}
	send("one.txt")

	// The forged hub was asked who it is and is flagged for beta's ID.
	deadline := time.Now().Add(15 * time.Second)
	for {
		changed := alpha.nearby.Changed()
		p, _ := alpha.nearby.Get(beta.ID())
		if slices.Contains(p.Flagged, forged) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the forged hub %s is not flagged for beta: %+v", forged, p)
		}
		select {
		case <-changed:
		case <-time.After(time.Until(deadline)):
		}
	}
	send("two.txt")

	// A forger whose hub passes as beta's is caught by the certificate;
	// the flag it earns is for its own address only.
	if info := sendFile(t, alpha, transfer.Direct(forged.String(), beta.ID()), filepath.Join(dir, "one.txt")); info.State != transfer.StateFailed || info.Code != proto.CodeIdentityMismatch {
		t.Fatalf("sending to the forged hub: %+v", info)
	}
	send("three.txt")

	p, _ := alpha.nearby.Get(beta.ID())
	want := []discovery.Hub{{Addr: real, State: discovery.Proven}}
	if !slices.Equal(p.Hubs, want) || !slices.Equal(p.Flagged, []netip.AddrPort{forged}) || p.Name != "beta" {
		t.Fatalf("beta in alpha's table: %+v, want hubs %+v and %s flagged", p, want, forged)
	}
	if entries, _ := os.ReadDir(mallory.cfg.Downloads); len(entries) != 0 {
		t.Fatalf("mallory received %v", entries)
	}
}
