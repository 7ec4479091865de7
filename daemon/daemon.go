package daemon

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/ferry-dev/ferry/daemon/api"
	"github.com/ferry-dev/ferry/daemon/datadir"
	"github.com/ferry-dev/ferry/daemon/identity"
	"github.com/ferry-dev/ferry/daemon/mesh"
	"github.com/ferry-dev/ferry/daemon/messages"
	"github.com/ferry-dev/ferry/daemon/nearby"
	"github.com/ferry-dev/ferry/daemon/outbox"
	"github.com/ferry-dev/ferry/daemon/pair"
	"github.com/ferry-dev/ferry/daemon/signal"
	"github.com/ferry-dev/ferry/daemon/store"
	"github.com/ferry-dev/ferry/daemon/transfer"
	"github.com/ferry-dev/ferry/daemon/web"
	"github.com/ferry-dev/ferry/discovery"
	"github.com/ferry-dev/ferry/ui"
	"github.com/pion/webrtc/v4"
)

// Daemon is one running ferry node.
type Daemon struct {
	cfg      Config
	dir      *datadir.Dir
	id       *identity.Identity
	ln       net.Listener
	tlsLn    net.Listener // nil unless the HTTPS mode is on
	nearby   *nearby.Devices
	dialer   *signal.Dialer
	manager  *transfer.Manager
	mesh     *mesh.Mesh
	hub      *signal.Hub
	web      *web.Server
	settings *settings
	outbox   *outbox.Outbox
	messages *messages.Store
	pair     *pair.Manager
}

// roomTTL is how long a code room lives with nobody in it.
const roomTTL = time.Hour

// New loads the identity and state, binds the listener and builds every
// part. It does not serve until Run.
func New(cfg Config) (d *Daemon, err error) {
	if err := datadir.CheckName(cfg.Name); err != nil {
		return nil, err
	}
	if cfg.Accept == "" {
		cfg.Accept = datadir.AcceptNone
	}
	if err := datadir.CheckAccept(cfg.Accept); err != nil {
		return nil, err
	}
	if cfg.DiscoveryCycle == 0 {
		cfg.DiscoveryCycle = 10 * time.Second
	}
	d = &Daemon{cfg: cfg, dir: datadir.New(cfg.DataDir)}
	if err := d.dir.Create(); err != nil {
		return nil, err
	}
	if d.id, err = identity.Load(cfg.DataDir); err != nil {
		return nil, err
	}
	if d.ln, err = listen(cfg); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil && cfg.Listener == nil {
			d.ln.Close()
		}
	}()
	if cfg.HTTPS {
		if d.tlsLn, err = listenHTTPS(cfg, d.ln); err != nil {
			return nil, err
		}
		defer func() {
			if err != nil && cfg.HTTPSListener == nil {
				d.tlsLn.Close()
			}
		}()
	}
	d.settings = newSettings(d)
	self := d.id.ID.String()
	d.nearby, err = nearby.New(nearby.Config{
		Self: d.id.ID, Name: cfg.Name, Dir: d.dir, Log: cfg.Log,
		TTL: 3*cfg.DiscoveryCycle + cfg.DiscoveryCycle/2, Redial: cfg.DiscoveryCycle,
		Connect: cfg.Connect, Events: d.nearbyEvent,
	})
	if err != nil {
		return nil, err
	}
	d.dialer = signal.NewDialer(signal.Message{From: self, Name: cfg.Name}, d.id.Sign)
	rtc := transfer.NewAPI(transfer.RTCConfig{
		InterfaceFilter: func(name string) bool { return discovery.UsableInterface(name, cfg.Interfaces) },
		Loopback:        namesLoopback(cfg.Interfaces),
	})
	d.manager, err = transfer.New(transfer.Config{
		Identity:   d.id,
		Name:       cfg.Name,
		API:        rtc,
		Downloads:  store.NewDownloads(cfg.Downloads),
		States:     d.dir.States(),
		Dialer:     d.dialer,
		Peers:      d.nearby,
		AutoAccept: d.autoAccept,
		Trusted:    d.trusted,
		PendingTTL: cfg.PendingTTL,
		ResumeFor:  cfg.ResumeFor,
		Log:        cfg.Log,
		Mismatch:   d.nearby.Mismatch,
		// A transfer follows its device to wherever discovery and the
		// mesh see it now; the mesh is made below, after the manager.
		Locate:          d.nearby.Locate,
		Relay:           meshRelay{d},
		KeepInterrupted: cfg.KeepInterrupted,
		HTTPPort:        d.port(),
	})
	if err != nil {
		return nil, err
	}
	rejoin, err := d.dir.LoadRooms(roomTTL)
	if err != nil {
		cfg.Log.Warn("Not rejoining rooms", "err", err)
	}
	d.mesh = mesh.New(mesh.Config{
		ID: d.id.ID, Name: cfg.Name, Prove: d.id.Sign, Port: d.port(), Local: local{d}, Log: cfg.Log, RoomTTL: roomTTL, Rejoin: rejoin,
		Linked: d.nearby.Linked, Lost: d.nearby.Remove,
	})
	d.messages = messages.New(messages.Config{Self: self, Name: cfg.Name, Send: d.mesh.Send, Lookup: d.member, Log: cfg.Log})
	d.hub = signal.NewHub(signal.HubConfig{ID: self, Name: cfg.Name, Handler: d.manager, Sessions: d.mesh, Log: cfg.Log})
	d.pair = pair.New(pair.Config{API: rtc, Cert: webrtc.CertificateFromX509(d.id.Key, d.id.Cert), ID: self, Name: cfg.Name, Guests: d.hub, Log: cfg.Log})
	d.outbox, err = outbox.New(outbox.Config{
		Dir: d.dir.File("outbox"), Changed: d.manager.Changed, Sending: d.manager.Sending, Log: cfg.Log,
	})
	if err != nil {
		return nil, err
	}
	var files fs.FS = ui.FS()
	if cfg.UIDir != "" {
		files = os.DirFS(cfg.UIDir)
	}
	wcfg := web.Config{
		Listener: d.ln, Name: cfg.Name, Device: d.id.ID.String(), ShortDevice: d.id.ID.Short(),
		Hub: d.hub, HubPath: signal.HubPath, UI: files, Log: cfg.Log,
		Status: d.status, Transfers: transfers{d}, Peers: d.nearby, Rooms: rooms{d},
		Settings: d.settings, Uploads: d.outbox, Messages: d.messages, Boot: bootID(),
		Links: d.manager, Pairing: d.pair,
	}
	if d.tlsLn != nil {
		wcfg.Secure, wcfg.TLS = d.tlsLn, tlsConfig(d.id)
	}
	d.web = web.New(wcfg)
	return d, nil
}

func listen(cfg Config) (net.Listener, error) {
	if cfg.Listener != nil {
		return cfg.Listener, nil
	}
	ln, err := net.Listen("tcp", ":"+strconv.Itoa(cfg.Port))
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("port %d is in use; start with --port 0 or stop the other ferry", cfg.Port)
	}
	if err != nil {
		return nil, fmt.Errorf("listening on port %d: %w", cfg.Port, err)
	}
	return ln, nil
}

// namesLoopback reports whether the owner named a loopback interface, as
// tests on one machine do; then WebRTC offers loopback candidates too.
func namesLoopback(names []string) bool {
	for _, name := range names {
		if ifi, err := net.InterfaceByName(name); err == nil && ifi.Flags&net.FlagLoopback != 0 {
			return true
		}
	}
	return false
}

// autoAccept is the owner's accept policy: a guest's offer is accepted
// without asking only when the owner accepts everything.
// trusted reports whether p is a device the owner trusts; a guest never is.
func (d *Daemon) trusted(p transfer.Peer) bool {
	id, ok := p.Device()
	return ok && d.nearby.Trusts(id)
}

func (d *Daemon) autoAccept(p transfer.Peer) bool {
	switch d.settings.Accept() {
	case datadir.AcceptAll:
		return true
	case datadir.AcceptTrusted:
		return d.trusted(p)
	}
	return false
}

// nearbyEvent keeps a mesh link to every daemon in the table that is not
// flagged, and logs the change.
func (d *Daemon) nearbyEvent(e discovery.Event) {
	id, err := identity.ParseID(e.Peer.ID)
	if err != nil {
		return
	}
	d.cfg.Log.Info("Nearby device "+e.Kind.String(), "name", e.Peer.Name, "device", id.Short(), "addrs", e.Peer.Hubs)
	if e.Kind == discovery.Removed {
		d.mesh.Unwant(id)
		return
	}
	if _, ok := e.Peer.Addr(); !ok {
		d.mesh.Drop(id) // every address is flagged
		return
	}
	d.mesh.Want(id, func() (string, bool) {
		addr, err := d.nearby.Addr(id)
		return addr, err == nil
	})
}

// meshRelay carries a transfer's signaling through the mesh, which is
// built after the transfer manager.
type meshRelay struct{ d *Daemon }

func (r meshRelay) Send(to string, m signal.Message) error { return r.d.mesh.Send(to, m) }

// local takes what the mesh delivers to this daemon: texts (and the
// errors about texts sent) for the messages, everything else for the
// transfer manager.
type local struct{ d *Daemon }

func (l local) HandleSignal(from signal.Peer, m signal.Message) {
	switch {
	case m.Type == signal.TypeText:
		l.d.messages.Handle(from, m)
	case m.Type == signal.TypeError && m.ID != "":
		l.d.messages.Handle(from, m)
	default:
		l.d.manager.HandleSignal(from, m)
	}
}

// member names a peer of the mesh's view, for messages sent to it.
func (d *Daemon) member(id string) (name, kind string, ok bool) {
	for _, m := range d.mesh.Members() {
		if m.ID == id {
			return m.Name, m.Kind, true
		}
	}
	return "", "", false
}

// bootID names this start of the daemon.
func bootID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// ID returns the device identity.
func (d *Daemon) ID() identity.ID { return d.id.ID }

// Addr returns the listening address.
func (d *Daemon) Addr() net.Addr { return d.ln.Addr() }

func (d *Daemon) port() int { return d.ln.Addr().(*net.TCPAddr).Port }

// Transfers returns the transfer manager.
func (d *Daemon) Transfers() *transfer.Manager { return d.manager }

// Run serves until ctx is cancelled, then stops the parts in the reverse
// order of starting (the web server first, the transfer manager, which
// saves resume state, last) and returns nil, or the first part's failure.
func (d *Daemon) Run(ctx context.Context) error {
	info := datadir.APIInfo{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(d.port())), PID: os.Getpid(), Service: d.cfg.Service, Log: d.cfg.LogFile}
	if err := d.dir.WriteJSON(datadir.APIFile, info); err != nil {
		return err
	}
	defer d.dir.Remove(datadir.APIFile)
	d.cfg.Log.Info("Ferry is running", "name", d.cfg.Name, "device", d.id.ID.Short(), "port", d.port(), "httpsPort", d.httpsPort(), "downloads", d.cfg.Downloads)

	var g group
	g.Go(ctx, "transfers", d.manager.Run)
	g.Go(ctx, "signaling", d.dialer.Run)
	g.Go(ctx, "mesh", func(ctx context.Context) error {
		err := d.mesh.Run(ctx)
		if serr := d.dir.SaveRooms(d.mesh.Joined()); serr != nil {
			d.cfg.Log.Warn("Cannot save the rooms this device is in", "err", serr)
		}
		return err
	})
	g.Go(ctx, "nearby", d.nearby.Run)
	g.Go(ctx, "outbox", d.outbox.Run)
	g.Go(ctx, "pairing", d.pair.Run)
	if d.cfg.Discovery != nil {
		g.Go(ctx, "discovery", func(ctx context.Context) error {
			return discovery.Run(ctx, discovery.Config{
				Record:     discovery.Record{ID: d.id.ID.String(), Name: d.cfg.Name, Port: d.port(), Version: discovery.Version},
				Interfaces: d.cfg.Interfaces, Backend: d.cfg.Discovery, Table: d.nearby.Table(),
				Cycle: d.cfg.DiscoveryCycle, Log: d.cfg.Log,
			})
		})
	}
	g.Go(ctx, "web", d.web.Run)
	if d.cfg.Ready != nil {
		d.cfg.Ready()
	}
	err := g.Wait(ctx)
	d.cfg.Log.Info("Stopped")
	return err
}

func (d *Daemon) status() api.Status {
	addrs := addrStrings(discovery.LANAddresses(d.cfg.Interfaces))
	st := api.Status{
		Name: d.cfg.Name, ID: d.id.ID.String(), ShortID: d.id.ID.Short(), Version: d.cfg.Version,
		Addresses: addrs, Port: d.port(), Phone: web.PhoneLink("http", addrs, d.port()), Downloads: d.cfg.Downloads,
		Fingerprint: fingerprint(d.id.ID), Accept: d.settings.Accept(), RunningAs: runningAs(d.cfg.Service), Transfers: transfers{d}.List(),
	}
	if port := d.httpsPort(); port != 0 {
		st.HTTPSPort, st.PhoneHTTPS = port, web.PhoneLink("https", addrs, port)
	}
	return st
}

func runningAs(service bool) string {
	if service {
		return "service"
	}
	return "foreground"
}
