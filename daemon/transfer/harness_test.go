package transfer

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-dev/ferry/daemon/identity"
	"github.com/ferry-dev/ferry/daemon/mesh"
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

// fileStates keeps resume states as JSON files in a folder, as the daemon's
// data folder does.
type fileStates struct{ dir string }

var _ States = fileStates{}

func (s fileStates) Save(id string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return err
	}
	tmp := filepath.Join(s.dir, id+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(s.dir, id+".json"))
}

func (s fileStates) Load(id string, v any) error {
	b, err := os.ReadFile(filepath.Join(s.dir, id+".json"))
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func (s fileStates) Remove(id string) error {
	if err := os.Remove(filepath.Join(s.dir, id+".json")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

func (s fileStates) List() ([]string, error) {
	des, err := os.ReadDir(s.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	var ids []string
	for _, de := range des {
		if id, ok := strings.CutSuffix(de.Name(), ".json"); ok {
			ids = append(ids, id)
		}
	}
	return ids, err
}

// testAPI is the WebRTC profile of the tests: loopback only.
func testAPI() RTCConfig {
	return RTCConfig{InterfaceFilter: func(name string) bool { return name == "lo" }, Loopback: true}
}

// node is one peer, built in the order the daemon builds its parts: a
// listener on loopback, the Manager, the mesh (with the Manager for its
// messages) and the hub in front of both.
type node struct {
	t     *testing.T
	m     *Manager
	mesh  *mesh.Mesh
	hub   *signal.Hub
	id    *identity.Identity
	addr  string
	dir   string // data folder
	dl    string // downloads folder
	srv   *http.Server
	peers *memBook
	stop  func()

	mu     sync.Mutex
	offers []Peer // every peer AutoAccept was asked about
}

type nodeOpts struct {
	dir        string // reuse a data folder (restart)
	addr       string // listen on this address (restart)
	autoAccept bool
	trusted    func(Peer) bool
	pendingTTL time.Duration
	downloads  string
	// perAddr and history set Config.PendingPerAddr and Config.History.
	perAddr int
	history int
	// locate and keep set Config.Locate and Config.KeepInterrupted.
	locate func(identity.ID) []string
	keep   time.Duration
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
	name := "node " + n.addr
	log := slog.New(slog.DiscardHandler)
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("node", n.addr)
	}
	dialer := signal.NewDialer(signal.Message{From: id.ID.String(), Name: name}, id.Sign)
	n.m, err = New(Config{
		Identity: id, Name: name,
		API:       NewAPI(testAPI()),
		Downloads: store.NewDownloads(o.downloads),
		States:    fileStates{filepath.Join(o.dir, "transfers")},
		Dialer:    dialer,
		Peers:     n.peers,
		AutoAccept: func(p Peer) bool {
			n.mu.Lock()
			n.offers = append(n.offers, p)
			n.mu.Unlock()
			return o.autoAccept
		},
		Trusted:         o.trusted,
		PendingTTL:      o.pendingTTL,
		ResumeFor:       time.Minute,
		PendingPerAddr:  o.perAddr,
		History:         o.history,
		Log:             log,
		Locate:          o.locate,
		KeepInterrupted: o.keep,
	})
	if err != nil {
		t.Fatal(err)
	}
	n.mesh = mesh.New(mesh.Config{ID: id.ID, Prove: id.Sign, Name: name, Port: ln.Addr().(*net.TCPAddr).Port, Local: n.m, Log: log})
	n.hub = signal.NewHub(signal.HubConfig{ID: id.ID.String(), Name: name, Handler: n.m, Sessions: n.mesh, Log: log})
	mux := http.NewServeMux()
	mux.Handle(signal.HubPath, n.hub)
	n.srv = &http.Server{Handler: mux}
	go n.srv.Serve(ln)

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, run := range []func(context.Context) error{n.m.Run, n.mesh.Run, dialer.Run} {
		wg.Go(func() {
			if err := run(ctx); err != nil {
				t.Errorf("Run = %v", err)
			}
		})
	}
	n.stop = sync.OnceFunc(func() {
		n.srv.Close()
		cancel()
		wg.Wait()
	})
	t.Cleanup(n.stop)
	return n
}

// asked returns the peers AutoAccept was asked about.
func (n *node) asked() []Peer {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]Peer(nil), n.offers...)
}

// direct is the route to n's hub, as a daemon sending by address has it.
func (n *node) direct() Route { return Direct(n.addr, identity.ID{}) }

// wait waits until the transfer reaches a final state, or the condition holds.
func (n *node) wait(id string, cond func(Info) bool) Info {
	n.t.Helper()
	deadline := time.After(transferPatience)
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
	deadline := time.After(transferPatience)
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

// transferPatience bounds a wait for a transfer to end. It only catches a
// hang: on a loaded machine running the race detector, 100 MiB with a cut
// in the middle takes a minute.
const transferPatience = 3 * time.Minute
