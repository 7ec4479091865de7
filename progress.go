package main

import (
	"fmt"
	"github.com/ferry-dev/ferry/daemon/api"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"
)

// newProgress returns a printer for transfer snapshots: a redrawn bar on a
// terminal, plain lines otherwise (one per state change and per 10%), and
// nothing in JSON mode.
func newProgress(w io.Writer, quiet bool) func(api.Transfer) {
	if quiet {
		return func(api.Transfer) {}
	}
	tty := false
	if f, ok := w.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	var (
		lastState  api.State
		lastDecile int64 = -1
		start      time.Time
		startBytes int64
	)
	return func(t api.Transfer) {
		if t.State == api.StateActive && start.IsZero() {
			start, startBytes = time.Now(), t.Done
		}
		speed := 0.0
		if el := time.Since(start).Seconds(); !start.IsZero() && el > 0.2 {
			speed = float64(t.Done-startBytes) / el
		}
		pct := int64(100)
		if t.Bytes > 0 {
			pct = t.Done * 100 / t.Bytes
		}
		if tty {
			line := stateLine(t)
			if t.State == api.StateActive || t.State == api.StateInterrupted {
				line = bar(t, pct, speed)
			}
			fmt.Fprintf(w, "\r\033[K%s", line)
			if t.State.Final() {
				fmt.Fprintln(w)
			}
			return
		}
		if t.State != lastState {
			fmt.Fprintln(w, stateLine(t))
			lastState = t.State
		}
		if t.State == api.StateActive && pct/10 != lastDecile {
			lastDecile = pct / 10
			fmt.Fprintf(w, "%3d%%  %s of %s  %s\n", pct, humanBytes(t.Done), humanBytes(t.Bytes), rate(speed))
		}
	}
}

func stateLine(t api.Transfer) string {
	peer := t.PeerName
	if peer == "" {
		peer = t.Addr
	}
	switch t.State {
	case api.StateConnecting:
		return fmt.Sprintf("Connecting to %s...", t.Addr)
	case api.StatePending:
		return fmt.Sprintf("Waiting for %s to accept %d file(s), %s...", peer, t.Files, humanBytes(t.Bytes))
	case api.StateActive:
		return fmt.Sprintf("Sending to %s", peer)
	case api.StateInterrupted:
		return "Connection lost; resuming..."
	case api.StateDone:
		return fmt.Sprintf("Sent %d file(s), %s, to %s; every file verified.", t.Verified, humanBytes(t.Bytes), peer)
	}
	return fmt.Sprintf("%s: %s", t.State, t.Error)
}

func bar(t api.Transfer, pct int64, speed float64) string {
	const width = 30
	filled := int(pct * width / 100)
	eta := "--"
	if speed > 0 {
		eta = (time.Duration(float64(t.Bytes-t.Done)/speed) * time.Second).Round(time.Second).String()
	}
	label := ""
	if t.State == api.StateInterrupted {
		label = " (reconnecting)"
	}
	return fmt.Sprintf("[%s%s] %3d%%  %s / %s  %s  ETA %s%s", strings.Repeat("#", filled), strings.Repeat(".", width-filled),
		pct, humanBytes(t.Done), humanBytes(t.Bytes), rate(speed), eta, label)
}

func rate(bytesPerSec float64) string {
	return fmt.Sprintf("%.1f MB/s", bytesPerSec/1e6)
}
