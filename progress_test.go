package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ferry-dev/ferry/daemon/api"
)

// clocked is a progress on a clock the test moves, fed snapshots of one
// outgoing transfer of 100 MiB to bob.
type clocked struct {
	p    *progress
	out  bytes.Buffer
	base time.Time
	at   time.Duration
}

func newClocked(mode progressMode, failures bool) *clocked {
	c := &clocked{base: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
	c.p = &progress{w: &c.out, mode: mode, failures: failures, now: func() time.Time { return c.base.Add(c.at) }}
	return c
}

func (c *clocked) snap(at time.Duration, state api.State, done int64, edit ...func(*api.Transfer)) {
	c.at = at
	t := api.Transfer{ID: "5lqd2hm7ox3a4k6s", Direction: "out", PeerName: "bob", Addr: "127.0.0.1:7466", State: state,
		Files: 2, Bytes: 100 << 20, Done: done, Items: []string{"album", "album/a.jpg", "notes.txt"}, Tops: 2}
	for _, f := range edit {
		f(&t)
	}
	c.p.show(t)
}

func done(t *api.Transfer) {
	t.Verified = 2
	t.Saved = []api.Placed{{Name: "album", As: "album (1)", Dir: true}, {Name: "notes.txt", As: "notes.txt"}}
}

// TestProgressPlainLines: piped output gets a progress line at a steady
// pace (here each second, 10% apart), no "waiting" for an offer accepted
// at once, and a last line with the average speed and where the receiver
// saved each item.
func TestProgressPlainLines(t *testing.T) {
	c := newClocked(modeLines, false)
	c.snap(0, api.StateConnecting, 0)
	c.snap(100*time.Millisecond, api.StatePending, 0)
	c.snap(150*time.Millisecond, api.StateActive, 0)
	// 10 MiB/s, a snapshot every 250 ms.
	for i := int64(1); i <= 40; i++ {
		c.snap(150*time.Millisecond+time.Duration(i)*250*time.Millisecond, api.StateActive, i*(100<<20)/40)
	}
	c.snap(10400*time.Millisecond, api.StateDone, 100<<20, done)
	want := `Connecting to 127.0.0.1:7466...
Sending 2 files, 100.0 MiB, to bob
 10.0%  10.0 MiB of 100.0 MiB  10.0 MiB/s  ETA 9s
 20.0%  20.0 MiB of 100.0 MiB  10.0 MiB/s  ETA 8s
 30.0%  30.0 MiB of 100.0 MiB  10.0 MiB/s  ETA 7s
 40.0%  40.0 MiB of 100.0 MiB  10.0 MiB/s  ETA 6s
 50.0%  50.0 MiB of 100.0 MiB  10.0 MiB/s  ETA 5s
 60.0%  60.0 MiB of 100.0 MiB  10.0 MiB/s  ETA 4s
 70.0%  70.0 MiB of 100.0 MiB  10.0 MiB/s  ETA 3s
 80.0%  80.0 MiB of 100.0 MiB  10.0 MiB/s  ETA 2s
 90.0%  90.0 MiB of 100.0 MiB  10.0 MiB/s  ETA 1s
100.0%  100.0 MiB of 100.0 MiB  10.0 MiB/s  ETA 0s
Sent 2 files, 100.0 MiB, to bob in 10.3s (9.8 MiB/s on average); every file verified.
Saved on bob, in its downloads folder:
  album (1)/  (album/ was taken)
  notes.txt
`
	if got := c.out.String(); got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
}

// TestProgressSlowAndWaiting: an offer left waiting is said to wait, once;
// a slow transfer still gets a line every 10 s; a failure is printed only
// where the caller does not return it as its error.
func TestProgressSlowAndWaiting(t *testing.T) {
	for _, failures := range []bool{false, true} {
		c := newClocked(modeLines, failures)
		c.snap(0, api.StatePending, 0)
		for i := 1; i <= 6; i++ {
			c.snap(time.Duration(i)*500*time.Millisecond, api.StatePending, 0)
		}
		// 100 KiB/s: 1% takes about 10 s.
		start := 3 * time.Second
		for i := int64(0); i <= 50; i++ {
			c.snap(start+time.Duration(i)*500*time.Millisecond, api.StateActive, i*50<<10)
		}
		c.snap(30*time.Second, api.StateDeclined, 0, func(t *api.Transfer) { t.Error = "bob declined the transfer" })
		want := `Waiting for bob to accept 2 files, 100.0 MiB...
Sending 2 files, 100.0 MiB, to bob
  0.9%  1000.0 KiB of 100.0 MiB  100.0 KiB/s  ETA 16m54s
  1.9%  2.0 MiB of 100.0 MiB  100.0 KiB/s  ETA 16m44s
`
		if failures {
			want += "declined: bob declined the transfer\n"
		}
		if got := c.out.String(); got != want {
			t.Errorf("with failures=%v, output:\n%s\nwant:\n%s", failures, got, want)
		}
	}
}

// TestProgressEndSpeed: a transfer over at once still states a speed that
// is not zero, and one seen only once it ended states none.
func TestProgressEndSpeed(t *testing.T) {
	c := newClocked(modeLines, false)
	c.snap(0, api.StateActive, 0, func(t *api.Transfer) { t.Bytes = 2 })
	c.snap(3*time.Millisecond, api.StateDone, 2, func(t *api.Transfer) { t.Bytes = 2; t.Saved = nil })
	if got, want := c.out.String(), "Sending 2 files, 2 B, to bob\nSent 2 files, 2 B, to bob in 3ms (666 B/s on average); every file verified.\n"; got != want {
		t.Errorf("output %q, want %q", got, want)
	}
	c = newClocked(modeLines, false)
	c.snap(time.Second, api.StateDone, 100<<20)
	if got, want := c.out.String(), "Sent 2 files, 100.0 MiB, to bob; every file verified.\n"; got != want {
		t.Errorf("output %q, want %q", got, want)
	}
}

// TestProgressJSON: --json prints one object per snapshot and per note,
// each on its own line, with the transfer's fields and percent, speed and
// ETA.
func TestProgressJSON(t *testing.T) {
	c := newClocked(modeJSON, false)
	c.snap(0, api.StateActive, 0)
	c.snap(2*time.Second, api.StateActive, 25<<20)
	c.p.note("daemon-stopped", "The ferry daemon stopped.")
	c.snap(4*time.Second, api.StateDone, 100<<20, done)
	lines := strings.Split(strings.TrimSuffix(c.out.String(), "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines, want 4:\n%s", len(lines), c.out.String())
	}
	type event struct {
		Event, ID, State, Message string
		Percent, Speed, ETA       float64
		Done, Bytes               int64
		Saved                     []api.Placed
	}
	var evs []event
	for _, l := range lines {
		var e event
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("not one JSON object: %q: %v", l, err)
		}
		evs = append(evs, e)
	}
	if e := evs[1]; e.Event != "progress" || e.ID != "5lqd2hm7ox3a4k6s" || e.State != "active" || e.Percent != 25 || e.Speed != 25<<20/2 || e.ETA != 6 {
		t.Errorf("progress event: %+v", e)
	}
	if e := evs[2]; e.Event != "daemon-stopped" || e.Message != "The ferry daemon stopped." || e.ID != "" {
		t.Errorf("note: %+v", e)
	}
	if e := evs[3]; e.State != "done" || e.Percent != 100 || e.Speed != 25<<20 || e.ETA != 0 || len(e.Saved) != 2 || e.Saved[0].As != "album (1)" {
		t.Errorf("last event: %+v", e)
	}
}
