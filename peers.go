package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ferry-dev/ferry/daemon/api"
)

func cmdPeers(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	peers, tw, err := fetchList[api.Peer](ctx, args, stdout, stderr, "peers", "list nearby ferry daemons", "/api/peers",
		"No other ferry daemon found yet. On networks that block multicast, add one with 'ferry connect HOST:PORT'.",
		"NAME\tDEVICE\tADDRESS\tTRUSTED\tLAST SEEN")
	if tw == nil {
		return err
	}
	for _, p := range peers {
		addr := "flagged: another certificate answered"
		if p.Address != "" {
			addr = p.Address
		}
		trusted := "no"
		if p.Trusted {
			trusted = "yes"
		}
		seen := time.Since(p.LastSeen).Round(time.Second).String() + " ago"
		if p.Manual {
			seen += " (added by address)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.Name, p.ShortID, addr, trusted, seen)
	}
	return tw.Flush()
}

// peerCmd is ferry trust, untrust, connect and forget: one argument posted to the
// API, and a line about the answer.
func peerCmd(name, args, summary string, show func(w io.Writer, body []byte) error) func(context.Context, []string, io.Writer, io.Writer) error {
	return func(ctx context.Context, argv []string, stdout, stderr io.Writer) error {
		peer, c, asJSON, err := oneArg(name, args, summary, argv, stderr)
		if err != nil {
			return err
		}
		var raw rawJSON
		if err := c.Do(ctx, "POST", "/api/"+name, api.PeerRequest{Peer: peer}, &raw); err != nil {
			return err
		}
		if asJSON {
			_, err := stdout.Write(append(raw, '\n'))
			return err
		}
		return show(stdout, raw)
	}
}

type rawJSON []byte

func (r *rawJSON) UnmarshalJSON(b []byte) error {
	*r = append((*r)[:0], b...)
	return nil
}

func showTrust(w io.Writer, body []byte) error {
	var t api.Trust
	if err := json.Unmarshal(body, &t); err != nil {
		return err
	}
	fmt.Fprintf(w, "Trusted %s (%s).\n\nComparison code: %s\n\n", t.Name, t.ShortID, t.Code)
	fmt.Fprintln(w, "The owner of that device sees the same code when they trust this one; if the")
	fmt.Fprintln(w, "codes differ, run 'ferry untrust' and check who you are talking to.")
	fmt.Fprintln(w, "Its offers are accepted without asking when this daemon runs with --accept trusted.")
	return nil
}

func showUntrust(w io.Writer, body []byte) error {
	var t api.Trust
	if err := json.Unmarshal(body, &t); err != nil {
		return err
	}
	fmt.Fprintf(w, "%s (%s) is no longer trusted; its offers will wait for you.\n", t.Name, t.ShortID)
	return nil
}

func showForget(w io.Writer, body []byte) error {
	var f struct{ Forgotten string }
	if err := json.Unmarshal(body, &f); err != nil {
		return err
	}
	fmt.Fprintf(w, "Forgot the device at %s.\n", f.Forgotten)
	return nil
}

func showConnect(w io.Writer, body []byte) error {
	var p api.Peer
	if err := json.Unmarshal(body, &p); err != nil {
		return err
	}
	fmt.Fprintf(w, "Added %s (%s) at %s; it is remembered in the config.\n", p.Name, p.ShortID, p.Address)
	fmt.Fprintf(w, "Send to it with: ferry send --to %s PATH...\n", quoteArg(p.Name))
	return nil
}

func quoteArg(s string) string {
	if strings.ContainsAny(s, " '\"$\\") {
		return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
	}
	return s
}
