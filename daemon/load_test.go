package daemon

import (
	"bufio"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferry-dev/ferry/daemon/proto"
	"github.com/ferry-dev/ferry/daemon/signal"
	"github.com/ferry-dev/ferry/daemon/transfer"
	"github.com/gorilla/websocket"
)

// The load TestLoad puts on three daemons. It is sized to run inside make
// test: well under a minute with the race detector on two cores.
const (
	loadGuests    = 50 // a full room: it holds 50 members, daemons included
	loadTransfers = 10
	loadFileSize  = 3 << 20
	loadRounds    = 3
	// loadSources is how many loopback addresses the guests connect
	// from, 127.0.0.2 on. Guests i and i+loadSources share one; it being
	// odd puts them on different daemons, so each daemon sees at most one
	// guest per address: 1 or 2 connections (a replacement overlaps the
	// old one) of the 12 allowed, and 1+loadRounds room attempts of the
	// 10 allowed at once.
	loadSources = 29
	// loadPatience bounds every wait. It only catches a hang.
	loadPatience = time.Minute
	// goroutineSlack is how many more goroutines than at the start may
	// be left once everything is stopped.
	goroutineSlack = 5
	// heapSlack is how much more live heap than at the start may be left
	// once everything is stopped.
	heapSlack = 64 << 20
)

// Which guests churn in each round, by index: the first leave the room and
// join it again, the next drop their connection and connect again once
// their daemon has noticed, the last connect again while the old
// connection is still open, which keeps their rooms. Both daemons have
// guests in each set.
const (
	loadLeavers   = 5
	loadDroppers  = 3
	loadReplacers = 2
	loadChurners  = loadLeavers + loadDroppers + loadReplacers
)

// TestLoad puts three linked daemons under a bounded load: 50 browser
// guests on two of them fill one code room, ten transfers run between the
// daemons at once, and meanwhile guests leave and rejoin the room, drop and
// reconnect. It asserts what must hold under load: every guest sees the
// whole room, the room is full, every file arrives intact, every guest is
// welcomed before anything else, and once everything has stopped no
// goroutine is left behind and the heap is back. It logs its figures and
// asserts no timings.
func TestLoad(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the guests connect from 127.0.0.2 and up, which only Linux routes to lo by itself")
	}
	began := time.Now()
	files := make([]loadFile, loadTransfers)
	dir := t.TempDir()
	for i := range files {
		f := &files[i]
		f.path = filepath.Join(dir, fmt.Sprintf("load-%02d.bin", i))
		sum, err := writeSeededFile(f.path, uint64(i+1), loadFileSize)
		if err != nil {
			t.Fatal(err)
		}
		f.sum = sum
	}

	goBefore := runtime.NumGoroutine()
	heapBefore := liveHeap()
	heapPeak := watchHeap()

	ds, stops := meshOf(t, "alpha", "bravo", "charlie")
	a, b, c := ds[0], ds[1], ds[2]
	homes := []*Daemon{a, b}

	// charlie's owner makes the room and leaves it to the guests: a room
	// holds 50 members, daemons included, so with charlie in it the 50th
	// guest would be refused.
	code, err := c.mesh.Create()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.mesh.Leave(code); err != nil {
		t.Fatal(err)
	}
	// alpha and bravo know the room once charlie's presence has brought its
	// tag. Their owners find out when (owners' joins are not limited, a
	// guest's are) and leave it again.
	for _, d := range homes {
		awaitView(t, d, "learning the room", func([]signal.Member) bool { return d.mesh.Join(code) == nil })
		if err := d.mesh.Leave(code); err != nil {
			t.Fatal(err)
		}
	}

	var counts loadCounts
	ids := make([]string, loadGuests)
	for i := range ids {
		ids[i] = fmt.Sprintf("load-guest-%02d", i)
	}
	guests := make([]*loadGuest, loadGuests)
	t.Cleanup(func() { // after a failure; closing twice is harmless
		for _, g := range guests {
			if g != nil {
				g.close()
			}
		}
	})
	dial := func(i int) (err error) {
		guests[i], err = dialLoadGuest(homes[i%2], loadSource(i), ids[i], &counts)
		return err
	}
	if err := each(loadGuests, dial); err != nil {
		t.Fatal(err)
	}

	// converge waits until every guest and every daemon sees the 50 guests,
	// and no daemon, in the room.
	converge := func(stage string) {
		t.Helper()
		if err := each(loadGuests, func(i int) error { return guests[i].awaitRoom(code, ids) }); err != nil {
			t.Fatalf("%s: %v", stage, err)
		}
		for _, d := range ds {
			awaitView(t, d, stage+": the guests, and only they, in the room", func(ms []signal.Member) bool {
				return slices.Equal(inRoom(ms, code), ids)
			})
		}
	}
	if err := each(loadGuests, func(i int) error { return guests[i].join(code) }); err != nil {
		t.Fatal(err)
	}
	converge("joining")
	full := time.Since(began)
	if err := a.mesh.Join(code); proto.CodeOf(err) != proto.CodeRoomFull {
		t.Fatalf("alpha's owner joining the room of 50: %v; want %s", err, proto.CodeRoomFull)
	}

	// Ten transfers at once: each daemon sends to both others, every other
	// transfer through the mesh, and alpha to bravo and charlie to alpha
	// twice directly.
	direct := 0
	for i := range files {
		f := &files[i]
		f.from, f.to = ds[i%3], ds[(i%3+1+(i/3)%2)%3]
		route := transfer.ThroughMesh(f.from.mesh, f.to.ID().String())
		if i%2 == 0 {
			route = transfer.Direct(f.to.Addr().String(), f.to.ID())
			direct++
		}
		f.id, err = f.from.manager.Send(route, []string{f.path})
		if err != nil {
			t.Fatalf("transfer %d, %s to %s: %v", i, f.from.cfg.Name, f.to.cfg.Name, err)
		}
	}

	for round := range loadRounds {
		// Leavers leave, droppers hang up, replacers connect again over
		// their open connection.
		err := each(loadChurners, func(i int) error {
			g := guests[i]
			switch {
			case i < loadLeavers:
				if err := g.send(signal.Message{Type: signal.TypeLeave, Room: code}); err != nil {
					return err
				}
				return g.wait("presence with itself out of the room", func() bool {
					own := g.ownLocked()
					return own != nil && !slices.Contains(own.Rooms, code)
				})
			case i < loadLeavers+loadDroppers:
				g.close()
				return nil
			}
			fresh, err := dialLoadGuest(g.home, g.src, g.id, &counts)
			if err != nil {
				return err
			}
			guests[i] = fresh
			if err := g.awaitEnded(); err != nil {
				return err
			}
			return fresh.wait("presence with its room kept", func() bool {
				own := fresh.ownLocked()
				return own != nil && slices.Contains(own.Rooms, code)
			})
		})
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		for i := loadLeavers; i < loadLeavers+loadDroppers; i++ {
			awaitView(t, guests[i].home, "losing "+ids[i], not(has(ids[i])))
		}
		// Leavers and droppers come back.
		err = each(loadLeavers+loadDroppers, func(i int) error {
			if i >= loadLeavers {
				if err := dial(i); err != nil {
					return err
				}
			}
			return guests[i].join(code)
		})
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		converge(fmt.Sprintf("round %d", round))
	}
	churned := time.Since(began)
	running := 0
	for _, f := range files {
		if info, err := f.from.manager.Get(f.id); err == nil && !info.State.Final() {
			running++
		}
	}

	// A failed transfer is reported, and the rest of the test still runs:
	// what is left behind after a failure is worth knowing too.
	var bytes int64
	for i, f := range files {
		info := awaitTransfer(t, f.from, f.id)
		if info.State != transfer.StateDone {
			t.Errorf("transfer %d, %s to %s: %s %s %s", i, f.from.cfg.Name, f.to.cfg.Name, info.State, info.Code, info.Error)
			continue
		}
		if got := fileSum(t, filepath.Join(f.to.cfg.Downloads, filepath.Base(f.path))); got != f.sum {
			t.Errorf("transfer %d, %s to %s: the file arrived with SHA-256 %x, want %x", i, f.from.cfg.Name, f.to.cfg.Name, got, f.sum)
			continue
		}
		bytes += info.Bytes
	}
	transferred := time.Since(began)

	for _, g := range guests {
		g.close()
	}
	for i := len(stops) - 1; i >= 0; i-- {
		stops[i]()
	}
	peak := heapPeak()
	goAfter, stacks := awaitGoroutines(goBefore + goroutineSlack)
	heapAfter := liveHeap()

	t.Logf("guests %d on 2 daemons from %d addresses, in one room; %d of them churning for %d rounds",
		loadGuests, min(loadGuests, loadSources), loadChurners, loadRounds)
	t.Logf("transfers %d (%d direct, %d through the mesh), bytes verified %d, %d still running when the churn ended",
		loadTransfers, direct, loadTransfers-direct, bytes, running)
	t.Logf("elapsed %s: room full at %s, churn done at %s, transfers done at %s",
		time.Since(began).Round(time.Millisecond), full.Round(time.Millisecond), churned.Round(time.Millisecond), transferred.Round(time.Millisecond))
	t.Logf("presence messages seen by guests %d, %d of them before the welcome", counts.presences.Load(), counts.early.Load())
	t.Logf("goroutines before %d, after %d", goBefore, goAfter)
	t.Logf("heap before %.1f MiB, peak %.1f MiB (sampled, garbage included), after %.1f MiB",
		mib(heapBefore), mib(peak), mib(heapAfter))
	if n := counts.early.Load(); n > 0 {
		t.Errorf("%d presence messages reached a guest before its welcome; the hub answers hello with welcome", n)
	}
	if stacks != nil {
		t.Errorf("%d goroutines before the daemons started, %d after they stopped:\n%s", goBefore, goAfter, stacks)
	}
	if heapAfter > heapBefore+heapSlack {
		t.Errorf("live heap %.1f MiB after everything stopped, from %.1f MiB before", mib(heapAfter), mib(heapBefore))
	}
}

// loadFile is one of TestLoad's transfers.
type loadFile struct {
	path     string
	sum      [32]byte
	from, to *Daemon
	id       string
}

func loadSource(guest int) string { return fmt.Sprintf("127.0.0.%d", 2+guest%loadSources) }

// loadCounts counts what every guest of TestLoad read.
type loadCounts struct {
	presences atomic.Int64
	early     atomic.Int64 // presence read before the welcome
}

// loadGuest is a browser guest as TestLoad plays it. Its reader keeps only
// the newest presence and the answers to joins, so it never falls behind
// however much presence a busy room makes.
type loadGuest struct {
	id, src string
	home    *Daemon
	ws      *websocket.Conn
	wmu     sync.Mutex
	ended   chan struct{} // closed once the reader has returned
	counts  *loadCounts

	mu       sync.Mutex
	changed  chan struct{} // closed at the next message
	presence signal.Message
	answers  []signal.Message // joined and error, in order
	err      error            // why the connection ended
}

// dialLoadGuest connects guest id to home's hub from the loopback address
// src and waits for the welcome. Presence that comes before it is counted
// as early and kept; anything else fails.
func dialLoadGuest(home *Daemon, src, id string, counts *loadCounts) (*loadGuest, error) {
	dialer := websocket.Dialer{
		NetDialContext:   (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}).DialContext,
		HandshakeTimeout: loadPatience,
	}
	ws, _, err := dialer.Dial("ws://"+home.Addr().String()+signal.HubPath, nil)
	if err != nil {
		return nil, fmt.Errorf("guest %s from %s: %w", id, src, err)
	}
	g := &loadGuest{id: id, src: src, home: home, ws: ws, ended: make(chan struct{}), counts: counts, changed: make(chan struct{})}
	if err := g.send(signal.Message{Type: signal.TypeHello, Kind: signal.KindGuest, From: id, Name: "Load " + id}); err != nil {
		ws.Close()
		return nil, err
	}
	ws.SetReadDeadline(time.Now().Add(loadPatience))
	for {
		var m signal.Message
		if err := ws.ReadJSON(&m); err != nil {
			ws.Close()
			return nil, fmt.Errorf("guest %s from %s: reading the welcome: %w", id, src, err)
		}
		if m.Type == signal.TypeWelcome && m.From == home.ID().String() {
			break
		}
		if m.Type != signal.TypePresence {
			ws.Close()
			return nil, fmt.Errorf("guest %s from %s: got %s %s %q; want a welcome from %s", id, src, m.Type, m.Code, m.Text, home.cfg.Name)
		}
		counts.early.Add(1)
		g.take(m)
	}
	ws.SetReadDeadline(time.Time{})
	go g.read()
	return g, nil
}

func (g *loadGuest) read() {
	defer close(g.ended)
	for {
		var m signal.Message
		if err := g.ws.ReadJSON(&m); err != nil {
			g.update(func() { g.err = err })
			return
		}
		g.update(func() { g.take(m) })
	}
}

// take records message m; call it with g.mu held, or before the reader runs.
func (g *loadGuest) take(m signal.Message) {
	switch m.Type {
	case signal.TypePresence:
		g.counts.presences.Add(1)
		// Two publishes may queue out of order; the higher session is
		// the newer view.
		if m.Session > g.presence.Session {
			g.presence = m
		}
	case signal.TypeJoined, signal.TypeError:
		g.answers = append(g.answers, m)
	}
}

func (g *loadGuest) update(f func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	f()
	close(g.changed)
	g.changed = make(chan struct{})
}

func (g *loadGuest) send(m signal.Message) error {
	m.V = signal.Version
	g.wmu.Lock()
	defer g.wmu.Unlock()
	g.ws.SetWriteDeadline(time.Now().Add(loadPatience))
	if err := g.ws.WriteJSON(m); err != nil {
		return fmt.Errorf("guest %s sending %s: %w", g.id, m.Type, err)
	}
	return nil
}

// wait waits until ok, called with g.mu held, reports true.
func (g *loadGuest) wait(what string, ok func() bool) error {
	timeout := time.NewTimer(loadPatience)
	defer timeout.Stop()
	for {
		g.mu.Lock()
		done, err, changed := ok(), g.err, g.changed
		g.mu.Unlock()
		switch {
		case done:
			return nil
		case err != nil:
			return fmt.Errorf("guest %s: the connection ended while waiting for %s: %w", g.id, what, err)
		}
		select {
		case <-changed:
		case <-timeout.C:
			return fmt.Errorf("guest %s: no %s", g.id, what)
		}
	}
}

// join asks to join room code and waits for the answer: nil for joined,
// else a *proto.Error with the code the hub answered.
func (g *loadGuest) join(code string) error {
	g.mu.Lock()
	n := len(g.answers)
	g.mu.Unlock()
	if err := g.send(signal.Message{Type: signal.TypeJoin, Room: code}); err != nil {
		return err
	}
	var answer signal.Message
	err := g.wait("an answer to join", func() bool {
		if len(g.answers) > n {
			answer = g.answers[n]
		}
		return len(g.answers) > n
	})
	switch {
	case err != nil:
		return err
	case answer.Type != signal.TypeJoined || answer.Room != code:
		return &proto.Error{Code: answer.Code, Text: fmt.Sprintf("guest %s joining %s got %s %q", g.id, code, answer.Type, answer.Text)}
	}
	return nil
}

// ownLocked returns the guest itself as its newest presence lists it, or nil.
func (g *loadGuest) ownLocked() *signal.Member {
	i := slices.IndexFunc(g.presence.Members, func(m signal.Member) bool { return m.ID == g.id })
	if i < 0 {
		return nil
	}
	return &g.presence.Members[i]
}

// awaitRoom waits until the guest's presence lists exactly want in room code.
func (g *loadGuest) awaitRoom(code string, want []string) error {
	var last []string
	err := g.wait(fmt.Sprintf("presence listing the %d in the room", len(want)), func() bool {
		last = inRoom(g.presence.Members, code)
		return slices.Equal(last, want)
	})
	if err != nil {
		return fmt.Errorf("%w; the last lists %d: %v", err, len(last), last)
	}
	return nil
}

// awaitEnded waits until the hub has closed the connection.
func (g *loadGuest) awaitEnded() error {
	select {
	case <-g.ended:
		return nil
	case <-time.After(loadPatience):
		return fmt.Errorf("guest %s: the replaced connection stayed open", g.id)
	}
}

// close hangs up, as a closed tab does, and waits for the reader to return.
func (g *loadGuest) close() {
	g.ws.Close()
	<-g.ended
}

// inRoom returns the sorted IDs of the members in room code.
func inRoom(ms []signal.Member, code string) []string {
	var out []string
	for _, m := range ms {
		if slices.Contains(m.Rooms, code) {
			out = append(out, m.ID)
		}
	}
	slices.Sort(out)
	return out
}

// each runs f(0) to f(n-1) at once and returns their errors.
func each(n int, f func(i int) error) error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = f(i) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// writeSeededFile writes size pseudo-random bytes from seed to path and
// returns their SHA-256.
func writeSeededFile(path string, seed uint64, size int64) ([32]byte, error) {
	f, err := os.Create(path)
	if err != nil {
		return [32]byte{}, err
	}
	defer f.Close()
	h := sha256.New()
	w := bufio.NewWriter(io.MultiWriter(f, h))
	if _, err := io.CopyN(w, rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)}), size); err != nil {
		return [32]byte{}, err
	}
	if err := w.Flush(); err != nil {
		return [32]byte{}, err
	}
	return [32]byte(h.Sum(nil)), f.Close()
}

// liveHeap returns the heap in use after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// watchHeap samples the heap until the function it returns is called,
// which returns the highest sample.
func watchHeap() func() uint64 {
	stop, peak := make(chan struct{}), make(chan uint64)
	go func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		var high uint64
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			high = max(high, ms.HeapAlloc)
			select {
			case <-stop:
				peak <- high
				return
			case <-tick.C:
			}
		}
	}()
	return func() uint64 { close(stop); return <-peak }
}

// awaitGoroutines polls until at most limit goroutines run and returns
// their number, with the stacks of all of them if they never got there.
func awaitGoroutines(limit int) (int, []byte) {
	deadline := time.Now().Add(loadPatience / 2)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		n := runtime.NumGoroutine()
		if n <= limit {
			return n, nil
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			for {
				k := runtime.Stack(buf, true)
				if k < len(buf) {
					return n, buf[:k]
				}
				buf = make([]byte, 2*len(buf))
			}
		}
		<-tick.C
	}
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }
