package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/ferry-dev/ferry/daemon/api"
)

const (
	pairArgs    = "--offer [--answer-file FILE] | --answer [OFFER]"
	pairSummary = "pair with a browser by a text or QR code each way, with no network service"
)

// cmdPair pairs the daemon with a device it cannot reach through a hub:
// with --offer it prints an offer and takes the answer, with --answer it
// answers an offer. Either way it waits until the connection is open.
func cmdPair(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runPair(ctx, args, os.Stdin, stdout, stderr)
}

func runPair(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs, dataDir, asJSON := clientFlags("pair", pairArgs, pairSummary, stderr)
	offer := fs.Bool("offer", false, "make an offer and wait for its answer")
	answer := fs.Bool("answer", false, "answer an offer (given as the argument, or a line on stdin)")
	answerFile := fs.String("answer-file", "", "with --offer, read the answer from this file (say a pipe) instead of stdin")
	noQR := fs.Bool("no-qr", false, "do not draw the QR code")
	timeout := fs.Duration("timeout", 2*time.Minute, "how long to wait for the answer, and then for the connection")
	if err := parse(fs, args); err != nil {
		return err
	}
	// An offer's answer is made from the offer, so it never comes as an
	// argument.
	if *offer == *answer || fs.NArg() > 1 || *answer && *answerFile != "" || *offer && fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	c, err := dialDaemon(*dataDir)
	if err != nil {
		return err
	}
	show := func(p api.Pairing, what string) {
		if *asJSON {
			printJSON(stdout, p)
			return
		}
		fmt.Fprintf(stdout, "%s (copy it, or scan the code):\n\n%s\n", what, p.Text)
		if !*noQR {
			drawQR(stdout, p.Text)
		}
	}
	var p api.Pairing
	if *offer {
		if err := c.Do(ctx, "POST", "/api/pair/offer", struct{}{}, &p); err != nil {
			return err
		}
		show(p, "Give this offer to the other device")
		var text string
		switch {
		case *answerFile != "":
			b, err := os.ReadFile(*answerFile)
			if err != nil {
				return fmt.Errorf("reading the answer: %w", err)
			}
			text = string(b)
		default:
			fmt.Fprintln(stderr, "\nPaste the other device's answer and press Enter:")
			if text, err = readLine(ctx, stdin, *timeout, "the answer"); err != nil {
				return err
			}
		}
		if err := c.Do(ctx, "POST", "/api/pair/"+p.ID+"/answer", api.PairRequest{Text: text}, &p); err != nil {
			return fmt.Errorf("the answer was not taken: %w", err)
		}
	} else {
		text := fs.Arg(0)
		if fs.NArg() == 0 {
			fmt.Fprintln(stderr, "Paste the other device's offer and press Enter:")
			if text, err = readLine(ctx, stdin, *timeout, "the offer"); err != nil {
				return err
			}
		}
		if err := c.Do(ctx, "POST", "/api/pair/answer", api.PairRequest{Text: text}, &p); err != nil {
			return fmt.Errorf("the offer was not taken: %w", err)
		}
		show(p, "Give this answer to the other device")
	}
	if !*asJSON {
		fmt.Fprintln(stderr, "\nWaiting for the connection...")
	}
	p, err = awaitPaired(ctx, c, p.ID, *timeout)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(stdout, p)
	}
	fmt.Fprintf(stdout, "Paired with %s.\n", p.Peer.Name)
	return nil
}

// readLine reads the first line from r that is not blank, waiting at most
// wait; what names it in errors.
func readLine(ctx context.Context, r io.Reader, wait time.Duration, what string) (string, error) {
	type line struct {
		s   string
		err error
	}
	got := make(chan line, 1)
	go func() {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 0, 8<<10), 64<<10)
		for sc.Scan() {
			if s := strings.TrimSpace(sc.Text()); s != "" {
				got <- line{s: s}
				return
			}
		}
		err := sc.Err()
		if err == nil {
			err = io.EOF
		}
		got <- line{err: err}
	}()
	select {
	case l := <-got:
		if errors.Is(l.err, io.EOF) {
			return "", fmt.Errorf("no %s came before the input ended", strings.TrimPrefix(what, "the "))
		}
		if l.err != nil {
			return "", fmt.Errorf("reading %s: %w", what, l.err)
		}
		return l.s, nil
	case <-time.After(wait):
		return "", fmt.Errorf("no %s came in %v; run 'ferry pair' again when the other device is ready", strings.TrimPrefix(what, "the "), wait)
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// awaitPaired follows pairing id until its channel is open, it ends, or
// wait passes.
func awaitPaired(ctx context.Context, c *api.Client, id string, wait time.Duration) (api.Pairing, error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", c.Base()+"/api/pair/"+id+"/watch", nil)
	if err != nil {
		return api.Pairing{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return api.Pairing{}, fmt.Errorf("following the pairing: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e api.Error
		json.NewDecoder(resp.Body).Decode(&e)
		return api.Pairing{}, fmt.Errorf("following the pairing: %s", e.Error)
	}
	dec := json.NewDecoder(resp.Body)
	for {
		var p api.Pairing
		if err := dec.Decode(&p); err != nil {
			if ctx.Err() == context.DeadlineExceeded {
				return api.Pairing{}, fmt.Errorf("the connection did not open in %v; check that both devices are on networks that reach each other", wait)
			}
			if ctx.Err() != nil {
				return api.Pairing{}, ctx.Err()
			}
			return api.Pairing{}, fmt.Errorf("the daemon stopped answering before the pairing was done: %w", err)
		}
		switch {
		case p.State == api.PairPaired:
			return p, nil
		case p.State.Final():
			return p, fmt.Errorf("the pairing %s: %s", p.State, p.Error)
		}
	}
}
