package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/ferry-dev/ferry/daemon/api"
	"github.com/mdp/qrterminal/v3"
	"golang.org/x/term"
)

func cmdRooms(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var v api.RoomsView
	if done, err := fetch(ctx, args, stdout, stderr, "rooms", "list everyone nearby and the code rooms", "/api/rooms", &v); done || err != nil {
		return err
	}
	names := map[string]string{}
	for _, m := range v.Nearby {
		names[m.ID] = m.Name
	}
	fmt.Fprintf(stdout, "Nearby: everyone on the network (%s)\n", countMembers(v.Nearby))
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	for i, m := range v.Nearby {
		where := "device"
		switch {
		case i == 0:
			where = "device (this one)"
		case m.Kind == api.KindGuest:
			where = "browser on " + names[m.Home]
		}
		fmt.Fprintf(tw, "  %s\t%s\n", m.Name, where)
	}
	tw.Flush()
	if len(v.Rooms) == 0 {
		fmt.Fprintln(stdout, "\nNo code rooms. Make one with 'ferry room create'.")
		return nil
	}
	fmt.Fprintln(stdout)
	tw = tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ROOM\tMEMBERS\tTHIS DEVICE\tENDS\tLINK")
	for _, r := range v.Rooms {
		in := "-"
		if r.Joined {
			in = "in it"
		}
		members := "nobody"
		if len(r.Members) > 0 {
			var ns []string
			for _, m := range r.Members {
				ns = append(ns, m.Name)
			}
			members = strings.Join(ns, ", ")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Code, members, in, roomEnds(r), r.Link)
	}
	return tw.Flush()
}

// roomEnds says when a room ends: an empty room at the end of its time
// (the API's expiresIn), one with members not while it has any.
func roomEnds(r api.Room) string {
	switch {
	case len(r.Members) > 0:
		return "not while anyone is in it"
	case r.Expires < time.Second:
		return "any moment now, if nobody joins"
	case r.Expires < time.Minute:
		return fmt.Sprintf("in %d s, if nobody joins", int(r.Expires/time.Second))
	}
	return fmt.Sprintf("in %d min, if nobody joins", int((r.Expires+time.Minute-1)/time.Minute))
}

func countMembers(ms []api.Member) string {
	var daemons, guests int
	for _, m := range ms {
		if m.Kind == api.KindGuest {
			guests++
		} else {
			daemons++
		}
	}
	return fmt.Sprintf("%s, %s", plural(daemons, "device"), plural(guests, "browser"))
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func cmdRoom(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, dataDir, asJSON := clientFlags("room", "create | join CODE | leave CODE", "make, join or leave a code room", stderr)
	noQR := fs.Bool("no-qr", false, "do not draw the QR code of the join link")
	// Flags may come before or after the verb and the code.
	if err := parse(fs, args); err != nil {
		return err
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fs.Usage()
		return errUsage
	}
	verb := rest[0]
	if err := parse(fs, rest[1:]); err != nil {
		return err
	}
	if verb != "create" && verb != "join" && verb != "leave" || (verb == "create") != (fs.NArg() == 0) || fs.NArg() > 1 {
		fs.Usage()
		return errUsage
	}
	c, err := dialDaemon(*dataDir)
	if err != nil {
		return err
	}
	if verb == "leave" {
		if err := c.Do(ctx, "POST", "/api/rooms/leave", api.RoomRequest{Room: fs.Arg(0)}, nil); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Left room %s.\n", strings.ToUpper(fs.Arg(0)))
		return nil
	}
	var room api.Room
	if verb == "create" {
		err = c.Do(ctx, "POST", "/api/rooms/create", struct{}{}, &room)
	} else {
		err = c.Do(ctx, "POST", "/api/rooms/join", api.RoomRequest{Room: fs.Arg(0)}, &room)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(stdout, room)
	}
	if verb == "create" {
		fmt.Fprintf(stdout, "Room %s is open, and this device is in it.\n", room.Code)
	} else {
		var ns []string
		for _, m := range room.Members {
			ns = append(ns, m.Name)
		}
		fmt.Fprintf(stdout, "Joined room %s: %s.\n", room.Code, strings.Join(ns, ", "))
	}
	if room.Link != "" {
		fmt.Fprintf(stdout, "\nJoin link: %s\n", room.Link)
		if !*noQR {
			drawQR(stdout, room.Link)
		}
	}
	fmt.Fprintf(stdout, "\nOther computers join with: ferry room join %s\n", room.Code)
	fmt.Fprintf(stdout, "Send to everyone in it with: ferry send --room %s PATH...\n", room.Code)
	return nil
}

// drawQR draws a QR code of text with half blocks, small enough for a
// terminal, on a white border that phones read in dark themes too.
func drawQR(w io.Writer, text string) {
	var b bytes.Buffer
	qrterminal.GenerateWithConfig(text, qrterminal.Config{
		Level: qrterminal.L, Writer: &b, HalfBlocks: true, QuietZone: 2,
		BlackChar: qrterminal.BLACK_BLACK, WhiteBlackChar: qrterminal.WHITE_BLACK,
		WhiteChar: qrterminal.WHITE_WHITE, BlackWhiteChar: qrterminal.BLACK_WHITE,
	})
	fmt.Fprintln(w)
	w.Write(b.Bytes())
}

// sendRoom sends to every other daemon in a room at once and follows the
// transfers, each on its own line.
func sendRoom(ctx context.Context, c *api.Client, dataDir string, wait time.Duration, room string, paths []string, asJSON bool, stdout, stderr io.Writer) error {
	var rs api.RoomSend
	if err := c.Do(ctx, "POST", "/api/send", api.SendRequest{Room: room, Paths: paths}, &rs); err != nil {
		return err
	}
	for _, s := range rs.Skipped {
		fmt.Fprintf(stderr, "Not sending to %s: %s\n", s.Name, s.Error)
	}
	if !asJSON {
		for _, t := range rs.Transfers {
			fmt.Fprintf(stdout, "Transfer %s to %s\n", t.ID, t.Name)
		}
		if len(rs.Transfers) > 0 {
			fmt.Fprintf(stdout, "Cancel one from anywhere with '%s'.\n", cliLine(dataDir, "cancel", "ID"))
		}
	}
	board := newBoard(stdout, rs.Transfers, asJSON)
	w := newWatcher(dataDir, c, wait, "each transfer", cliLine(dataDir, "transfers"), board.note)
	results := make([]api.Transfer, len(rs.Transfers))
	errs := make([]error, len(rs.Transfers))
	var wg sync.WaitGroup
	for i, t := range rs.Transfers {
		wg.Go(func() {
			results[i], errs[i] = w.follow(ctx, t.ID, func(info api.Transfer) { board.show(i, info) })
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		stop, done := context.WithTimeout(context.Background(), 15*time.Second)
		defer done()
		for _, t := range rs.Transfers {
			w.client().Do(stop, "POST", "/api/transfers/"+t.ID+"/cancel", struct{}{}, nil)
		}
		return errors.New("cancelled")
	}
	failed := len(rs.Skipped)
	for i, info := range results {
		if errs[i] != nil {
			fmt.Fprintf(stderr, "%s: %v\n", rs.Transfers[i].Name, errs[i])
		}
		if errs[i] != nil || info.State != api.StateDone {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d devices in the room did not get the files", failed, len(rs.Transfers)+len(rs.Skipped))
	}
	return nil
}

// board shows one progress line per transfer: redrawn in place on a
// terminal, and as plain lines named by the receiver otherwise.
type board struct {
	mu    sync.Mutex
	w     io.Writer
	tty   bool
	json  bool
	names []string
	lines []string
	drawn bool
	rows  []*progress
}

func newBoard(w io.Writer, ts []api.RoomTransfer, asJSON bool) *board {
	b := &board{w: w, json: asJSON, lines: make([]string, len(ts))}
	if f, ok := w.(*os.File); ok && !asJSON {
		b.tty = term.IsTerminal(int(f.Fd()))
	}
	width := 0
	for _, t := range ts {
		width = max(width, len(t.Name))
	}
	for i, t := range ts {
		b.names = append(b.names, fmt.Sprintf("%-*s", width, t.Name))
		b.lines[i] = "connecting..."
		out := &prefixWriter{b: b, prefix: t.Name + ": "}
		if asJSON {
			out.prefix = "" // every event names its transfer
		}
		p := newProgress(out, asJSON)
		p.failures = true
		b.rows = append(b.rows, p)
	}
	return b
}

func (b *board) show(i int, info api.Transfer) {
	if !b.tty {
		b.rows[i].show(info)
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.rows[i].track(info)
	b.lines[i] = b.rows[i].barLine(info, now)
	if b.drawn {
		fmt.Fprintf(b.w, "\033[%dA", len(b.lines))
	}
	for j, l := range b.lines {
		fmt.Fprintf(b.w, "\r\033[K%s  %s\n", b.names[j], l)
	}
	b.drawn = true
}

// note says something about the daemon below the lines of the transfers.
func (b *board) note(event, text string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.json {
		json.NewEncoder(b.w).Encode(noteEvent{Event: event, Message: text})
		return
	}
	fmt.Fprintln(b.w, text)
	b.drawn = false // the board is drawn again below the note
}

// prefixWriter writes whole lines to the board's writer, each after a
// prefix, so lines of parallel transfers do not mix.
type prefixWriter struct {
	b      *board
	prefix string
}

func (p *prefixWriter) Write(s []byte) (int, error) {
	p.b.mu.Lock()
	defer p.b.mu.Unlock()
	for _, line := range strings.SplitAfter(string(s), "\n") {
		if line != "" {
			io.WriteString(p.b.w, p.prefix+line)
		}
	}
	return len(s), nil
}
