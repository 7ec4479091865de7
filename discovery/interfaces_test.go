package discovery

import (
	"net"
	"net/netip"
	"slices"
	"testing"
)

const (
	up        = net.FlagUp | net.FlagMulticast
	upNoMcast = net.FlagUp
	loopback  = net.FlagUp | net.FlagLoopback
	down      = net.FlagMulticast
)

func testIface(name string, flags net.Flags, addrs ...string) iface {
	ifi := iface{Interface: net.Interface{Name: name, Flags: flags}}
	for _, a := range addrs {
		ifi.addrs = append(ifi.addrs, netip.MustParseAddr(a))
	}
	return ifi
}

// machine is a developer's laptop: Docker, libvirt, three VPNs, Wi-Fi off
// and one wired LAN.
var machine = []iface{
	testIface("lo", loopback, "127.0.0.1"),
	testIface("docker0", up, "172.17.0.1"),
	testIface("br-1a2b", up, "172.18.0.1"),
	testIface("virbr0", up, "192.168.122.1"),
	testIface("veth1234", up),
	testIface("tun0", upNoMcast, "10.8.0.2"),
	testIface("wg0", upNoMcast, "10.6.0.2"),
	testIface("tailscale0", upNoMcast, "100.64.0.1"),
	testIface("utun3", upNoMcast, "fd7a:115c:a1e0::1"),
	testIface("eth0", up, "fe80::1", "192.168.1.5", "2001:db8::5"),
	testIface("wlan0", down, "192.168.1.9"),
}

func TestLANAddresses(t *testing.T) {
	for _, c := range []struct {
		name   string
		ifaces []iface
		only   []string
		want   []string
	}{
		{"laptop", machine, nil, []string{"192.168.1.5", "2001:db8::5"}},
		{"only loopback", machine, []string{"lo"}, []string{"127.0.0.1"}},
		{"loopback, both families", []iface{testIface("lo", loopback, "::1", "127.0.0.1")}, []string{"lo"}, []string{"127.0.0.1", "::1"}},
		{"a service address on loopback", []iface{testIface("lo", loopback, "127.0.0.1", "10.255.255.1")}, nil, nil},
		{"only a VPN, named", machine, []string{"wg0"}, []string{"10.6.0.2"}},
		{"only an interface that is down", machine, []string{"wlan0"}, nil},
		{"only an interface that does not exist", machine, []string{"eth9"}, nil},
		{"IPv4 link-local, DHCP failed", []iface{testIface("eth0", up, "169.254.12.34", "fe80::1")}, nil, nil},
		{"IPv4 first, interfaces in order, each address once", []iface{
			testIface("eth0", up, "2001:db8::5", "192.168.1.5"),
			testIface("wlan0", up, "2001:db8::9", "10.0.0.9", "192.168.1.5"),
		}, nil, []string{"192.168.1.5", "10.0.0.9", "2001:db8::5", "2001:db8::9"}},
		{"mapped, unspecified and multicast", []iface{
			testIface("eth0", up, "::ffff:192.168.1.5", "0.0.0.0", "::", "224.0.0.251", "ff02::fb"),
		}, nil, []string{"192.168.1.5"}},
		{"loopback address on a LAN interface", []iface{testIface("eth0", up, "127.0.0.2", "192.168.1.5")}, nil, []string{"192.168.1.5"}},
	} {
		var want []netip.Addr
		for _, a := range c.want {
			want = append(want, netip.MustParseAddr(a))
		}
		if got := lanAddresses(c.ifaces, c.only); !slices.Equal(got, want) {
			t.Errorf("%s: lanAddresses(%q) = %v, want %v", c.name, c.only, got, want)
		}
	}
}

func TestMDNSInterfaces(t *testing.T) {
	for _, c := range []struct {
		only []string
		want []string
	}{
		{nil, []string{"eth0"}},
		{[]string{"lo"}, []string{"lo"}},
		{[]string{"tun0", "wlan0"}, []string{"tun0"}}, // named: no multicast needed, but up
	} {
		var got []string
		for _, ifi := range mdnsInterfaces(machine, c.only) {
			got = append(got, ifi.Name)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("mdnsInterfaces(%q) = %q, want %q", c.only, got, c.want)
		}
	}
	onlyLinkLocal := []iface{testIface("eth0", up, "169.254.1.1", "fe80::1")}
	if got := mdnsInterfaces(onlyLinkLocal, nil); len(got) != 0 {
		t.Errorf("an interface with only link-local addresses was picked: %v", got)
	}
}

func TestUsableInterface(t *testing.T) {
	for _, c := range []struct {
		name string
		only []string
		want bool
	}{
		{"eth0", nil, true},
		{"wlan0", nil, true},
		{"en0", nil, true},
		{"lo", nil, true}, // the name is fine; loopback is refused by its flag
		{"docker0", nil, false},
		{"br-1a2b", nil, false},
		{"veth1234", nil, false},
		{"virbr0", nil, false},
		{"vmnet8", nil, false},
		{"vboxnet0", nil, false},
		{"tun0", nil, false},
		{"tap0", nil, false},
		{"utun3", nil, false},
		{"wg0", nil, false},
		{"zt5u4y6abc", nil, false},
		{"tailscale0", nil, false},
		{"lxcbr0", nil, false},
		{"cni0", nil, false},
		{"flannel.1", nil, false},
		{"podman1", nil, false},
		{"lo", []string{"lo"}, true},
		{"docker0", []string{"docker0"}, true},
		{"eth0", []string{"lo"}, false},
		{"eth", []string{"eth0"}, false},
	} {
		if got := UsableInterface(c.name, c.only); got != c.want {
			t.Errorf("UsableInterface(%q, %q) = %v, want %v", c.name, c.only, got, c.want)
		}
	}
}

// TestLANAddressesOnThisMachine runs the real reading of interfaces: no
// address it returns may be link-local, loopback or mapped, and IPv4 comes
// first.
func TestLANAddressesOnThisMachine(t *testing.T) {
	addrs := LANAddresses(nil)
	for i, a := range addrs {
		if !usable(a) || a.IsLoopback() || a.Is4In6() || a.Zone() != "" {
			t.Errorf("LANAddresses returned %v", a)
		}
		if i > 0 && a.Is4() && !addrs[i-1].Is4() {
			t.Errorf("IPv4 %v after IPv6 %v", a, addrs[i-1])
		}
	}
	lo := LANAddresses([]string{"lo"})
	if _, err := net.InterfaceByName("lo"); err == nil && !slices.Contains(lo, netip.MustParseAddr("127.0.0.1")) {
		t.Errorf(`LANAddresses(["lo"]) = %v, want 127.0.0.1 in it`, lo)
	}
}
