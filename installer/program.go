package installer

import (
	"context"
	"fmt"
	"time"

	"github.com/kardianos/service"

	"github.com/ferry-dev/ferry/daemon"
)

// StopTimeout bounds how long Stop waits for the daemon to save the state of
// its transfers; the unit files give the service manager a little longer.
const StopTimeout = 20 * time.Second

// Program runs a daemon under a service manager. Start returns once the
// daemon listens; Stop cancels it and waits until it has saved its state.
type Program struct {
	Config daemon.Config

	d      *daemon.Daemon
	cancel context.CancelFunc
	exited chan struct{} // closed when the daemon's Run returns
	err    error         // what Run returned, once exited is closed
}

var _ service.Interface = (*Program)(nil)

// Start creates the daemon, which binds its port, and serves in the
// background. Errors such as a port in use are returned here.
func (p *Program) Start(service.Service) error {
	d, err := daemon.New(p.Config)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.d, p.cancel = d, cancel
	p.exited = make(chan struct{})
	go func() {
		p.err = d.Run(ctx)
		close(p.exited)
	}()
	return nil
}

// Daemon returns the daemon once Start has succeeded.
func (p *Program) Daemon() *daemon.Daemon { return p.d }

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

// Run runs p under the service manager until the manager stops it, ctx
// ends (a signal, when started by hand) or the daemon fails.
func Run(ctx context.Context, p *Program) error {
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
