package transfer

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ferry-dev/ferry/daemon/identity"
	"github.com/ferry-dev/ferry/daemon/signal"
	"github.com/ferry-dev/ferry/daemon/store"
)

type memBook struct {
	mu sync.Mutex
	m  map[string]identity.ID
}

func (b *memBook) Known(addr string) (identity.ID, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	id, ok := b.m[addr]
	return id, ok
}

func (b *memBook) Remember(addr string, id identity.ID) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.m[addr] = id
	return nil
}

// node is one peer: a Manager behind a real hub on loopback.
type node struct {
	t     *testing.T
	m     *Manager
	id    *identity.Identity
	addr  string
	dir   string // data folder
	dl    string // downloads folder
	srv   *http.Server
	peers *memBook
}

type nodeOpts struct {
	dir        string // reuse a data folder (restart)
	addr       string // listen on this address (restart)
	autoAccept bool
	pendingTTL time.Duration
	downloads  string
}

func startNode(t *testing.T, o nodeOpts) *node {
	t.Helper()
	if o.dir == "" {
		o.dir = t.TempDir()
	}
	if o.addr == "" {
		o.addr = "127.0.0.1:0"
	}
	if o.downloads == "" {
		o.downloads = filepath.Join(o.dir, "downloads")
	}
	id, err := identity.Load(o.dir)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		t.Fatal(err)
	}
	n := &node{t: t, id: id, addr: ln.Addr().String(), dir: o.dir, dl: o.downloads, peers: &memBook{m: map[string]identity.ID{}}}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("node", n.addr)
	}
	hub := signal.NewHub(signal.HubConfig{ID: id.ID.String(), Name: "node " + n.addr, Log: log})
	n.m, err = New(Config{
		Identity: id, Name: "node " + n.addr,
		API:        NewAPI(RTCConfig{Interfaces: []string{"lo"}}),
		Downloads:  store.NewDownloads(o.downloads),
		States:     store.NewStates(filepath.Join(o.dir, "transfers")),
		Hub:        hub,
		Links:      signal.NewLinks(signal.Message{From: id.ID.String(), Name: "node " + n.addr}),
		Peers:      n.peers,
		AutoAccept: func(identity.ID) bool { return o.autoAccept },
		PendingTTL: o.pendingTTL,
		ResumeFor:  time.Minute,
		Log:        log,
	})
	if err != nil {
		t.Fatal(err)
	}
	hubSetHandler(hub, n.m)
	mux := http.NewServeMux()
	mux.Handle(signal.HubPath, hub)
	n.srv = &http.Server{Handler: mux}
	go n.srv.Serve(ln)
	t.Cleanup(n.stop)
	return n
}

func (n *node) stop() {
	n.srv.Close()
	n.m.Close()
}

// wait waits until the transfer reaches a final state, or the condition holds.
func (n *node) wait(id string, cond func(Info) bool) Info {
	n.t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		ch := n.m.Changed()
		info, err := n.m.Get(id)
		if err == nil && cond(info) {
			return info
		}
		select {
		case <-ch:
		case <-deadline:
			n.t.Fatalf("timed out waiting on transfer %s: %+v (%v)", id, info, err)
		}
	}
}

func final(i Info) bool { return i.State.Final() }

// waitIncoming waits for the first incoming transfer matching cond.
func (n *node) waitIncoming(cond func(Info) bool) Info {
	n.t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		ch := n.m.Changed()
		for _, in := range n.m.List() {
			if in.Direction == "in" && cond(in) {
				return in
			}
		}
		select {
		case <-ch:
		case <-deadline:
			n.t.Fatalf("timed out waiting for an incoming transfer: %+v", n.m.List())
		}
	}
}

func writeRandom(t *testing.T, path string, size int64) string {
	t.Helper()
	os.MkdirAll(filepath.Dir(path), 0o755)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	if _, err := io.CopyN(io.MultiWriter(f, h), rand.Reader, size); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return hex.EncodeToString(h.Sum(nil))
}

func fileHash(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	io.Copy(h, f)
	return hex.EncodeToString(h.Sum(nil))
}
