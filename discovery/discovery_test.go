package discovery

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// testID returns a device ID in text form, made the way the daemon makes
// one: the SHA-256 of something, in base32 without padding.
func testID(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:])
}

func sighting(name string, addr string) Sighting {
	return Sighting{
		Record: Record{ID: testID(name), Name: name, Port: 7466, Version: Version},
		Addrs:  []netip.Addr{netip.MustParseAddr(addr)},
	}
}

func TestTXTRoundTrip(t *testing.T) {
	r := Record{ID: testID("a"), Name: strings.Repeat("é", 150), Port: 7466, Version: Version}
	txt := r.TXT()
	for _, s := range txt {
		if len(s) >= 255 {
			t.Errorf("TXT string of %d bytes", len(s))
		}
	}
	got, err := ParseTXT(txt)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != r.ID || got.Port != 7466 || !strings.HasPrefix(r.Name, got.Name) || len(got.Name) > maxName {
		t.Errorf("round trip: %+v", got)
	}
	if in := r.Instance(); len(in) > 63 || !strings.HasSuffix(in, "["+r.Short()+"]") {
		t.Errorf("instance %q", in)
	}
	if in := (Record{ID: testID("b"), Name: "a.b\x01c"}).Instance(); strings.ContainsAny(in, ".\x01") {
		t.Errorf("instance %q keeps dots or control characters", in)
	}
}

// TestTXTWireFormat pins the bytes other daemons parse; the expected
// strings are what the daemon sent before device IDs became strings here.
func TestTXTWireFormat(t *testing.T) {
	r := Record{ID: testID("a"), Name: "Ana's laptop.é", Port: 7466, Version: Version}
	want := []string{"id=ZKLYCEWKDO64V6WCGGZZUI64JWTYN37YCR6E44VZQB3YLL7OJC5Q", "v=1", "port=7466", "name=Ana's laptop.é"}
	if got := r.TXT(); !slices.Equal(got, want) {
		t.Errorf("TXT() = %q, want %q", got, want)
	}
	if got, want := r.Instance(), "Ana's laptop-é [ZKLY-CEWK]"; got != want {
		t.Errorf("Instance() = %q, want %q", got, want)
	}
	if got, want := r.Short(), "ZKLY-CEWK"; got != want {
		t.Errorf("Short() = %q, want %q", got, want)
	}
	if got, want := r.Host(), "ferry-zklycewk"; got != want {
		t.Errorf("Host() = %q, want %q", got, want)
	}
	p := Peer{ID: testID("phone")}
	if got, want := p.Short(), "IVLJ-3JL7"; got != want {
		t.Errorf("Peer.Short() = %q, want %q", got, want)
	}
	if got := (Peer{ID: "ABC"}).Short(); got != "ABC" {
		t.Errorf("Short of a 3-character ID = %q", got)
	}
}

func TestParseTXTBad(t *testing.T) {
	a := testID("a") // ends in Q: its last character carries one bit
	id := "id=" + a
	badID := func(v string) string {
		return fmt.Sprintf("TXT id=%q is not a device ID: want 52 characters of A-Z and 2-7", v)
	}
	for _, c := range []struct {
		txt  []string
		want string
	}{
		{nil, "TXT record has no id"},
		{[]string{"id=nonsense", "v=1", "port=1", "name=x"}, badID("nonsense")},
		{[]string{"id=", "v=1", "port=1", "name=x"}, badID("")},
		{[]string{"id=" + strings.ToLower(a), "v=1", "port=1", "name=x"}, badID(strings.ToLower(a))},
		{[]string{"id=" + a[:4] + "-" + a[4:], "v=1", "port=1", "name=x"}, badID(a[:4] + "-" + a[4:])},
		{[]string{"id=" + a[:51], "v=1", "port=1", "name=x"}, badID(a[:51])},
		{[]string{"id=" + a + "A", "v=1", "port=1", "name=x"}, badID(a + "A")},
		{[]string{"id=" + a[:51] + "1", "v=1", "port=1", "name=x"}, badID(a[:51] + "1")},
		{[]string{"id=" + a[:48] + "====", "v=1", "port=1", "name=x"}, badID(a[:48] + "====")},
		{[]string{"id=" + a[:51] + "\n", "v=1", "port=1", "name=x"}, badID(a[:51] + "\n")},
		{[]string{"id=" + a[:51] + "R", "v=1", "port=1", "name=x"}, badID(a[:51] + "R")}, // same bytes as a, stray low bit
		{[]string{id, "v=1", "port=0", "name=x"}, `TXT port="0" is not a port`},
		{[]string{id, "v=1", "port=99999", "name=x"}, `TXT port="99999" is not a port`},
		{[]string{id, "v=x", "port=1", "name=x"}, `TXT v="x" is not a version`},
		{[]string{id, "v=2", "port=1", "name=x"}, "discovery version 2 is not supported (this daemon speaks 1)"},
		{[]string{id, "v=1", "port=1", "name="}, "TXT name is empty, too long or not UTF-8"},
		{[]string{id, "v=1", "port=1", "name=a\x00b"}, "TXT name contains a control character"},
		{[]string{id, "v=1", "port=1", "name=\xff"}, "TXT name is empty, too long or not UTF-8"},
		{[]string{id, "ID=" + a, "v=1", "port=1", "name=x"}, `TXT key "id" appears twice`},
		{[]string{id, "v=1", "port=1"}, "TXT record has no name"},
		{[]string{"txtvers=1", "path=/"}, "TXT record has no id"}, // someone else's service of the same type
	} {
		_, err := ParseTXT(c.txt)
		if err == nil || err.Error() != c.want {
			t.Errorf("ParseTXT(%q) = %v, want %q", c.txt, err, c.want)
		}
	}
}

func TestParseTXTGood(t *testing.T) {
	for _, id := range []string{testID("a"), testID("phone"), strings.Repeat("A", 52), strings.Repeat("7", 51) + "Q"} {
		r, err := ParseTXT([]string{"ID=" + id, "V=1", "Port=7466", "name=x", "flag"})
		if err != nil || r.ID != id || r.Port != 7466 || r.Name != "x" {
			t.Errorf("ParseTXT with id %s = %+v, %v", id, r, err)
		}
	}
}

func FuzzParseTXT(f *testing.F) {
	f.Add("id="+testID("a"), "v=1", "port=7466", "name=laptop")
	f.Add("id=", "v=", "port=", "name=")
	f.Add("x", "=", "==", "name==")
	f.Fuzz(func(t *testing.T, a, b, c, d string) {
		r, err := ParseTXT([]string{a, b, c, d})
		if err != nil {
			return
		}
		if !validID(r.ID) || r.Port < 1 || r.Port > 65535 || r.Version != Version || r.Name == "" || len(r.Name) > maxName {
			t.Fatalf("accepted %+v", r)
		}
		if _, err := ParseTXT(r.TXT()); err != nil {
			t.Fatalf("a parsed record does not round-trip: %v", err)
		}
	})
}

func TestHandleFiltersAnswers(t *testing.T) {
	var events []Event
	tab := NewTable(testID("self"), time.Minute, func(e Event) { events = append(events, e) })
	cfg := Config{Table: tab, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	good := Record{ID: testID("b"), Name: "b", Port: 7466, Version: Version}
	ip := net.ParseIP("192.168.1.20")
	handle(cfg, Found{Instance: "foreign", Port: 80, TXT: []string{"path=/"}, Addrs: []net.IP{ip}})
	handle(cfg, Found{Instance: "garbled", Port: 7466, TXT: []string{"id=\x00\x01", "v=1"}, Addrs: []net.IP{ip}})
	handle(cfg, Found{Instance: "port mismatch", Port: 7467, TXT: good.TXT(), Addrs: []net.IP{ip}})
	handle(cfg, Found{Instance: "link-local only", Port: 7466, TXT: good.TXT(), Addrs: []net.IP{net.ParseIP("169.254.1.1")}})
	self := Record{ID: testID("self"), Name: "self", Port: 7466, Version: Version}
	handle(cfg, Found{Instance: "self", Port: 7466, TXT: self.TXT(), Addrs: []net.IP{ip}})
	if len(events) != 0 {
		t.Fatalf("bad answers made events: %+v", events)
	}
	handle(cfg, Found{Instance: "b", Port: 7466, TXT: good.TXT(), Addrs: []net.IP{net.ParseIP("fe80::1"), ip, ip}})
	if len(events) != 1 || events[0].Kind != Added || len(events[0].Peer.Hubs) != 1 {
		t.Fatalf("events: %+v", events)
	}
}

func TestTableLifecycle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var events []Event
		tab := NewTable(testID("self"), 30*time.Second, func(e Event) {
			mu.Lock()
			events = append(events, e)
			mu.Unlock()
		})
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go tab.Run(ctx)

		start := time.Now()
		tab.See(sighting("alpha", "10.0.0.1"))
		tab.See(sighting("beta", "10.0.0.2"))
		tab.AddManual(sighting("gamma", "10.0.0.3"))
		time.Sleep(20 * time.Second)
		tab.See(sighting("alpha", "10.0.0.1")) // refreshed, no event
		tab.See(sighting("alpha", "10.0.0.9")) // a second address: changed
		if a, _ := tab.Get(testID("alpha")); !slices.Equal(hubAddrs(a), []string{"10.0.0.1:7466", "10.0.0.9:7466"}) {
			t.Fatalf("alpha's hubs: %+v", a.Hubs)
		}
		time.Sleep(20 * time.Second)
		tab.See(sighting("alpha", "10.0.0.9"))
		time.Sleep(20 * time.Second)
		synctest.Wait()

		// beta was last seen 60 s ago: expired, and so is alpha's first
		// address, last announced 40 s ago. alpha is fresh, gamma manual.
		mu.Lock()
		var kinds []string
		for _, e := range events {
			kinds = append(kinds, e.Kind.String()+" "+e.Peer.Name)
		}
		want := "added alpha,added beta,added gamma,changed alpha,removed beta,changed alpha"
		if strings.Join(kinds, ",") != want {
			t.Fatalf("events %v, want %s", kinds, want)
		}
		a, ok := tab.Get(testID("alpha"))
		if !ok || !slices.Equal(hubAddrs(a), []string{"10.0.0.9:7466"}) || !a.FirstSeen.Equal(start) || !a.LastSeen.Equal(start.Add(40*time.Second)) {
			t.Fatalf("alpha: %+v", a)
		}
		mu.Unlock()
		time.Sleep(time.Hour)
		synctest.Wait()
		mu.Lock()
		if l := tab.List(); len(l) != 1 || l[0].Name != "gamma" {
			t.Fatalf("after an hour: %+v", l)
		}
		mu.Unlock()
		tab.Remove(testID("gamma"))
		mu.Lock()
		defer mu.Unlock()
		if len(tab.List()) != 0 || events[len(events)-1].Kind != Removed {
			t.Fatal("gamma not removed")
		}
	})
}

func TestTableFlagAndFind(t *testing.T) {
	tab := NewTable(testID("self"), time.Minute, nil)
	tab.See(sighting("laptop", "10.0.0.1"))
	tab.See(sighting("Laptop", "10.0.0.2"))
	tab.See(sighting("phone", "10.0.0.3"))
	p := sighting("phone", "10.0.0.3")

	if got, err := tab.Find("PHONE"); err != nil || got.ID != p.ID {
		t.Fatalf("by name: %v %v", got, err)
	}
	if got, err := tab.Find(p.Short()); err != nil || got.ID != p.ID {
		t.Fatalf("by short ID: %v %v", got, err)
	}
	if got, err := tab.Find(strings.ToLower(p.ID[:6])); err != nil || got.ID != p.ID {
		t.Fatalf("by lower-case ID prefix: %v %v", got, err)
	}
	_, err := tab.Find("laptop")
	if err == nil || !strings.Contains(err.Error(), "matches 2 devices") || !strings.Contains(err.Error(), shortID(testID("laptop"))) {
		t.Fatalf("ambiguous: %v", err)
	}
	if _, err := tab.Find("tablet"); err == nil || !strings.Contains(err.Error(), "ferry peers") {
		t.Fatalf("missing: %v", err)
	}
	if _, err := tab.Find("ab"); err == nil {
		t.Fatal("a two-letter ID prefix matched")
	}

	tab.Flag(p.ID, netip.MustParseAddrPort("10.0.0.3:7466"))
	got, _ := tab.Get(p.ID)
	if _, ok := got.Addr(); ok {
		t.Fatalf("a flagged address is still offered: %+v", got)
	}
	tab.See(Sighting{Record: p.Record, Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.3"), netip.MustParseAddr("10.0.0.4")}})
	got, _ = tab.Get(p.ID)
	if a, ok := got.Addr(); !ok || a != netip.MustParseAddrPort("10.0.0.4:7466") || len(got.Hubs) != 1 {
		t.Fatalf("after a new address: %v %v %+v", a, ok, got.Hubs)
	}
}

// hubAddrs returns p's hubs as text, in the order they are tried.
func hubAddrs(p Peer) []string {
	var out []string
	for _, h := range p.Hubs {
		out = append(out, h.Addr.String())
	}
	return out
}

// forge returns a record with real's ID, name and version at addr:port.
func forge(real Sighting, addr string, port int) Sighting {
	f := real
	f.Port = port
	f.Addrs = []netip.Addr{netip.MustParseAddr(addr)}
	return f
}

// TestTableForgedRecord: a record with a device's ID at another address
// adds that address after the device's own and renames nothing once the
// device proved its ID; the address answering as another device is
// dropped for that ID and ignored while flagged, without touching the
// device's own address, and asked again once the flag expires.
func TestTableForgedRecord(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var events []Event
		tab := NewTable(testID("self"), time.Hour, func(e Event) {
			mu.Lock()
			events = append(events, e)
			mu.Unlock()
		})
		real := sighting("laptop", "10.0.0.2")
		realHub := netip.MustParseAddrPort("10.0.0.2:7466")
		forgedHub := netip.MustParseAddrPort("10.0.0.66:7466")
		order := func(want ...string) {
			t.Helper()
			p, ok := tab.Get(real.ID)
			if !ok || !slices.Equal(hubAddrs(p), want) {
				t.Fatalf("hubs %v (%+v), want %v", hubAddrs(p), p.Hubs, want)
			}
		}

		// Announced first, then forged: the real address is tried first.
		tab.See(real)
		tab.See(forge(real, "10.0.0.66", 7466))
		order("10.0.0.2:7466", "10.0.0.66:7466")

		// Asking both hubs: the forged one answers as another device.
		claims := tab.ToCheck()
		slices.SortFunc(claims, func(a, b Claim) int { return a.Addr.Compare(b.Addr) })
		if want := []Claim{{real.ID, realHub}, {real.ID, forgedHub}}; !slices.Equal(claims, want) {
			t.Fatalf("ToCheck() = %v, want %v", claims, want)
		}
		if again := tab.ToCheck(); len(again) != 0 {
			t.Fatalf("hubs handed out twice: %v", again)
		}
		tab.Checked(claims[1], testID("mallory"))
		tab.Checked(claims[0], real.ID)
		order("10.0.0.2:7466")
		p, _ := tab.Get(real.ID)
		if p.Hubs[0].State != Answered || !slices.Equal(p.Flagged, []netip.AddrPort{forgedHub}) {
			t.Fatalf("after asking: %+v", p)
		}

		// While flagged, the forged record is no sighting of the device.
		seen := p.LastSeen
		time.Sleep(time.Minute)
		tab.See(forge(real, "10.0.0.66", 7466))
		if p, _ := tab.Get(real.ID); !p.LastSeen.Equal(seen) || len(p.Hubs) != 1 {
			t.Fatalf("a flagged address refreshed the device: %+v", p)
		}

		// Forged at a hub nobody asked yet, and another name: tried after
		// the real one, which proves its ID, so the name stays.
		tab.Proved(real.ID, realHub)
		renamed := forge(real, "10.0.0.77", 7466)
		renamed.Name = "evil"
		tab.See(renamed)
		order("10.0.0.2:7466", "10.0.0.77:7466")
		if p, _ := tab.Get(real.ID); p.Name != "laptop" || p.Hubs[0].State != Proven {
			t.Fatalf("after a forged rename: %+v", p)
		}
		// A send that reaches it fails on the certificate and flags it.
		tab.Flag(real.ID, netip.MustParseAddrPort("10.0.0.77:7466"))
		order("10.0.0.2:7466")

		// A hub that does not answer is tried last.
		tab.See(forge(real, "10.0.0.88", 7466))
		for _, c := range tab.ToCheck() {
			tab.Checked(c, "")
		}
		tab.See(forge(real, "10.0.0.99", 7466))
		order("10.0.0.2:7466", "10.0.0.99:7466", "10.0.0.88:7466")

		// A silent hub announced again a while later is asked again.
		time.Sleep(RecheckSilent)
		tab.See(forge(real, "10.0.0.88", 7466))
		c := tab.ToCheck()
		slices.SortFunc(c, func(a, b Claim) int { return a.Addr.Compare(b.Addr) })
		if want := []Claim{{real.ID, netip.MustParseAddrPort("10.0.0.88:7466")}, {real.ID, netip.MustParseAddrPort("10.0.0.99:7466")}}; !slices.Equal(c, want) {
			t.Fatalf("after RecheckSilent, ToCheck() = %v, want %v", c, want)
		}
		tab.Checked(Claim{real.ID, netip.MustParseAddrPort("10.0.0.88:7466")}, "")

		// After FlagFor the forged address is asked again.
		time.Sleep(FlagFor)
		tab.Expire()
		tab.See(forge(real, "10.0.0.66", 7466))
		order("10.0.0.2:7466", "10.0.0.99:7466", "10.0.0.66:7466", "10.0.0.88:7466")
		if c := tab.ToCheck(); !slices.ContainsFunc(c, func(c Claim) bool { return c.Addr == forgedHub }) {
			t.Fatalf("the forged hub is not asked again: %v", c)
		}

		// Flagging the only address leaves the device with none, until
		// its own record brings one again; its ID is never flagged.
		only := NewTable(testID("self"), time.Hour, nil)
		only.See(forge(real, "10.0.0.66", 7466))
		only.Flag(real.ID, forgedHub)
		if p, ok := only.Get(real.ID); !ok || len(p.Hubs) != 0 {
			t.Fatalf("after flagging the only address: %+v", p)
		}
		only.See(real)
		if p, _ := only.Get(real.ID); !slices.Equal(hubAddrs(p), []string{"10.0.0.2:7466"}) {
			t.Fatalf("the real record after a forged one: %+v", p)
		}

		mu.Lock()
		defer mu.Unlock()
		for _, e := range events {
			if e.Kind == Removed {
				t.Fatalf("the device was removed: %+v", e)
			}
		}
	})
}

// announceBackend hands every announcement to a channel and browses for
// nothing.
type announceBackend chan Announcement

func (b announceBackend) Announce(a Announcement) (func(), error) {
	b <- a
	return func() {}, nil
}

func (announceBackend) Browse(ctx context.Context, _ []net.Interface, _ func(Found)) error {
	<-ctx.Done()
	return nil
}

// TestRunAnnounces: the announcement names the daemon's own host name and
// carries the interfaces' addresses a peer can dial.
func TestRunAnnounces(t *testing.T) {
	r := Record{ID: testID("a"), Name: "a", Port: 7466, Version: Version}
	b := make(announceBackend, 1)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		Run(ctx, Config{Record: r, Interfaces: []string{"lo"}, Backend: b, Table: NewTable(r.ID, time.Minute, nil),
			Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	}()
	a := <-b
	cancel()
	<-done
	if a.Host != "ferry-zklycewk" || a.Instance != r.Instance() || a.Port != 7466 || !slices.Equal(a.TXT, r.TXT()) {
		t.Errorf("announced %+v", a)
	}
	if !slices.Contains(a.Addrs, netip.MustParseAddr("127.0.0.1")) || slices.ContainsFunc(a.Addrs, func(a netip.Addr) bool { return !usable(a) }) {
		t.Errorf("announced the addresses %v", a.Addrs)
	}
}
