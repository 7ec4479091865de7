package daemon

import (
	"context"
	"fmt"
)

// group runs the daemon's long-lived parts, each under its own context,
// and stops them one at a time in the reverse order of starting, so a part
// stops only after everything that uses it has.
type group struct {
	parts []part
	fail  chan error
}

type part struct {
	name   string
	cancel context.CancelFunc
	done   chan error
}

// Go starts run. A part that returns before it is stopped is a failure:
// every part is then stopped and Wait returns its error.
func (g *group) Go(ctx context.Context, name string, run func(context.Context) error) {
	if g.fail == nil {
		g.fail = make(chan error, 1)
	}
	pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	p := part{name: name, cancel: cancel, done: make(chan error, 1)}
	g.parts = append(g.parts, p)
	go func() {
		err := run(pctx)
		if pctx.Err() == nil {
			if err == nil {
				err = fmt.Errorf("%s stopped by itself", name)
			}
			select {
			case g.fail <- fmt.Errorf("%s: %w", name, err):
			default:
			}
		}
		p.done <- err
	}()
}

// Wait waits until ctx ends or a part fails, then stops every part, last
// started first, and returns the failure, if any.
func (g *group) Wait(ctx context.Context) error {
	var failed error
	select {
	case <-ctx.Done():
	case failed = <-g.fail:
	}
	for i := len(g.parts) - 1; i >= 0; i-- {
		g.parts[i].cancel()
		<-g.parts[i].done
	}
	return failed
}
