package discovery

import (
	"net"
	"net/netip"
	"slices"
	"strings"
)

// virtualPrefixes name interfaces that do not lead to other devices:
// container bridges, virtual machine networks and VPN tunnels. An address
// on one of them in a join link or an ICE candidate only sends a peer on a
// detour or into a timeout.
var virtualPrefixes = []string{"docker", "br-", "veth", "virbr", "vmnet", "vboxnet", "tun", "tap", "utun", "wg", "zt", "tailscale", "lxc", "cni", "flannel", "podman"}

// UsableInterface reports whether the interface called name may lead to
// other devices. With only set, exactly the interfaces it names do,
// loopback included so tests can run on one machine; otherwise every
// interface but container bridges, VM networks and VPN tunnels does. It
// looks at the name alone, as Pion's SettingEngine.SetInterfaceFilter
// asks; LANAddresses adds the checks that need flags and addresses.
func UsableInterface(name string, only []string) bool {
	if len(only) > 0 {
		return slices.Contains(only, name)
	}
	return !slices.ContainsFunc(virtualPrefixes, func(p string) bool { return strings.HasPrefix(name, p) })
}

// LANAddresses returns the addresses other devices on the LAN can reach
// this machine at, IPv4 first, for join links and the status page. only
// is the same list UsableInterface takes; loopback interfaces count only
// when named in it.
func LANAddresses(only []string) []netip.Addr {
	return lanAddresses(systemInterfaces(), only)
}

// iface is one network interface with its addresses, read once so the
// filters below are pure functions a test can feed.
type iface struct {
	net.Interface
	addrs []netip.Addr // unmapped, without zones
}

// systemInterfaces reads this machine's interfaces; an error reads as no
// interfaces, which callers already wait out.
func systemInterfaces() []iface {
	all, err := net.Interfaces()
	if err != nil {
		return nil
	}
	out := make([]iface, 0, len(all))
	for _, ifi := range all {
		addrs, _ := ifi.Addrs()
		i := iface{Interface: ifi}
		for _, a := range addrs {
			var ip net.IP
			switch a := a.(type) {
			case *net.IPNet:
				ip = a.IP
			case *net.IPAddr:
				ip = a.IP
			}
			if addr, ok := netip.AddrFromSlice(ip); ok {
				i.addrs = append(i.addrs, addr.Unmap())
			}
		}
		out = append(out, i)
	}
	return out
}

// lanAddresses is LANAddresses over a given list of interfaces: those up
// and usable, loopback only when named in only, and of their addresses
// those a peer can dial, each once, IPv4 before IPv6 and otherwise in the
// order of the interfaces.
func lanAddresses(ifaces []iface, only []string) []netip.Addr {
	var out []netip.Addr
	for _, ifi := range ifaces {
		loopback := ifi.Flags&net.FlagLoopback != 0
		if ifi.Flags&net.FlagUp == 0 || !UsableInterface(ifi.Name, only) || (loopback && len(only) == 0) {
			continue
		}
		for _, a := range ifi.addrs {
			a = a.Unmap()
			if usable(a) && (!a.IsLoopback() || len(only) > 0) && !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b netip.Addr) int { return boolInt(b.Is4()) - boolInt(a.Is4()) })
	return out
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Interfaces returns the interfaces to announce and browse on: the named
// ones that are up, or else every usable interface (see UsableInterface)
// that is up, does multicast, is not loopback and has an address a peer
// can dial.
func Interfaces(names []string) []net.Interface {
	return netInterfaces(mdnsInterfaces(systemInterfaces(), names))
}

func netInterfaces(ifaces []iface) []net.Interface {
	out := make([]net.Interface, len(ifaces))
	for i, ifi := range ifaces {
		out[i] = ifi.Interface
	}
	return out
}

// mdnsInterfaces is Interfaces over a given list of interfaces.
func mdnsInterfaces(ifaces []iface, names []string) []iface {
	var out []iface
	for _, ifi := range ifaces {
		if ifi.Flags&net.FlagUp == 0 || !UsableInterface(ifi.Name, names) {
			continue
		}
		if len(names) == 0 && (ifi.Flags&net.FlagMulticast == 0 || ifi.Flags&net.FlagLoopback != 0 || !slices.ContainsFunc(ifi.addrs, usable)) {
			continue
		}
		out = append(out, ifi)
	}
	return out
}

// usable reports whether a peer could dial a: not link-local, which
// needs a zone to mean anything and in IPv4 (169.254/16, RFC 3927) is
// what a host falls back to when DHCP failed, nor unspecified or
// multicast.
func usable(a netip.Addr) bool {
	return a.IsValid() && !a.IsUnspecified() && !a.IsLinkLocalUnicast() && !a.IsMulticast()
}
