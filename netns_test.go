package main

import (
	"bufio"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-dev/ferry/daemon/api"
)

// lan is a set of network namespaces joined by a bridge: a LAN on this
// machine that only the test's daemons use.
type lan struct {
	t      *testing.T
	prefix string
	sw     string // the namespace that holds the bridge
	hosts  []string
}

// newLAN creates n hosts, 10.77.0.1 to 10.77.0.n on eth0, each in its own
// namespace, on one bridge in a further namespace. Everything is removed
// when the test ends. It skips the test where namespaces cannot be made.
func newLAN(t *testing.T, n int) *lan {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipped: creating network namespaces needs root (CI runs these tests as root)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("skipped: iproute2's ip command is not installed")
	}
	l := &lan{t: t, prefix: fmt.Sprintf("fy%d", os.Getpid()%100000)}
	l.sw = l.prefix + "sw"
	if err := exec.Command("ip", "netns", "add", l.sw).Run(); err != nil {
		t.Skipf("skipped: cannot create a network namespace here: %v", err)
	}
	t.Cleanup(func() {
		for _, ns := range append([]string{l.sw}, l.hosts...) {
			exec.Command("ip", "netns", "del", ns).Run()
		}
	})
	l.ip(l.sw, "link", "add", "br0", "type", "bridge")
	l.ip(l.sw, "link", "set", "br0", "up")
	for i := 1; i <= n; i++ {
		host := fmt.Sprintf("%sh%d", l.prefix, i)
		l.ip("", "netns", "add", host)
		l.hosts = append(l.hosts, host)
		port := fmt.Sprintf("p%d", i)
		l.ip(l.sw, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", host)
		l.ip(l.sw, "link", "set", port, "master", "br0")
		l.ip(l.sw, "link", "set", port, "up")
		l.ip(host, "link", "set", "lo", "up")
		l.ip(host, "addr", "add", fmt.Sprintf("10.77.0.%d/24", i), "dev", "eth0")
		l.ip(host, "link", "set", "eth0", "up")
		l.ip(host, "route", "add", "224.0.0.0/4", "dev", "eth0")
	}
	return l
}

// ip runs an ip command, in namespace ns unless it is "".
func (l *lan) ip(ns string, args ...string) {
	l.t.Helper()
	if ns != "" {
		args = append([]string{"-n", ns}, args...)
	}
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		l.t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// nsDaemon is a ferry run process in a namespace, with its log lines.
type nsDaemon struct {
	t         *testing.T
	ns, name  string
	dir, dl   string
	cmd       *exec.Cmd
	lines     chan string
	mu        sync.Mutex
	log       strings.Builder
	done      chan struct{}
	bin, data string
}

func startIn(t *testing.T, bin, ns, name, dir string, extra ...string) *nsDaemon {
	t.Helper()
	d := &nsDaemon{t: t, ns: ns, name: name, dir: dir, dl: filepath.Join(dir, "downloads"), bin: bin,
		data: filepath.Join(dir, "data"), lines: make(chan string, 1024), done: make(chan struct{})}
	args := append([]string{"netns", "exec", ns, bin, "run", "--data-dir", d.data, "--downloads", d.dl,
		"--name", name, "--discovery-interval", "1s", "--log-level", "debug"}, extra...)
	d.cmd = exec.Command("ip", args...)
	stderr, _ := d.cmd.StderrPipe()
	d.cmd.Stdout = io.Discard
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(d.done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			d.mu.Lock()
			d.log.WriteString(sc.Text() + "\n")
			d.mu.Unlock()
			select {
			case d.lines <- sc.Text():
			default:
			}
		}
	}()
	t.Cleanup(d.stop)
	return d
}

func (d *nsDaemon) stop() {
	if d.cmd.ProcessState != nil {
		return
	}
	d.cmd.Process.Signal(os.Interrupt)
	<-d.done
	d.cmd.Wait()
}

// await reads the daemon's log until a line has every one of parts, or
// fails the test after a deadline.
func (d *nsDaemon) await(what string, parts ...string) {
	d.t.Helper()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	for {
		select {
		case line := <-d.lines:
			ok := true
			for _, p := range parts {
				ok = ok && strings.Contains(line, p)
			}
			if ok {
				return
			}
		case <-deadline.C:
			d.mu.Lock()
			defer d.mu.Unlock()
			d.t.Fatalf("%s: no %s within 30 s; log:\n%s", d.name, what, d.log.String())
		}
	}
}

// awaitEach waits until the log has, for every entry of each, a line with
// both common and that entry, in whatever order they came.
func (d *nsDaemon) awaitEach(what, common string, each []string) {
	d.t.Helper()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	for {
		d.mu.Lock()
		lines := strings.Split(d.log.String(), "\n")
		d.mu.Unlock()
		missing := slices.DeleteFunc(slices.Clone(each), func(e string) bool {
			return slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, common) && strings.Contains(l, e) })
		})
		if len(missing) == 0 {
			return
		}
		select {
		case <-d.lines:
		case <-deadline.C:
			d.t.Fatalf("%s: no %s of %v within 30 s; log:\n%s", d.name, what, missing, strings.Join(lines, "\n"))
		}
	}
}

// cli runs a client command against the daemon, inside its namespace.
func (d *nsDaemon) cli(args ...string) (string, error) {
	args = append([]string{"netns", "exec", d.ns, d.bin, args[0], "--data-dir", d.data}, args[1:]...)
	out, err := exec.Command("ip", args...).CombinedOutput()
	return string(out), err
}

// TestNamespacesDiscoverTrustSend runs three daemons, each in its own
// network namespace on one bridge, with real mDNS between them.
func TestNamespacesDiscoverTrustSend(t *testing.T) {
	l := newLAN(t, 3)
	bin := buildFerry(t)
	names := []string{"alpha", "beta", "gamma"}
	var ds []*nsDaemon
	for i, name := range names {
		ds = append(ds, startIn(t, bin, l.hosts[i], name, t.TempDir(), "--accept", "trusted"))
	}
	alpha, beta, gamma := ds[0], ds[1], ds[2]

	// Each discovers the other two.
	for _, d := range ds {
		var others []string
		for _, other := range names {
			if other != d.name {
				others = append(others, "name="+other)
			}
		}
		d.awaitEach("discovery", `msg="Nearby device added"`, others)
	}
	out, err := alpha.cli("peers", "--json")
	var peers []api.Peer
	if err != nil || json.Unmarshal([]byte(out), &peers) != nil || len(peers) != 2 {
		t.Fatalf("ferry peers: %v\n%s", err, out)
	}
	for _, p := range peers {
		if !strings.HasPrefix(p.Address, "10.77.0.") || p.Port != 7466 {
			t.Errorf("peer %s at %q", p.Name, p.Address)
		}
	}

	// Trust with matching codes, on both sides.
	ab, err := alpha.cli("trust", "--json", "beta")
	if err != nil {
		t.Fatalf("trust: %v %s", err, ab)
	}
	ba, err := beta.cli("trust", "--json", "alpha")
	if err != nil {
		t.Fatalf("trust: %v %s", err, ba)
	}
	var codeAB, codeBA api.Trust
	json.Unmarshal([]byte(ab), &codeAB)
	json.Unmarshal([]byte(ba), &codeBA)
	if codeAB.Code == "" || codeAB.Code != codeBA.Code {
		t.Fatalf("comparison codes differ: %q and %q", codeAB.Code, codeBA.Code)
	}

	// Send by name: beta trusts alpha and accepts on its own.
	src := filepath.Join(t.TempDir(), "notes.bin")
	f, _ := os.Create(src)
	io.CopyN(f, rand.Reader, 3<<20+17)
	f.Close()
	if out, err := alpha.cli("send", "--to", "beta", src); err != nil {
		t.Fatalf("send --to beta: %v\n%s", err, out)
	}
	want, _ := os.ReadFile(src)
	if got, err := os.ReadFile(filepath.Join(beta.dl, "notes.bin")); err != nil || string(got) != string(want) {
		t.Fatalf("beta received %d bytes, %v", len(got), err)
	}

	// A code room across the three namespaces, made and joined from the
	// CLI, and a send to everyone in it.
	if out, err := gamma.cli("trust", "alpha"); err != nil {
		t.Fatalf("trust: %v %s", err, out)
	}
	out, err = alpha.cli("room", "create", "--json")
	var room api.Room
	if err != nil || json.Unmarshal([]byte(out), &room) != nil || !strings.HasPrefix(room.Link, "http://10.77.0.1:7466/r/") {
		t.Fatalf("room create: %v\n%s", err, out)
	}
	for _, d := range []*nsDaemon{beta, gamma} {
		d.await("the room's tag", "msg=Presence ", "name=alpha", "tags=1")
		if out, err := d.cli("room", "join", "--no-qr", strings.ToLower(room.Code)); err != nil || !strings.Contains(out, "Joined room "+room.Code) {
			t.Fatalf("room join on %s: %v\n%s", d.name, err, out)
		}
	}
	for _, d := range []*nsDaemon{alpha, beta} {
		d.await("gamma in the room", "msg=Presence ", "rooms="+room.Code, "name=gamma")
	}
	out, err = alpha.cli("send", "--room", room.Code, src)
	if err != nil || !strings.Contains(out, "beta: Sent 1 file,") || !strings.Contains(out, "gamma: Sent 1 file,") {
		t.Fatalf("send --room: %v\n%s", err, out)
	}
	if got, err := os.ReadFile(filepath.Join(gamma.dl, "notes.bin")); err != nil || string(got) != string(want) {
		t.Fatalf("gamma received %d bytes, %v", len(got), err)
	}
	out, err = gamma.cli("rooms", "--json")
	var view api.RoomsView
	if err != nil || json.Unmarshal([]byte(out), &view) != nil || len(view.Nearby) != 3 || len(view.Rooms) != 1 || len(view.Rooms[0].Members) != 3 {
		t.Fatalf("ferry rooms on gamma: %v\n%s", err, out)
	}

	// A stopped daemon disappears from the others' tables.
	gamma.stop()
	alpha.await("removal of gamma", `msg="Nearby device removed"`, "name=gamma")
	beta.await("removal of gamma", `msg="Nearby device removed"`, "name=gamma")

	// Restarted with a new address, it is found again there.
	l.ip(l.hosts[2], "addr", "flush", "dev", "eth0")
	l.ip(l.hosts[2], "addr", "add", "10.77.0.33/24", "dev", "eth0")
	l.ip(l.hosts[2], "route", "add", "224.0.0.0/4", "dev", "eth0")
	startIn(t, bin, l.hosts[2], "gamma", filepath.Dir(gamma.data), "--accept", "trusted")
	alpha.await("gamma at its new address", `msg="Nearby device added"`, "name=gamma", "10.77.0.33")
	out, _ = alpha.cli("peers")
	if !strings.Contains(out, "10.77.0.33:7466") {
		t.Fatalf("ferry peers after gamma moved:\n%s", out)
	}
}

// TestJoinLinkAddresses: on a host that also has a container bridge, a
// docker network, a VPN tunnel and link-local addresses, the room's join
// link and the status name the LAN address only.
func TestJoinLinkAddresses(t *testing.T) {
	l := newLAN(t, 1)
	host := l.hosts[0]
	l.ip(host, "addr", "add", "169.254.7.7/16", "dev", "eth0")
	for i, v := range []struct{ name, addr string }{
		{"docker0", "172.17.0.1/16"},
		{"br-4f2a9c", "172.18.0.1/16"},
		{"wg0", "10.6.0.2/24"},
		{"tailscale0", "100.101.102.103/32"},
	} {
		peer := fmt.Sprintf("veth-x%d", i)
		l.ip(host, "link", "add", v.name, "type", "veth", "peer", "name", peer)
		l.ip(host, "addr", "add", v.addr, "dev", v.name)
		l.ip(host, "link", "set", v.name, "up")
		l.ip(host, "link", "set", peer, "up")
	}
	d := startIn(t, buildFerry(t), host, "alpha", t.TempDir(), "--mdns=false")
	d.await("start", `msg="Ferry is running"`)
	out, err := d.cli("room", "create", "--json")
	var room api.Room
	if err != nil || json.Unmarshal([]byte(out), &room) != nil {
		t.Fatalf("room create: %v\n%s", err, out)
	}
	if want := []string{"http://10.77.0.1:7466/r/" + room.Code}; !slices.Equal(room.Links, want) || room.Link != want[0] {
		t.Errorf("join links %q, want %q", room.Links, want)
	}
	out, err = d.cli("status", "--json")
	var st api.Status
	if err != nil || json.Unmarshal([]byte(out), &st) != nil {
		t.Fatalf("status: %v\n%s", err, out)
	}
	if !slices.Equal(st.Addresses, []string{"10.77.0.1"}) {
		t.Errorf("status lists the addresses %q, want only 10.77.0.1", st.Addresses)
	}
}

// TestBenchDiscovery measures, in the namespace LAN, how long a starting
// daemon takes to appear in another daemon's table, and the time from
// `ferry send` until the receiver writes the first bytes, and until the
// two hubs are linked and the sender's presence arrived. make bench runs
// it; it prints medians of several runs.
func TestBenchDiscovery(t *testing.T) {
	if os.Getenv("FERRY_BENCH") == "" {
		t.Skip("set FERRY_BENCH=1 (make bench) to run benchmarks")
	}
	l := newLAN(t, 2)
	bin := buildFerry(t)
	recv := startIn(t, bin, l.hosts[1], "receiver", t.TempDir(), "--accept", "all")
	src := filepath.Join(t.TempDir(), "one.bin")
	os.WriteFile(src, make([]byte, 1<<20), 0o600)
	const runs = 7
	var found, linked, firstByte []time.Duration
	dir := t.TempDir()
	for i := range runs {
		start := time.Now()
		s := startIn(t, bin, l.hosts[0], "sender", dir)
		recv.await("discovery of the sender", `msg="Nearby device added"`, "name=sender")
		found = append(found, time.Since(start))
		recv.await("the sender's presence over the mesh", "msg=Presence ", "name=sender")
		linked = append(linked, time.Since(start))
		s.await("discovery of the receiver", `msg="Nearby device added"`, "name=receiver")
		start = time.Now()
		cmd := exec.Command("ip", "netns", "exec", s.ns, bin, "send", "--data-dir", s.data, "--to", "receiver", src)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		recv.await("first bytes", `msg="First bytes received"`)
		firstByte = append(firstByte, time.Since(start))
		if err := cmd.Wait(); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		s.stop()
		recv.await("removal of the sender", `msg="Nearby device removed"`, "name=sender")
	}
	median := func(d []time.Duration) time.Duration {
		slices.Sort(d)
		return d[len(d)/2]
	}
	fmt.Printf("\nDiscovery and first byte, two network namespaces on a bridge, %d runs\n", runs)
	fmt.Printf("  discovery latency (start until listed)   median %6.0f ms  (min %.0f, max %.0f)\n",
		ms(median(found)), ms(found[0]), ms(found[len(found)-1]))
	fmt.Printf("  mesh presence (start until linked)       median %6.0f ms  (min %.0f, max %.0f)\n",
		ms(median(linked)), ms(linked[0]), ms(linked[len(linked)-1]))
	fmt.Printf("  time to first byte (send until written)  median %6.0f ms  (min %.0f, max %.0f)\n",
		ms(median(firstByte)), ms(firstByte[0]), ms(firstByte[len(firstByte)-1]))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
