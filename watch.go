package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ferry-dev/ferry/daemon/api"
	"github.com/ferry-dev/ferry/daemon/datadir"
)

// defaultDaemonWait is how long a command that follows a transfer waits
// for the local daemon to come back when it stops, unless told.
const defaultDaemonWait = time.Minute

// watcher follows transfers of the daemon of one data folder, through
// restarts of that daemon: a daemon that stops (or is killed) keeps its
// outgoing transfers on disk and takes them up again when it starts, so
// the command says what happened, waits for the daemon to answer again,
// and follows the same transfers on. Watches that run in parallel (a send
// to a room) share one wait.
type watcher struct {
	dir  string        // the data folder
	wait time.Duration // how long to wait for the daemon to come back
	// what names what is followed ("the transfer", "the transfers"), and
	// again is the command that follows it from elsewhere, or once this
	// one gave up waiting.
	what, again string
	// note tells of the daemon stopping ("daemon-stopped") and coming
	// back ("daemon-back").
	note func(event, text string)

	mu     sync.Mutex
	c      *api.Client
	gen    int   // how many times the daemon came back
	gaveUp error // why it is not waited for any more
}

func newWatcher(dataDir string, c *api.Client, wait time.Duration, what, again string, note func(event, text string)) *watcher {
	return &watcher{dir: dataDir, wait: wait, what: what, again: again, note: note, c: c}
}

// client returns a client of the daemon as it answers now.
func (w *watcher) client() *api.Client {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.c
}

// follow watches transfer id until it ends, calling show on every
// snapshot, and returns the last one.
func (w *watcher) follow(ctx context.Context, id string, show func(api.Transfer)) (api.Transfer, error) {
	var last api.Transfer
	for {
		w.mu.Lock()
		c, gen := w.c, w.gen
		w.mu.Unlock()
		t, err := c.Watch(ctx, id, show)
		if t.ID != "" {
			last = t
		}
		switch {
		case err == nil:
			return last, nil
		case ctx.Err() != nil:
			return last, ctx.Err()
		case !errors.Is(err, api.ErrDaemonStopped):
			if gen > 0 {
				err = fmt.Errorf("after the ferry daemon restarted: %w", err)
			}
			return last, err
		}
		if err := w.reconnect(ctx, gen); err != nil {
			return last, err
		}
	}
}

// reconnect waits for the daemon to answer again after the watches of
// generation gen lost it. The first watch to get here waits; the others
// wait for it.
func (w *watcher) reconnect(ctx context.Context, gen int) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.gaveUp != nil:
		return w.gaveUp
	case w.gen != gen:
		return nil
	}
	w.note("daemon-stopped", fmt.Sprintf("The ferry daemon stopped; %s goes on when the daemon is back. Waiting up to %s for it ('%s' follows it from elsewhere).",
		w.what, w.wait, w.again))
	deadline := time.NewTimer(w.wait)
	defer deadline.Stop()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		if c := w.answering(ctx); c != nil {
			w.c, w.gen = c, w.gen+1
			w.note("daemon-back", fmt.Sprintf("The ferry daemon is back; following %s again.", w.what))
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			w.gaveUp = fmt.Errorf("the ferry daemon stopped and was not back within %s; %s goes on when the daemon starts again: follow it then with '%s'", w.wait, w.what, w.again)
			return w.gaveUp
		case <-tick.C:
		}
	}
}

// answering returns a client of the data folder's daemon if one answers
// now. A daemon that was killed leaves its api.json behind, and one that
// starts writes its own, with its own port.
func (w *watcher) answering(ctx context.Context) *api.Client {
	info, ok, err := datadir.New(w.dir).ReadAPIInfo()
	if err != nil || !ok {
		return nil
	}
	c := api.NewClient(info.Addr)
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if c.Do(ctx, "GET", "/api/status", nil, nil) != nil {
		return nil
	}
	return c
}

// cliLine spells a ferry command line for the daemon of dataDir, with
// --data-dir when it is not the default one.
func cliLine(dataDir string, args ...string) string {
	line := "ferry " + args[0]
	if dataDir != defaultDataDir() {
		line += " --data-dir " + quoteArg(dataDir)
	}
	if len(args) > 1 {
		line += " " + strings.Join(args[1:], " ")
	}
	return line
}
