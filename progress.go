package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/ferry-dev/ferry/daemon/api"
	"golang.org/x/term"
)

// waitGrace is how long an offer goes unanswered before the CLI says the
// receiver waits for its owner. The protocol has no message for "asked the
// owner"; a receiver that accepts by itself (--accept all, or a trusted
// sender) answers within moments, and then nothing is said about waiting.
const waitGrace = 2 * time.Second

// How often plain (piped) output prints a progress line: each time another
// lineStep percent is done, at most once per lineMin, and at least once
// per lineMax while bytes move.
const (
	lineStep = 5
	lineMin  = time.Second
	lineMax  = 10 * time.Second
)

// How a progress shows a transfer.
type progressMode int

const (
	modeLines progressMode = iota // plain lines, for pipes and logs
	modeBar                       // a line redrawn in place, on a terminal
	modeJSON                      // one JSON object per event, for scripts
)

// progress shows one transfer's snapshots as they come: to a person on a
// terminal or in a log, or to a script.
type progress struct {
	w    io.Writer
	mode progressMode
	now  func() time.Time
	// failures shows how a transfer that did not arrive ended. It is off
	// where the command returns that as its error, so it is said once.
	failures bool

	first   time.Time // the first snapshot
	start   time.Time // the first snapshot with bytes moving
	from    int64     // bytes the receiver held then
	pending time.Time // when the offer began to wait; zero when it does not
	said    string    // the last line of words printed (modeLines)
	lineAt  time.Time // the last progress line (modeLines)
	linePct int64
	drawn   bool // a bar is on the terminal's current line
	last    api.Transfer
}

// newProgress returns a progress writing to w: a bar on a terminal, plain
// lines otherwise, JSON lines with asJSON.
func newProgress(w io.Writer, asJSON bool) *progress {
	p := &progress{w: w, mode: modeLines, now: time.Now}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.mode = modeBar
	}
	if asJSON {
		p.mode = modeJSON
	}
	return p
}

// progressEvent is a line of --json output. README.md lists its fields.
type progressEvent struct {
	Event string `json:"event"` // "progress"
	api.Transfer
	Percent float64 `json:"percent"`
	Speed   float64 `json:"speed"`         // bytes per second, on average since bytes began to move
	ETA     float64 `json:"eta,omitempty"` // seconds left at that speed
}

// noteEvent is a line of --json output about the daemon, not a transfer.
type noteEvent struct {
	Event   string `json:"event"` // "daemon-stopped", "daemon-back"
	Message string `json:"message"`
}

// show takes the next snapshot of the transfer.
func (p *progress) show(t api.Transfer) {
	now := p.track(t)
	switch p.mode {
	case modeJSON:
		ev := progressEvent{Event: "progress", Transfer: t, Percent: float64(permille(t)) / 10, Speed: p.speed(t, now)}
		if t.State == api.StateDone {
			if took, moved := p.took(t, now); took > 0 && moved > 0 {
				ev.Speed = float64(moved) / took.Seconds()
			}
		}
		if ev.Speed > 0 && !t.State.Final() {
			ev.ETA = float64(int64(float64(t.Bytes-t.Done)/ev.Speed*10)) / 10
		}
		json.NewEncoder(p.w).Encode(ev)
	case modeBar:
		if t.State.Final() {
			fmt.Fprint(p.w, "\r\033[K")
			p.drawn = false
			p.final(t, now)
			return
		}
		fmt.Fprintf(p.w, "\r\033[K%s", p.barLine(t, now))
		p.drawn = true
	default:
		if t.State.Final() {
			p.final(t, now)
			return
		}
		if words := p.words(t, now); words != "" && words != p.said {
			fmt.Fprintln(p.w, words)
			p.said = words
		}
		if t.State == api.StateActive && p.lineDue(t, now) {
			fmt.Fprintln(p.w, p.progressLine(t, now))
		}
	}
}

// note says something about the daemon between snapshots: that it
// stopped, that it is back.
func (p *progress) note(event, text string) {
	switch p.mode {
	case modeJSON:
		json.NewEncoder(p.w).Encode(noteEvent{Event: event, Message: text})
		return
	case modeBar:
		if p.drawn {
			fmt.Fprint(p.w, "\r\033[K")
			p.drawn = false
		}
	}
	fmt.Fprintln(p.w, text)
	p.said = ""
}

// track keeps what the lines are computed from and returns the time of t.
func (p *progress) track(t api.Transfer) time.Time {
	now := p.now()
	if p.first.IsZero() {
		p.first = now
	}
	if t.State == api.StateActive && p.start.IsZero() {
		p.start, p.from = now, t.Done
		p.lineAt, p.linePct = now, permille(t)/10
	}
	if t.State != api.StatePending {
		p.pending = time.Time{}
	} else if p.pending.IsZero() {
		p.pending = now
	}
	p.last = t
	return now
}

// waiting reports whether the offer has waited long enough to say the
// receiver's owner has to answer it.
func (p *progress) waiting(now time.Time) bool {
	return !p.pending.IsZero() && now.Sub(p.pending) >= waitGrace
}

// lineDue reports whether a plain progress line is due, and notes it.
func (p *progress) lineDue(t api.Transfer, now time.Time) bool {
	pct := permille(t) / 10
	since := now.Sub(p.lineAt)
	if since < lineMin || (pct < p.linePct+lineStep && since < lineMax) {
		return false
	}
	p.lineAt, p.linePct = now, pct
	return true
}

// speed is the average rate in bytes per second since bytes began to move,
// 0 while it is not known.
func (p *progress) speed(t api.Transfer, now time.Time) float64 {
	if p.start.IsZero() {
		return 0
	}
	el := now.Sub(p.start).Seconds()
	if el < 0.2 || t.Done <= p.from {
		return 0
	}
	return float64(t.Done-p.from) / el
}

// words says where a transfer stands, when that is news: "" for an offer
// that has not waited long (it may be accepted at once).
func (p *progress) words(t api.Transfer, now time.Time) string {
	peer := peerLabel(t)
	out := t.Direction != "in"
	switch t.State {
	case api.StateConnecting:
		return fmt.Sprintf("Connecting to %s...", t.Addr)
	case api.StatePending:
		if !out {
			return fmt.Sprintf("%s offers %s, %s; answer with 'ferry accept %s' or 'ferry decline %s'.", peer, plural(t.Files, "file"), humanBytes(t.Bytes), t.ID, t.ID)
		}
		if p.waiting(now) {
			return fmt.Sprintf("Waiting for %s to accept %s, %s...", peer, plural(t.Files, "file"), humanBytes(t.Bytes))
		}
		return ""
	case api.StateActive:
		if out {
			return fmt.Sprintf("Sending %s, %s, to %s", plural(t.Files, "file"), humanBytes(t.Bytes), peer)
		}
		return fmt.Sprintf("Receiving %s, %s, from %s", plural(t.Files, "file"), humanBytes(t.Bytes), peer)
	case api.StateInterrupted:
		if out {
			return fmt.Sprintf("The connection to %s is lost; reconnecting to resume...", peer)
		}
		return fmt.Sprintf("The connection to %s is lost; waiting for it to resume...", peer)
	}
	return ""
}

// progressLine is a plain line of progress: percentage, bytes, speed, ETA.
func (p *progress) progressLine(t api.Transfer, now time.Time) string {
	pm := permille(t)
	s := fmt.Sprintf("%3d.%d%%  %s of %s", pm/10, pm%10, humanBytes(t.Done), humanBytes(t.Bytes))
	if sp := p.speed(t, now); sp > 0 {
		s += fmt.Sprintf("  %s  ETA %s", rate(sp), eta(t.Bytes-t.Done, sp))
	} else {
		s += "  no bytes moving yet"
	}
	return s
}

// barLine is the line a terminal shows for t.
func (p *progress) barLine(t api.Transfer, now time.Time) string {
	switch t.State {
	case api.StateActive, api.StateInterrupted:
	case api.StatePending:
		if w := p.words(t, now); w != "" {
			return w
		}
		return fmt.Sprintf("Offering %s, %s, to %s...", plural(t.Files, "file"), humanBytes(t.Bytes), peerLabel(t))
	default:
		if t.State.Final() {
			return strings.SplitN(p.finalWords(t, now), "\n", 2)[0]
		}
		return p.words(t, now)
	}
	const width = 30
	pm := permille(t)
	filled := int(pm * width / 1000)
	sp := p.speed(t, now)
	left := "--"
	if sp > 0 {
		left = eta(t.Bytes-t.Done, sp)
	}
	label := ""
	if t.State == api.StateInterrupted {
		label = " (reconnecting)"
	}
	speed := "--/s"
	if sp > 0 {
		speed = rate(sp)
	}
	return fmt.Sprintf("[%s%s] %3d%%  %s / %s  %s  ETA %s%s", strings.Repeat("#", filled), strings.Repeat(".", width-filled),
		pm/10, humanBytes(t.Done), humanBytes(t.Bytes), speed, left, label)
}

// final prints how the transfer ended.
func (p *progress) final(t api.Transfer, now time.Time) {
	if t.State != api.StateDone && !p.failures {
		return
	}
	fmt.Fprintln(p.w, p.finalWords(t, now))
}

// finalWords says how a transfer ended: for one that arrived, the files,
// the average speed and, for a send, where the receiver saved each item.
func (p *progress) finalWords(t api.Transfer, now time.Time) string {
	if t.State != api.StateDone {
		return failure(t).Error()
	}
	peer := peerLabel(t)
	var b strings.Builder
	if t.Direction == "in" {
		fmt.Fprintf(&b, "Received %s, %s, from %s", plural(t.Files, "file"), humanBytes(t.Bytes), peer)
	} else {
		fmt.Fprintf(&b, "Sent %s, %s, to %s", plural(t.Files, "file"), humanBytes(t.Bytes), peer)
	}
	if took, moved := p.took(t, now); took > 0 && moved > 0 {
		fmt.Fprintf(&b, " in %s (%s on average)", roundDuration(took), rate(float64(moved)/took.Seconds()))
	}
	b.WriteString("; every file verified.")
	if t.Direction != "in" && len(t.Saved) > 0 {
		fmt.Fprintf(&b, "\nSaved on %s, in its downloads folder:", peer)
		for _, s := range t.Saved {
			b.WriteString("\n  " + savedLine(s, peer))
		}
		if more := t.Tops - len(t.Saved); more > 0 {
			fmt.Fprintf(&b, "\n  and %d more", more)
		}
	}
	return b.String()
}

// took returns how long the bytes took to move and how many moved, as
// this command saw them; 0 when it did not see them move.
func (p *progress) took(t api.Transfer, now time.Time) (time.Duration, int64) {
	from, at := p.from, p.start
	if at.IsZero() {
		// The transfer ended before a snapshot showed it active.
		from, at = 0, p.first
	}
	if at.IsZero() || !now.After(at) {
		return 0, 0
	}
	return max(now.Sub(at), time.Millisecond), t.Bytes - from
}

// savedLine says where the receiver saved one top-level item.
func savedLine(s api.Placed, peer string) string {
	slash := ""
	if s.Dir {
		slash = "/"
	}
	switch s.As {
	case "":
		return fmt.Sprintf("%s%s  (%s did not report its name)", s.Name, slash, peer)
	case s.Name:
		return s.As + slash
	}
	return fmt.Sprintf("%s%s  (%s%s was taken)", s.As, slash, s.Name, slash)
}

// failure says how a transfer that did not arrive ended.
func failure(t api.Transfer) error {
	why := t.Error
	if why == "" {
		why = "no reason given"
	}
	switch t.State {
	case api.StateDeclined:
		return fmt.Errorf("declined: %s", why)
	case api.StateExpired:
		return fmt.Errorf("no answer: %s", why)
	case api.StateCancelled:
		return fmt.Errorf("cancelled: %s", why)
	}
	return fmt.Errorf("failed: %s", why)
}

// permille is how much of the transfer the receiver holds, in tenths of
// a percent.
func permille(t api.Transfer) int64 {
	if t.Bytes <= 0 {
		if t.State == api.StateDone {
			return 1000
		}
		return 0
	}
	return t.Done * 1000 / t.Bytes
}

func peerLabel(t api.Transfer) string {
	switch {
	case t.PeerName != "":
		return t.PeerName
	case t.Addr != "":
		return t.Addr
	}
	return "the other device"
}

// rate formats a speed in the units sizes are shown in.
func rate(bytesPerSec float64) string {
	if bytesPerSec < 1 {
		return "under 1 B/s"
	}
	return humanBytes(int64(bytesPerSec)) + "/s"
}

// eta formats how long n bytes take at bytesPerSec.
func eta(n int64, bytesPerSec float64) string {
	return roundDuration(time.Duration(float64(n) / bytesPerSec * float64(time.Second)))
}

// roundDuration formats d as precisely as people read it.
func roundDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}
