package discovery

import (
	"context"
	"net"

	"github.com/grandcat/zeroconf"
)

// Zeroconf is the Backend on github.com/grandcat/zeroconf.
type Zeroconf struct{}

// Announce registers the service on a.Ifaces under a.Host, with a.Addrs
// as its address records. zeroconf.Register would take the OS host name,
// which other machines may share, and every address of the interfaces,
// link-local IPv6 ones included.
func (Zeroconf) Announce(a Announcement) (func(), error) {
	ips := make([]string, len(a.Addrs))
	for i, ip := range a.Addrs {
		ips[i] = ip.String()
	}
	s, err := zeroconf.RegisterProxy(a.Instance, ServiceType, "local.", a.Port, a.Host, ips, a.TXT, a.Ifaces)
	if err != nil {
		return nil, err
	}
	return s.Shutdown, nil
}

// Browse queries for ferry services and reports every answer until ctx
// ends. It returns once the library has closed its entries channel.
func (Zeroconf) Browse(ctx context.Context, ifaces []net.Interface, found func(Found)) error {
	r, err := zeroconf.NewResolver(zeroconf.SelectIfaces(ifaces), zeroconf.SelectIPTraffic(zeroconf.IPv4))
	if err != nil {
		return err
	}
	entries := make(chan *zeroconf.ServiceEntry)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for e := range entries {
			f := Found{Instance: e.Instance, Port: e.Port, TXT: e.Text}
			f.Addrs = append(append(f.Addrs, e.AddrIPv4...), e.AddrIPv6...)
			found(f)
		}
	}()
	if err := r.Browse(ctx, ServiceType, "local.", entries); err != nil {
		return err
	}
	<-done
	return nil
}
