package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/ferry-dev/ferry/daemon/api"
	"github.com/ferry-dev/ferry/daemon/datadir"
)

func dialDaemon(dataDir string) (*api.Client, error) {
	info, ok, err := datadir.New(dataDir).ReadAPIInfo()
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("no ferry daemon is running with data folder %s; start one with 'ferry run' (or pass --data-dir)", dataDir)
	}
	return api.NewClient(info.Addr), nil
}

func clientFlags(name, args, summary string, stderr io.Writer) (*flag.FlagSet, *string, *bool) {
	fs := newFlags(name, args, summary, stderr)
	dataDir := fs.String("data-dir", defaultDataDir(), "data folder of the daemon to talk to")
	asJSON := fs.Bool("json", false, "print JSON")
	return fs, dataDir, asJSON
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// fetch is the start of a listing command: it parses the flags, asks the
// daemon for path into out and, with --json, prints it. done reports that
// the command has nothing more to print.
func fetch(ctx context.Context, args []string, stdout, stderr io.Writer, name, summary, path string, out any) (done bool, err error) {
	fs, dataDir, asJSON := clientFlags(name, "", summary, stderr)
	if err := parse(fs, args); err != nil {
		return true, err
	}
	c, err := dialDaemon(*dataDir)
	if err != nil {
		return true, err
	}
	if err := c.Do(ctx, "GET", path, nil, out); err != nil {
		return true, err
	}
	if *asJSON {
		return true, printJSON(stdout, out)
	}
	return false, nil
}

// fetchList is fetch for a list: when the list is empty it prints empty
// and reports done; otherwise it returns a table writer with the header.
func fetchList[T any](ctx context.Context, args []string, stdout, stderr io.Writer, name, summary, path, empty, header string) ([]T, *tabwriter.Writer, error) {
	var list []T
	if done, err := fetch(ctx, args, stdout, stderr, name, summary, path, &list); done || err != nil {
		return nil, nil, err
	}
	if len(list) == 0 {
		fmt.Fprintln(stdout, empty)
		return nil, nil, nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	return list, tw, nil
}

func cmdSend(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, dataDir, asJSON := clientFlags("send", "--to NAME|ID|HOST:PORT PATH... | --room CODE PATH...", "send files and folders to another daemon, or to every daemon in a room", stderr)
	to := fs.String("to", "", "the receiving daemon: a nearby device's name or ID prefix (see 'ferry peers'), or HOST:PORT")
	room := fs.String("room", "", "send to every other daemon in this code room, in parallel (see 'ferry rooms')")
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
		return sendRoom(ctx, c, *room, paths, *asJSON, stdout, stderr)
	}
	var started api.Started
	if err := c.Do(ctx, "POST", "/api/send", api.SendRequest{To: *to, Paths: paths}, &started); err != nil {
		return err
	}
	info, err := c.Watch(ctx, started.ID, newProgress(stdout, *asJSON))
	if err != nil {
		if ctx.Err() != nil {
			c.Do(context.Background(), "POST", "/api/transfers/"+started.ID+"/cancel", struct{}{}, nil)
			return errors.New("cancelled")
		}
		return err
	}
	if *asJSON {
		printJSON(stdout, info)
	}
	if info.State != api.StateDone {
		return sendFailure(info)
	}
	return nil
}

func sendFailure(info api.Transfer) error {
	switch info.State {
	case api.StateDeclined:
		return fmt.Errorf("declined: %s", info.Error)
	case api.StateExpired:
		return fmt.Errorf("no answer: %s", info.Error)
	case api.StateCancelled:
		return fmt.Errorf("cancelled: %s", info.Error)
	}
	return fmt.Errorf("failed: %s", info.Error)
}

func cmdStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, dataDir, asJSON := clientFlags("status", "", "show this daemon's name, device ID, addresses and transfers", stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	var st api.Status
	c, err := dialDaemon(*dataDir)
	if err == nil {
		err = c.Do(ctx, "GET", "/api/status", nil, &st)
	}
	if *asJSON {
		if err != nil {
			return err
		}
		return printJSON(stdout, st)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Service:\t%s\n", serviceLine())
	if err != nil {
		tw.Flush()
		return err
	}
	fmt.Fprintf(tw, "Daemon:\tanswering at %s\n", c.Base())
	fmt.Fprintf(tw, "Dashboard:\thttp://localhost:%d/\n", st.Port)
	fmt.Fprintf(tw, "Name:\t%s\n", st.Name)
	fmt.Fprintf(tw, "Device ID:\t%s (%s)\n", st.ShortID, st.ID)
	fmt.Fprintf(tw, "Version:\t%s\n", st.Version)
	fmt.Fprintf(tw, "Port:\t%d\n", st.Port)
	fmt.Fprintf(tw, "Addresses:\t%s\n", strings.Join(st.Addresses, ", "))
	fmt.Fprintf(tw, "Downloads:\t%s\n", st.Downloads)
	fmt.Fprintf(tw, "Accepts:\t%s\n", st.Accept)
	active := 0
	for _, t := range st.Transfers {
		if !t.State.Final() {
			active++
		}
	}
	fmt.Fprintf(tw, "Transfers:\t%d active, %d in all\n", active, len(st.Transfers))
	return tw.Flush()
}

func cmdTransfers(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	list, tw, err := fetchList[api.Transfer](ctx, args, stdout, stderr, "transfers", "list current and recent transfers", "/api/transfers",
		"No transfers yet.", "ID\tDIR\tPEER\tSTATE\tPROGRESS\tFILES\tNAMES")
	if tw == nil {
		return err
	}
	for _, t := range list {
		peer := t.PeerName
		if peer == "" {
			peer = t.Addr
		}
		dir := "from"
		if t.Direction == "out" {
			dir = "to"
		}
		state := string(t.State)
		if t.Error != "" && t.State != api.StateDone {
			state += ": " + t.Error
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d/%d\t%s\n", t.ID, dir, peer, state,
			fmt.Sprintf("%s/%s", humanBytes(t.Done), humanBytes(t.Bytes)), t.Verified, t.Files, itemsSummary(t.Items, t.Files))
	}
	return tw.Flush()
}

func itemsSummary(items []string, files int) string {
	if len(items) == 0 {
		return ""
	}
	s := items[0]
	if len(items) > 1 {
		s += fmt.Sprintf(" and %d more", len(items)-1)
	}
	return s
}

func answerCmd(verb string) func(context.Context, []string, io.Writer, io.Writer) error {
	return func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		summary := map[string]string{"accept": "accept a pending incoming offer", "decline": "decline a pending incoming offer", "cancel": "cancel a transfer in either direction"}[verb]
		fs, dataDir, asJSON := clientFlags(verb, "ID", summary, stderr)
		if err := parse(fs, args); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			fs.Usage()
			return errUsage
		}
		c, err := dialDaemon(*dataDir)
		if err != nil {
			return err
		}
		var info api.Transfer
		if err := c.Do(ctx, "POST", "/api/transfers/"+fs.Arg(0)+"/"+verb, struct{}{}, &info); err != nil {
			return err
		}
		if *asJSON {
			return printJSON(stdout, info)
		}
		fmt.Fprintf(stdout, "%s: %s\n", info.ID, info.State)
		return nil
	}
}

// humanBytes formats a byte count in binary units, as people read them.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
