package installer

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-dev/ferry/daemon"
	"github.com/ferry-dev/ferry/daemon/datadir"
	"github.com/ferry-dev/ferry/daemon/identity"
	"github.com/ferry-dev/ferry/daemon/transfer"
)

func testConfig(t *testing.T, name string, accept string) daemon.Config {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	return daemon.Config{
		DataDir: filepath.Join(dir, "data"), Downloads: filepath.Join(dir, "dl"), Name: name,
		Listener: ln, Accept: accept, Interfaces: []string{"lo"}, Version: "test",
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// TestProgramLifecycle runs the service program as a service manager
// would: Start, reach the API, Stop in the middle of a transfer, and finds
// the transfer's resume state saved.
func TestProgramLifecycle(t *testing.T) {
	cfg := testConfig(t, "service", datadir.AcceptAll)
	ready := make(chan struct{})
	cfg.Ready = func() { close(ready) }
	d, err := daemon.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := &Program{Run: d.Run}
	if err := p.Start(nil); err != nil {
		t.Fatal(err)
	}
	<-ready

	info, err := os.ReadFile(filepath.Join(cfg.DataDir, datadir.APIFile))
	if err != nil {
		t.Fatal(err)
	}
	var api datadir.APIInfo
	json.Unmarshal(info, &api)
	resp, err := http.Get("http://" + api.Addr + "/api/status")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"name":"service"`) {
		t.Fatalf("status: %d %s", resp.StatusCode, body)
	}

	// A sender on loopback with a file large enough to be cut mid-way.
	scfg := testConfig(t, "sender", datadir.AcceptNone)
	sender, err := daemon.New(scfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	senderDone := make(chan error, 1)
	go func() { senderDone <- sender.Run(ctx) }()
	defer func() { cancel(); <-senderDone }()
	src := filepath.Join(t.TempDir(), "big.bin")
	f, _ := os.Create(src)
	io.CopyN(f, rand.Reader, 256<<20)
	f.Close()
	if _, err := sender.Transfers().Send(transfer.Direct(d.Addr().String(), identity.ID{}), []string{src}); err != nil {
		t.Fatal(err)
	}

	// Stop the service once the receiver holds part of the file.
	recv := d.Transfers()
	for held := int64(0); held < 20<<20; {
		<-recv.Changed()
		for _, in := range recv.List() {
			if in.State.Final() {
				t.Fatalf("the transfer ended before the service stopped: %+v", in)
			}
			held = in.Done
		}
	}
	if err := p.Stop(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, datadir.APIFile)); !os.IsNotExist(err) {
		t.Errorf("%s is left behind after Stop: %v", datadir.APIFile, err)
	}

	states, _ := filepath.Glob(filepath.Join(cfg.DataDir, "transfers", "*.json"))
	if len(states) != 1 {
		t.Fatalf("saved states: %v", states)
	}
	var saved struct {
		Files []struct {
			CP struct {
				Held int64 `json:"held"`
			} `json:"cp"`
		} `json:"files"`
	}
	b, _ := os.ReadFile(states[0])
	if err := json.Unmarshal(b, &saved); err != nil || len(saved.Files) != 1 || saved.Files[0].CP.Held < 16<<20 {
		t.Fatalf("saved state %s: %v", b, err)
	}
	parts, _ := filepath.Glob(filepath.Join(cfg.Downloads, "*.part"))
	if len(parts) != 1 {
		t.Fatalf(".part files in downloads: %v", parts)
	}
	if _, err := os.Stat(filepath.Join(cfg.Downloads, "big.bin")); !os.IsNotExist(err) {
		t.Errorf("the unfinished file appeared under its real name: %v", err)
	}
}

// TestProgramRunFails returns what the daemon's Run returned from Stop, as
// a service manager needs to report it.
func TestProgramRunFails(t *testing.T) {
	failed := errors.New("serving: the listener closed")
	p := &Program{Run: func(context.Context) error { return failed }}
	if err := p.Start(nil); err != nil {
		t.Fatal(err)
	}
	<-p.exited
	if err := p.Stop(nil); err != failed {
		t.Fatalf("Stop: %v", err)
	}
	if err := (&Program{}).Stop(nil); err != nil {
		t.Fatalf("Stop before Start: %v", err)
	}
}
