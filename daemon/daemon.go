package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/ferry-dev/ferry/daemon/api"
	"github.com/ferry-dev/ferry/daemon/identity"
	"github.com/ferry-dev/ferry/daemon/mesh"
	"github.com/ferry-dev/ferry/daemon/signal"
	"github.com/ferry-dev/ferry/daemon/store"
	"github.com/ferry-dev/ferry/daemon/transfer"
	"github.com/ferry-dev/ferry/discovery"
)

// Config is everything a daemon needs; main fills it from flags and the
// config file.
type Config struct {
	DataDir    string
	Downloads  string
	Name       string
	Port       int          // used when Listener is nil
	Listener   net.Listener // tests pass 127.0.0.1:0
	Accept     string
	Interfaces []string
	PendingTTL time.Duration
	ResumeFor  time.Duration
	Version    string
	Log        *slog.Logger
	// Discovery announces the daemon and finds others; nil turns mDNS
	// off (tests, and networks where it is not wanted).
	Discovery discovery.Backend
	// DiscoveryCycle is how often the network is asked again; 0 means 10 s.
	// A daemon not seen for three cycles is dropped.
	DiscoveryCycle time.Duration
	// Connect lists daemons to add by address.
	Connect []string
	// Ready, if set, is called once the daemon serves and clients can
	// find it through APIFile.
	Ready func()
}

// Daemon is one running ferry node.
type Daemon struct {
	cfg     Config
	id      *identity.Identity
	ln      net.Listener
	peers   *peerBook
	hub     *signal.Hub
	links   *signal.Links
	mesh    *mesh.Mesh
	manager *transfer.Manager
	srv     *http.Server
	dl      *store.Downloads
	nearby  *nearby
}

// APIFile is written to the data folder while the daemon runs; clients read
// the API address from it.
const APIFile = "api.json"

// APIInfo is the content of APIFile.
type APIInfo struct {
	Addr string `json:"addr"`
	PID  int    `json:"pid"`
}

// New loads the identity and state and binds the listener. It does not
// serve until Run.
func New(cfg Config) (*Daemon, error) {
	if err := CheckName(cfg.Name); err != nil {
		return nil, err
	}
	if cfg.Accept == "" {
		cfg.Accept = AcceptNone
	}
	if err := CheckAccept(cfg.Accept); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating data folder: %w", err)
	}
	id, err := identity.Load(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	peers, err := loadPeerBook(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	if cfg.DiscoveryCycle == 0 {
		cfg.DiscoveryCycle = 10 * time.Second
	}
	d := &Daemon{cfg: cfg, id: id, peers: peers, dl: store.NewDownloads(cfg.Downloads)}
	d.nearby = &nearby{self: id.ID, name: cfg.Name, book: peers, dir: cfg.DataDir}
	d.nearby.table = discovery.NewTable(id.ID, 3*cfg.DiscoveryCycle+cfg.DiscoveryCycle/2, d.nearbyEvent)
	d.hub = signal.NewHub(signal.HubConfig{ID: id.ID.String(), Name: cfg.Name, Log: cfg.Log})
	d.links = signal.NewLinks(signal.Message{From: id.ID.String(), Name: cfg.Name})
	rejoin, err := loadRooms(cfg.DataDir, time.Hour)
	if err != nil {
		cfg.Log.Warn("Not rejoining rooms", "err", err)
	}
	d.mesh = mesh.New(mesh.Config{ID: id.ID, Name: cfg.Name, Hub: d.hub, Log: cfg.Log, Lost: d.nearby.table.Remove, Rejoin: rejoin, Flagged: d.nearby.flagged, Linked: d.nearby.linked})
	d.manager, err = transfer.New(transfer.Config{
		Identity:   id,
		Name:       cfg.Name,
		API:        transfer.NewAPI(transfer.RTCConfig{Interfaces: cfg.Interfaces}),
		Downloads:  d.dl,
		States:     store.NewStates(filepath.Join(cfg.DataDir, "transfers")),
		Hub:        d.mesh,
		Links:      d.links,
		Peers:      peers,
		AutoAccept: d.autoAccept,
		PendingTTL: cfg.PendingTTL,
		ResumeFor:  cfg.ResumeFor,
		Log:        cfg.Log,
		Mismatch:   d.nearby.mismatch,
	})
	if err != nil {
		d.mesh.Close()
		return nil, err
	}
	d.mesh.SetLocal(d.manager)
	d.hub.SetHandler(d.manager, d.mesh)
	d.ln = cfg.Listener
	if d.ln == nil {
		d.ln, err = net.Listen("tcp", ":"+strconv.Itoa(cfg.Port))
		if errors.Is(err, syscall.EADDRINUSE) {
			d.manager.Close()
			d.mesh.Close()
			return nil, fmt.Errorf("port %d is in use; start with --port 0 or stop the other ferry", cfg.Port)
		}
		if err != nil {
			d.manager.Close()
			d.mesh.Close()
			return nil, fmt.Errorf("listening on port %d: %w", cfg.Port, err)
		}
	}
	d.mesh.SetPort(d.ln.Addr().(*net.TCPAddr).Port)
	mux := http.NewServeMux()
	mux.Handle(signal.HubPath, d.hub)
	mux.Handle("/api/", api.New(api.Config{Transfers: d.manager, Status: d.status, Peers: d.nearby, Rooms: (*rooms)(d)}))
	mux.Handle("/r/", roomPages((*rooms)(d)))
	d.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	return d, nil
}

func (d *Daemon) autoAccept(peer identity.ID) bool {
	switch d.cfg.Accept {
	case AcceptAll:
		return true
	case AcceptTrusted:
		return d.peers.Trusted(peer)
	}
	return false
}

// nearbyEvent keeps a mesh link to every daemon in the table that is not
// flagged, and logs the change.
func (d *Daemon) nearbyEvent(e discovery.Event) {
	d.cfg.Log.Info("Nearby device "+e.Kind.String(), "name", e.Peer.Name, "device", e.Peer.ID.Short(), "addrs", e.Peer.Addrs)
	id := e.Peer.ID
	if e.Kind == discovery.Removed {
		d.mesh.Unwant(id)
		return
	}
	if _, ok := e.Peer.Addr(); !ok {
		d.mesh.Drop(id) // every address is flagged
		return
	}
	d.mesh.Want(id, func() (string, bool) {
		p, ok := d.nearby.table.Get(id)
		if !ok {
			return "", false
		}
		ap, ok := p.Addr()
		return ap.String(), ok
	})
}

// Mesh returns the daemon's part of the signaling mesh.
func (d *Daemon) Mesh() *mesh.Mesh { return d.mesh }

// ID returns the device identity.
func (d *Daemon) ID() identity.ID { return d.id.ID }

// Addr returns the listening address.
func (d *Daemon) Addr() net.Addr { return d.ln.Addr() }

// Transfers returns the transfer manager.
func (d *Daemon) Transfers() *transfer.Manager { return d.manager }

// Run serves until ctx is cancelled, then stops accepting, lets transfers
// save their resume state and returns nil.
func (d *Daemon) Run(ctx context.Context) error {
	port := d.ln.Addr().(*net.TCPAddr).Port
	info, _ := json.Marshal(APIInfo{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), PID: os.Getpid()})
	apiFile := filepath.Join(d.cfg.DataDir, APIFile)
	if err := os.WriteFile(apiFile, info, 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", APIFile, err)
	}
	defer os.Remove(apiFile)
	d.cfg.Log.Info("Ferry is running", "name", d.cfg.Name, "device", d.id.ID.Short(), "port", port, "downloads", d.cfg.Downloads)

	errc := make(chan error, 1)
	go func() { errc <- d.srv.Serve(d.ln) }()
	bg, stopBG := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { stopBG(); wg.Wait() }()
	wg.Go(func() { d.nearby.table.Run(bg) })
	wg.Go(func() { d.mesh.Run(bg) })
	if len(d.cfg.Connect) > 0 {
		wg.Go(func() { d.nearby.keepConnected(bg, d.cfg.Connect, d.cfg.DiscoveryCycle) })
	}
	if d.cfg.Discovery != nil {
		wg.Go(func() {
			discovery.Run(bg, discovery.Config{
				Record:     discovery.Record{ID: d.id.ID, Name: d.cfg.Name, Port: port, Version: discovery.Version},
				Interfaces: d.cfg.Interfaces, Backend: d.cfg.Discovery, Table: d.nearby.table,
				Cycle: d.cfg.DiscoveryCycle, Log: d.cfg.Log,
			})
		})
	}
	if d.cfg.Ready != nil {
		d.cfg.Ready()
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
		err = fmt.Errorf("serving: %w", err)
	}
	d.cfg.Log.Info("Stopping")
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d.srv.Shutdown(shutCtx)
	if err := (*rooms)(d).save(); err != nil {
		d.cfg.Log.Warn("Cannot save the rooms this device is in", "err", err)
	}
	d.mesh.Close()
	d.links.Close()
	d.manager.Close()
	return err
}

func (d *Daemon) status() api.Status {
	port := d.ln.Addr().(*net.TCPAddr).Port
	return api.Status{
		Name: d.cfg.Name, ID: d.id.ID.String(), ShortID: d.id.ID.Short(), Version: d.cfg.Version,
		Addresses: lanAddresses(d.cfg.Interfaces), Port: port, Downloads: d.cfg.Downloads,
		Accept: d.cfg.Accept, Transfers: d.manager.List(),
	}
}

// lanAddresses lists the addresses peers can reach this device at.
func lanAddresses(only []string) []string {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil
	}
	allowed := map[string]bool{}
	for _, n := range only {
		allowed[n] = true
	}
	var out []string
	for _, ifi := range ifaces {
		if ifi.Flags&net.FlagUp == 0 || (len(allowed) > 0 && !allowed[ifi.Name]) ||
			(len(allowed) == 0 && ifi.Flags&net.FlagLoopback != 0) {
			continue
		}
		addrs, _ := ifi.Addrs()
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLinkLocalUnicast() {
				out = append(out, ipn.IP.String())
			}
		}
	}
	return out
}
