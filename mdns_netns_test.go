package main

import (
	"context"
	"encoding/json"
	"maps"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferry-dev/ferry/daemon/api"
	"github.com/ferry-dev/ferry/discovery"
	"github.com/grandcat/zeroconf"
)

// browsed is one answer TestMDNSBrowseHelper heard: a service instance,
// the host name its SRV record names, and the addresses that came with it.
type browsed struct {
	Instance string   `json:"instance"`
	Host     string   `json:"host"`
	Port     int      `json:"port"`
	TXT      []string `json:"txt"`
	Addrs    []string `json:"addrs"`
}

// TestNamespacesHostNames runs two daemons in namespaces of one machine, so
// with the same OS host name (ip netns exec keeps the UTS namespace), one
// of them with a global IPv6 address besides its IPv4 and link-local ones.
// A third namespace browses for them and resolves each SRV record's host
// name the way a caching resolver such as avahi does: from every address
// record heard for that name. Each daemon must publish a host name of its
// own, ferry-<first 8 of its ID>.local., that resolves to its own addresses
// and to no link-local IPv6 address.
func TestNamespacesHostNames(t *testing.T) {
	l := newLAN(t, 3)
	l.ip(l.hosts[1], "addr", "add", "fd77::2/64", "dev", "eth0", "nodad")
	bin := buildFerry(t)
	want := map[string][]string{}
	for i, name := range []string{"alpha", "beta"} {
		d := startIn(t, bin, l.hosts[i], name, t.TempDir())
		d.await("the announcement", `msg="Announcing on the network"`)
		out, err := d.cli("status", "--json")
		var st api.Status
		if err != nil || json.Unmarshal([]byte(out), &st) != nil {
			t.Fatalf("status of %s: %v\n%s", name, err, out)
		}
		want[st.ID] = []string{"10.77.0." + strconv.Itoa(i+1)}
	}
	ids := slices.Sorted(maps.Keys(want))
	for _, id := range ids {
		if want[id][0] == "10.77.0.2" {
			want[id] = append(want[id], "fd77::2")
		}
	}

	file := filepath.Join(t.TempDir(), "browsed.json")
	cmd := exec.Command("ip", "netns", "exec", l.hosts[2], os.Args[0], "-test.run=^TestMDNSBrowseHelper$")
	cmd.Env = append(os.Environ(), "FERRY_MDNS_BROWSE="+file, "FERRY_MDNS_WANT="+strings.Join(ids, ","))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("browsing from %s: %v\n%s", l.hosts[2], err, out)
	}
	raw, err := os.ReadFile(file)
	var answers []browsed
	if err != nil || json.Unmarshal(raw, &answers) != nil {
		t.Fatalf("reading what was browsed: %v\n%s", err, raw)
	}

	// What a caching resolver knows of each host name: every address
	// published for it, by whichever daemon.
	byHost := map[string][]string{}
	for _, a := range answers {
		for _, addr := range a.Addrs {
			if ip := netip.MustParseAddr(addr); ip.Is6() && ip.IsLinkLocalUnicast() {
				t.Errorf("%s publishes the link-local address %s", a.Instance, addr)
			}
			if !slices.Contains(byHost[a.Host], addr) {
				byHost[a.Host] = append(byHost[a.Host], addr)
			}
		}
	}
	for _, id := range ids {
		i := slices.IndexFunc(answers, func(a browsed) bool { return slices.Contains(a.TXT, "id="+id) })
		if i < 0 {
			t.Fatalf("no answer from device %s: %+v", id, answers)
		}
		a := answers[i]
		if host := "ferry-" + strings.ToLower(id[:8]) + ".local."; a.Host != host {
			t.Errorf("%s names the host %q, want %q", a.Instance, a.Host, host)
		}
		got := slices.Sorted(slices.Values(byHost[a.Host]))
		if w := slices.Sorted(slices.Values(want[id])); !slices.Equal(got, w) {
			t.Errorf("%s's host %s resolves to %q, want %q", a.Instance, a.Host, got, w)
		}
	}
}

// TestMDNSBrowseHelper is not a test of its own: TestNamespacesHostNames
// runs the test binary again inside a namespace with FERRY_MDNS_BROWSE set
// to a file, and there it browses for ferry services until it has heard
// every device ID in FERRY_MDNS_WANT (or 30 s passed) and writes what it
// heard to the file.
func TestMDNSBrowseHelper(t *testing.T) {
	file := os.Getenv("FERRY_MDNS_BROWSE")
	if file == "" {
		t.Skip("run by TestNamespacesHostNames inside a namespace")
	}
	ids := strings.Split(os.Getenv("FERRY_MDNS_WANT"), ",")
	heard := func(answers []browsed) bool {
		for _, id := range ids {
			if !slices.ContainsFunc(answers, func(a browsed) bool { return slices.Contains(a.TXT, "id="+id) }) {
				return false
			}
		}
		return true
	}
	var answers []browsed
	deadline := time.Now().Add(30 * time.Second)
	for !heard(answers) && time.Now().Before(deadline) {
		r, err := zeroconf.NewResolver(zeroconf.SelectIPTraffic(zeroconf.IPv4))
		if err != nil {
			t.Fatal(err)
		}
		entries := make(chan *zeroconf.ServiceEntry)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for e := range entries {
				b := browsed{Instance: e.Instance, Host: e.HostName, Port: e.Port, TXT: e.Text}
				for _, ip := range append(slices.Clone(e.AddrIPv4), e.AddrIPv6...) {
					b.Addrs = append(b.Addrs, ipString(ip))
				}
				answers = append(answers, b)
			}
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err = r.Browse(ctx, discovery.ServiceType, "local.", entries)
		<-ctx.Done()
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		<-done
	}
	out, _ := json.Marshal(answers)
	if err := os.WriteFile(file, out, 0o600); err != nil {
		t.Fatal(err)
	}
}

// ipString writes ip without a zone or an IPv4-mapped prefix.
func ipString(ip net.IP) string {
	a, _ := netip.AddrFromSlice(ip)
	return a.Unmap().String()
}
