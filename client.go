package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
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

// oneArg parses the arguments of a client command that takes exactly one
// argument, and dials the daemon.
func oneArg(name, args, summary string, argv []string, stderr io.Writer) (arg string, c *api.Client, asJSON bool, err error) {
	fs, dataDir, js := clientFlags(name, args, summary, stderr)
	if err := parse(fs, argv); err != nil {
		return "", nil, false, err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return "", nil, false, errUsage
	}
	c, err = dialDaemon(*dataDir)
	return fs.Arg(0), c, *js, err
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
	if st.HTTPSPort != 0 {
		// What a browser shows in the certificate details behind its
		// warning, to compare before going on (docs/https.md).
		fmt.Fprintf(tw, "HTTPS port:\t%d\n", st.HTTPSPort)
		fmt.Fprintf(tw, "Certificate:\tSHA-256 %s\n", st.Fingerprint)
	}
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
