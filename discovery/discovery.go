package discovery

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Found is one answer from the network, before validation.
type Found struct {
	Instance string
	Port     int
	TXT      []string
	Addrs    []net.IP
}

// Announcement is what a daemon publishes about itself.
type Announcement struct {
	Instance string // the DNS-SD instance name (Record.Instance)
	Host     string // the host name the SRV record names, without ".local." (Record.Host)
	Port     int
	TXT      []string
	// Addrs are the host name's address records: the addresses of Ifaces
	// a peer can dial, never link-local ones.
	Addrs  []netip.Addr
	Ifaces []net.Interface
}

// Backend is the mDNS implementation behind discovery.
type Backend interface {
	// Announce publishes a on a.Ifaces until stop is called; stop sends
	// the goodbye.
	Announce(a Announcement) (stop func(), err error)
	// Browse reports the services of ServiceType answering on ifaces
	// until ctx ends.
	Browse(ctx context.Context, ifaces []net.Interface, found func(Found)) error
}

// Config configures Run.
type Config struct {
	Record     Record
	Interfaces []string // names to use; empty means every usable one (see Interfaces)
	Backend    Backend
	Table      *Table
	// Cycle is how long one browse runs before the next starts afresh and
	// every daemon is asked again; 0 means 10 s. Table TTLs should span a
	// few cycles.
	Cycle time.Duration
	Log   *slog.Logger
}

// fingerprint identifies the set of interfaces and their addresses, so a
// change (sleep and wake, another Wi-Fi) is noticed.
func fingerprint(ifaces []iface) string {
	var b strings.Builder
	for _, ifi := range ifaces {
		b.WriteString(ifi.Name)
		for _, a := range ifi.addrs {
			if usable(a) {
				b.WriteString(" " + a.String())
			}
		}
		b.WriteString(";")
	}
	return b.String()
}

// Run announces the daemon and browses for others until ctx ends, feeding
// the table, and returns nil. It never gives up: a failing socket is
// retried with backoff, and a change of interfaces re-announces.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Cycle == 0 {
		cfg.Cycle = 10 * time.Second
	}
	backoff := time.Second
	wait := func(d time.Duration) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		}
	}
	for ctx.Err() == nil {
		ifs := mdnsInterfaces(systemInterfaces(), cfg.Interfaces)
		if len(ifs) == 0 {
			cfg.Log.Debug("No network interface for discovery yet")
			if !wait(5 * time.Second) {
				return nil
			}
			continue
		}
		fp := fingerprint(ifs)
		ifaces := netInterfaces(ifs)
		addrs := lanAddresses(ifs, cfg.Interfaces)
		if len(addrs) == 0 {
			cfg.Log.Debug("No address to announce yet")
			if !wait(5 * time.Second) {
				return nil
			}
			continue
		}
		stop, err := cfg.Backend.Announce(Announcement{
			Instance: cfg.Record.Instance(), Host: cfg.Record.Host(), Port: cfg.Record.Port, TXT: cfg.Record.TXT(),
			Addrs: addrs, Ifaces: ifaces,
		})
		if err != nil {
			cfg.Log.Warn("Cannot announce on the network; retrying", "err", err, "in", backoff)
			if !wait(backoff) {
				return nil
			}
			backoff = min(backoff*2, time.Minute)
			continue
		}
		cfg.Log.Info("Announcing on the network", "instance", cfg.Record.Instance(), "host", cfg.Record.Host()+".local", "addrs", addrs, "interfaces", len(ifaces))
		for ctx.Err() == nil {
			cctx, cancel := context.WithTimeout(ctx, cfg.Cycle)
			err = cfg.Backend.Browse(cctx, ifaces, func(f Found) { handle(cfg, f) })
			<-cctx.Done()
			cancel()
			if err != nil {
				break
			}
			backoff = time.Second
			if fingerprint(mdnsInterfaces(systemInterfaces(), cfg.Interfaces)) != fp {
				cfg.Log.Info("Network interfaces changed; announcing again")
				break
			}
		}
		stop()
		if err != nil && ctx.Err() == nil {
			cfg.Log.Warn("Browsing failed; retrying", "err", err, "in", backoff)
			if !wait(backoff) {
				return nil
			}
			backoff = min(backoff*2, time.Minute)
		}
	}
	return nil
}

// handle validates one answer and records it.
func handle(cfg Config, f Found) {
	r, err := ParseTXT(f.TXT)
	if err != nil {
		cfg.Log.Debug("Ignoring a service on the network", "instance", f.Instance, "err", err)
		return
	}
	if f.Port != r.Port {
		cfg.Log.Debug("Ignoring a service whose port disagrees with its TXT record", "instance", f.Instance)
		return
	}
	s := Sighting{Record: r}
	for _, ip := range f.Addrs {
		if a, ok := netip.AddrFromSlice(ip); ok && usable(a.Unmap()) && !slices.Contains(s.Addrs, a.Unmap()) {
			s.Addrs = append(s.Addrs, a.Unmap())
		}
	}
	if len(s.Addrs) == 0 {
		return
	}
	cfg.Table.See(s)
}
