package installer

import (
	"context"
	"fmt"
	"time"

	"github.com/kardianos/service"
)

// StopTimeout bounds how long Stop waits for the daemon to save the state of
// its transfers; the unit files give the service manager a little longer.
const StopTimeout = 20 * time.Second

// Program runs a daemon under a service manager. Start runs it in the
// background; Stop cancels it and waits until it has saved its state.
// Anything that can fail before serving (a bad config, a port in use) is
// checked by the caller before the service manager is involved.
type Program struct {
	// Run serves until its context ends.
	Run func(ctx context.Context) error

	cancel context.CancelFunc
	exited chan struct{} // closed when Run returns
	err    error         // what Run returned, once exited is closed
}

var _ service.Interface = (*Program)(nil)

// Start runs the daemon in the background.
func (p *Program) Start(service.Service) error {
	if p.Run == nil {
		return fmt.Errorf("nothing to run")
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	p.exited = make(chan struct{})
	go func() {
		p.err = p.Run(ctx)
		close(p.exited)
	}()
	return nil
}

// Stop asks the daemon to stop and waits for it, at most StopTimeout.
func (p *Program) Stop(service.Service) error {
	if p.cancel == nil {
		return nil
	}
	p.cancel()
	select {
	case <-p.exited:
		return p.err
	case <-time.After(StopTimeout):
		return fmt.Errorf("the daemon did not stop within %s", StopTimeout)
	}
}

// Run runs run under the service manager until the manager stops it, ctx
// ends (a signal, when started by hand) or run returns.
func Run(ctx context.Context, run func(ctx context.Context) error) error {
	p := &Program{Run: run}
	wait := func() {
		select {
		case <-ctx.Done():
		case <-p.exited:
		}
	}
	svc, err := service.New(p, &service.Config{Name: Name, Option: service.KeyValue{"RunWait": wait}})
	if err != nil {
		if err := p.Start(nil); err != nil {
			return err
		}
		wait()
		return p.Stop(nil)
	}
	return svc.Run()
}
