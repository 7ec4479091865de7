package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ferry-dev/ferry/daemon/api"
)

func cmdSend(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, dataDir, asJSON := clientFlags("send", "--to NAME|ID|HOST:PORT PATH... | --room CODE PATH...", "send files and folders to another daemon, or to every daemon in a room", stderr)
	to := fs.String("to", "", "the receiving daemon: a nearby device's name or ID prefix (see 'ferry peers'), or HOST:PORT")
	room := fs.String("room", "", "send to every other daemon in this code room, in parallel (see 'ferry rooms')")
	wait := fs.Duration("daemon-wait", defaultDaemonWait, "if the local daemon stops during the send, how long to wait for it to come back and follow the transfer on")
	fs.Lookup("json").Usage = "print one JSON object per line for each progress event (see README.md)"
	if err := parse(fs, args); err != nil {
		return err
	}
	if (*to == "") == (*room == "") || fs.NArg() == 0 {
		fs.Usage()
		return errUsage
	}
	var paths []string
	for _, p := range fs.Args() {
		abs, err := filepath.Abs(p)
		if err != nil {
			return err
		}
		paths = append(paths, abs)
	}
	c, err := dialDaemon(*dataDir)
	if err != nil {
		return err
	}
	if *room != "" {
		return sendRoom(ctx, c, *dataDir, *wait, *room, paths, *asJSON, stdout, stderr)
	}
	var started api.Started
	if err := c.Do(ctx, "POST", "/api/send", api.SendRequest{To: *to, Paths: paths}, &started); err != nil {
		return err
	}
	p := newProgress(stdout, *asJSON)
	if !*asJSON {
		fmt.Fprintf(stdout, "Transfer %s; cancel it from anywhere with '%s'.\n", started.ID, cliLine(*dataDir, "cancel", started.ID))
	}
	w := newWatcher(*dataDir, c, *wait, "the transfer", cliLine(*dataDir, "transfers", "-f", started.ID), p.note)
	return followEnd(ctx, w, p, started.ID, true)
}

// followEnd follows transfer id until it ends and returns its outcome as
// the command's: nil when every file arrived, otherwise how it ended,
// which the command prints once. An interrupt (Ctrl-C) cancels the
// transfer when cancel is set.
func followEnd(ctx context.Context, w *watcher, p *progress, id string, cancel bool) error {
	info, err := w.follow(ctx, id, p.show)
	if ctx.Err() != nil {
		if !cancel {
			return nil
		}
		stop, done := context.WithTimeout(context.Background(), 15*time.Second)
		defer done()
		if err := w.client().Do(stop, "POST", "/api/transfers/"+id+"/cancel", struct{}{}, nil); err != nil {
			return fmt.Errorf("interrupted, but the transfer is not cancelled (%v); cancel it with '%s'", err, cliLine(w.dir, "cancel", id))
		}
		return errors.New("cancelled")
	}
	if err != nil {
		return err
	}
	if info.State != api.StateDone {
		return failure(info)
	}
	return nil
}

func cmdTransfers(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, dataDir, asJSON := clientFlags("transfers", "[-f] [ID]", "list current and recent transfers, or show one in full", stderr)
	follow := fs.Bool("f", false, "follow transfer ID until it ends, as 'ferry send' does")
	wait := fs.Duration("daemon-wait", defaultDaemonWait, "with -f: if the daemon stops, how long to wait for it to come back")
	fs.Lookup("json").Usage = "print JSON; with -f, one object per line for each progress event"
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 1 || *follow && fs.NArg() != 1 {
		fs.Usage()
		return errUsage
	}
	c, err := dialDaemon(*dataDir)
	if err != nil {
		return err
	}
	if fs.NArg() == 1 {
		id := fs.Arg(0)
		if *follow {
			p := newProgress(stdout, *asJSON)
			w := newWatcher(*dataDir, c, *wait, "the transfer", cliLine(*dataDir, "transfers", "-f", id), p.note)
			return followEnd(ctx, w, p, id, false)
		}
		var t api.Transfer
		if err := c.Do(ctx, "GET", "/api/transfers/"+id, nil, &t); err != nil {
			return err
		}
		if *asJSON {
			return printJSON(stdout, t)
		}
		return showTransfer(stdout, t, time.Now())
	}
	var list []api.Transfer
	if err := c.Do(ctx, "GET", "/api/transfers", nil, &list); err != nil {
		return err
	}
	if *asJSON {
		return printJSON(stdout, list)
	}
	if len(list) == 0 {
		fmt.Fprintln(stdout, "No transfers yet.")
		return nil
	}
	listTransfers(stdout, list)
	return nil
}

// Widths at which a column of 'ferry transfers' is cut; 'ferry transfers
// ID' shows the whole text.
const (
	peerWidth   = 24
	itemsWidth  = 40
	reasonWidth = 48
)

// listTransfers prints the table of 'ferry transfers'.
func listTransfers(w io.Writer, list []api.Transfer) {
	why := false
	for _, t := range list {
		why = why || reason(t) != ""
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	header := "ID\tDIR\tPEER\tSTATE\tPROGRESS\tFILES\tITEMS"
	if why {
		header += "\tWHY"
	}
	fmt.Fprintln(tw, header)
	cut := false
	for _, t := range list {
		dir := "from"
		if t.Direction == "out" {
			dir = "to"
		}
		line := fmt.Sprintf("%s\t%s\t%s\t%s\t%s/%s\t%d/%d\t%s", t.ID, dir, clipText(peerLabel(t), peerWidth), t.State,
			humanBytes(t.Done), humanBytes(t.Bytes), t.Verified, t.Files, clipText(itemsSummary(t, itemsWidth), itemsWidth))
		if r := reason(t); r != "" {
			line += "\t" + clipText(r, reasonWidth)
			cut = cut || utf8.RuneCountInString(r) > reasonWidth
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()
	if cut {
		fmt.Fprintln(w, "\n'ferry transfers ID' shows the whole text of a reason cut short here.")
	}
}

// reason is why a transfer did not arrive, "" for one that did or has not
// ended.
func reason(t api.Transfer) string {
	if t.State == api.StateDone || t.State == api.StateActive || t.State == api.StatePending || t.State == api.StateConnecting {
		return ""
	}
	if t.State == api.StateInterrupted && t.Direction == "in" && t.Held > 0 {
		held := "holds " + humanBytes(t.Held) + "; 'ferry clean' drops it"
		if t.Error == "" {
			return held
		}
		return held + "; " + t.Error
	}
	return t.Error
}

// tops returns the top-level names among a transfer's items, in order, a
// folder's with "/" after it.
func tops(items []string) []string {
	var out []string
	seen := map[string]int{}
	for _, it := range items {
		top, _, nested := strings.Cut(it, "/")
		i, ok := seen[top]
		if !ok {
			i = len(out)
			seen[top] = i
			out = append(out, top)
		}
		if nested && !strings.HasSuffix(out[i], "/") {
			out[i] += "/"
		}
	}
	return out
}

// itemsSummary names a transfer's top-level items in about width
// characters: "holiday/, notes.txt", "holiday/ and 3 more".
func itemsSummary(t api.Transfer, width int) string {
	names := tops(t.Items)
	total := max(t.Tops, len(names))
	if len(names) == 0 {
		return plural(t.Files, "file")
	}
	s := names[0]
	shown := 1
	for _, n := range names[1:] {
		rest := total - shown - 1
		more := ""
		if rest > 0 {
			more = fmt.Sprintf(" and %d more", rest)
		}
		if utf8.RuneCountInString(s+", "+n+more) > width {
			break
		}
		s += ", " + n
		shown++
	}
	if rest := total - shown; rest > 0 {
		s += fmt.Sprintf(" and %d more", rest)
	}
	return s
}

// clipText makes s safe for a terminal and at most width characters,
// ending in "…" when it was cut.
func clipText(s string, width int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, s)
	if utf8.RuneCountInString(s) <= width {
		return s
	}
	return string([]rune(s)[:width-1]) + "…"
}

// showTransfer prints one transfer in full for 'ferry transfers ID'.
func showTransfer(w io.Writer, t api.Transfer, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	peer := clipText(peerLabel(t), 300)
	if t.PeerKind == api.KindGuest {
		peer += " (a browser)"
	}
	if t.Addr != "" && t.PeerName != "" {
		peer += " at " + t.Addr
	}
	dir := "from " + peer
	if t.Direction == "out" {
		dir = "to " + peer
	}
	fmt.Fprintf(tw, "Transfer:\t%s, %s\n", t.ID, dir)
	fmt.Fprintf(tw, "State:\t%s\n", t.State)
	if t.Error != "" && t.State != api.StateDone {
		r := clipText(t.Error, 2000)
		if t.Code != "" && t.State == api.StateFailed {
			r += " (" + t.Code + ")"
		}
		fmt.Fprintf(tw, "Why:\t%s\n", r)
	}
	fmt.Fprintf(tw, "Progress:\t%s of %s (%d%%); %d of %s verified\n", humanBytes(t.Done), humanBytes(t.Bytes), permille(t)/10, t.Verified, plural(t.Files, "file"))
	if t.File != "" {
		fmt.Fprintf(tw, "Now:\t%s, %s of %s\n", clipText(t.File, 300), humanBytes(t.FileDone), humanBytes(t.FileBytes))
	}
	fmt.Fprintf(tw, "Items:\t%s\n", itemsSummary(t, 2000))
	if t.Direction == "out" && t.Verified > 0 {
		label := "Saved:"
		for _, s := range t.Saved {
			fmt.Fprintf(tw, "%s\t%s\n", label, clipText(savedLine(s, peerLabel(t)), 600))
			label = ""
		}
		if more := t.Tops - len(t.Saved); more > 0 {
			fmt.Fprintf(tw, "\tand %d more\n", more)
		}
		fmt.Fprintf(tw, "\tin the downloads folder of %s\n", clipText(peerLabel(t), 300))
	}
	if len(t.Resumed) > 0 {
		var at []string
		for _, n := range t.Resumed {
			at = append(at, humanBytes(n))
		}
		fmt.Fprintf(tw, "Resumed:\tfrom %s\n", strings.Join(at, ", "))
	}
	fmt.Fprintf(tw, "Started:\t%s (%s ago)\n", t.Started.Local().Format(time.DateTime), now.Sub(t.Started).Round(time.Second))
	fmt.Fprintf(tw, "Updated:\t%s (%s ago)\n", t.Updated.Local().Format(time.DateTime), now.Sub(t.Updated).Round(time.Second))
	return tw.Flush()
}

func answerCmd(verb string) func(context.Context, []string, io.Writer, io.Writer) error {
	return func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		summary := map[string]string{"accept": "accept a pending incoming offer", "decline": "decline a pending incoming offer", "cancel": "cancel a transfer in either direction"}[verb]
		id, c, asJSON, err := oneArg(verb, "ID", summary, args, stderr)
		if err != nil {
			return err
		}
		// The daemon answers with the transfer as it stands after the
		// answer; a cancel waits for the transfer to end.
		var info api.Transfer
		if err := c.Do(ctx, "POST", "/api/transfers/"+id+"/"+verb, struct{}{}, &info); err != nil {
			return err
		}
		if asJSON {
			return printJSON(stdout, info)
		}
		line := fmt.Sprintf("%s: %s", info.ID, info.State)
		if r := reason(info); r != "" {
			line += ": " + r
		}
		fmt.Fprintln(stdout, line)
		return nil
	}
}
