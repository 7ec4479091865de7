package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/ferry-dev/ferry/daemon"
	"github.com/ferry-dev/ferry/daemon/api"
	"github.com/ferry-dev/ferry/daemon/transfer"
)

// client talks to the local daemon's API.
type client struct {
	base string
	http *http.Client
}

func dialDaemon(dataDir string) (*client, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, daemon.APIFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no ferry daemon is running with data folder %s; start one with 'ferry run' (or pass --data-dir)", dataDir)
	}
	if err != nil {
		return nil, err
	}
	var info daemon.APIInfo
	if err := json.Unmarshal(b, &info); err != nil {
		return nil, fmt.Errorf("reading %s: %w", daemon.APIFile, err)
	}
	return &client{base: "http://" + info.Addr, http: &http.Client{}}, nil
}

func (c *client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("the daemon does not answer at %s (is it running?): %w", c.base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var e api.Error
		json.NewDecoder(resp.Body).Decode(&e)
		if e.Error == "" {
			e.Error = resp.Status
		}
		return errors.New(e.Error)
	}
	if out != nil {
		return json.NewDecoder(resp.Body).Decode(out)
	}
	return nil
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
	if err := c.do(ctx, "GET", path, nil, out); err != nil {
		return true, err
	}
	if *asJSON {
		return true, printJSON(stdout, out)
	}
	return false, nil
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
	var started struct{ ID string }
	if err := c.do(ctx, "POST", "/api/send", api.SendRequest{To: *to, Paths: paths}, &started); err != nil {
		return err
	}
	info, err := c.watch(ctx, started.ID, newProgress(stdout, *asJSON))
	if err != nil {
		if ctx.Err() != nil {
			c.do(context.Background(), "POST", "/api/transfers/"+started.ID+"/cancel", struct{}{}, nil)
			return errors.New("cancelled")
		}
		return err
	}
	if *asJSON {
		printJSON(stdout, info)
	}
	if info.State != transfer.StateDone {
		return sendFailure(info)
	}
	return nil
}

func sendFailure(info transfer.Info) error {
	switch info.State {
	case transfer.StateDeclined:
		return fmt.Errorf("declined: %s", info.Error)
	case transfer.StateExpired:
		return fmt.Errorf("no answer: %s", info.Error)
	case transfer.StateCancelled:
		return fmt.Errorf("cancelled: %s", info.Error)
	}
	return fmt.Errorf("failed: %s", info.Error)
}

// watch follows a transfer until it ends, calling show on every snapshot.
func (c *client) watch(ctx context.Context, id string, show func(transfer.Info)) (transfer.Info, error) {
	var last transfer.Info
	req, err := http.NewRequestWithContext(ctx, "GET", c.base+"/api/transfers/"+id+"/watch", nil)
	if err != nil {
		return last, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return last, fmt.Errorf("watching the transfer: %w", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if err := json.Unmarshal(sc.Bytes(), &last); err != nil {
			return last, fmt.Errorf("watching the transfer: %w", err)
		}
		show(last)
	}
	if err := sc.Err(); err != nil {
		return last, fmt.Errorf("watching the transfer: %w", err)
	}
	if !last.State.Final() {
		return last, errors.New("the daemon stopped before the transfer ended")
	}
	return last, nil
}

func cmdStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, dataDir, asJSON := clientFlags("status", "", "show this daemon's name, device ID, addresses and transfers", stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	var st api.Status
	c, err := dialDaemon(*dataDir)
	if err == nil {
		err = c.do(ctx, "GET", "/api/status", nil, &st)
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
	fmt.Fprintf(tw, "Daemon:\tanswering at %s\n", c.base)
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
	var list []transfer.Info
	if done, err := fetch(ctx, args, stdout, stderr, "transfers", "list current and recent transfers", "/api/transfers", &list); done || err != nil {
		return err
	}
	if len(list) == 0 {
		fmt.Fprintln(stdout, "No transfers yet.")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tDIR\tPEER\tSTATE\tPROGRESS\tFILES\tNAMES")
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
		if t.Error != "" && t.State != transfer.StateDone {
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
		var info transfer.Info
		if err := c.do(ctx, "POST", "/api/transfers/"+fs.Arg(0)+"/"+verb, struct{}{}, &info); err != nil {
			return err
		}
		if *asJSON {
			return printJSON(stdout, info)
		}
		fmt.Fprintf(stdout, "%s: %s\n", info.ID, info.State)
		return nil
	}
}

func humanBytes(n int64) string { return transfer.HumanBytes(n) }
