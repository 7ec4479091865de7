package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-dev/ferry/daemon/datadir"
)

// buildFerry builds the binary the way `make build` does.
func buildFerry(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ferry")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

type proc struct {
	dir, downloads, addr string
}

// startDaemon runs `ferry run` and waits for the line it prints when ready.
func startDaemon(t *testing.T, bin, name string, extra ...string) proc {
	t.Helper()
	dir := t.TempDir()
	p := proc{dir: filepath.Join(dir, "data"), downloads: filepath.Join(dir, "downloads")}
	runFerry(t, bin, name, p.dir, p.downloads, extra...)
	b, err := os.ReadFile(filepath.Join(p.dir, datadir.APIFile))
	if err != nil {
		t.Fatal(err)
	}
	var info datadir.APIInfo
	json.Unmarshal(b, &info)
	p.addr = info.Addr
	return p
}

// runFerry runs `ferry run` called name with the data folder dir and the
// downloads folder dl, on loopback, returns the line it prints when ready,
// and stops it when the test ends.
func runFerry(t *testing.T, bin, name, dir, dl string, extra ...string) string {
	t.Helper()
	args := append([]string{"run", "--data-dir", dir, "--downloads", dl, "--port", "0", "--name", name, "--interfaces", "lo"}, extra...)
	cmd := exec.Command(bin, args...)
	stdout, _ := cmd.StdoutPipe()
	var logs bytes.Buffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		if err := cmd.Wait(); err != nil {
			t.Errorf("%s exited with %v on SIGINT; logs:\n%s", name, err, logs.String())
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.Contains(line, name) {
		t.Fatalf("ferry run printed %q, %v; logs:\n%s", line, err, logs.String())
	}
	go io.Copy(io.Discard, stdout)
	return line
}

func ferry(t *testing.T, bin string, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	return string(out), err
}

func TestCLIEndToEnd(t *testing.T) {
	bin := buildFerry(t)
	alice := startDaemon(t, bin, "alice")
	bob := startDaemon(t, bin, "bob")

	src := filepath.Join(t.TempDir(), "holiday")
	os.MkdirAll(filepath.Join(src, "empty"), 0o755)
	os.MkdirAll(filepath.Join(src, "day1"), 0o755)
	photo := bytes.Repeat([]byte("pixels"), 50000)
	os.WriteFile(filepath.Join(src, "day1", "photo.jpg"), photo, 0o644)
	os.WriteFile(filepath.Join(src, "notes.txt"), []byte("sunny"), 0o644)

	// Bob's owner answers from the CLI while alice's send waits.
	send := exec.Command(bin, "send", "--data-dir", alice.dir, "--to", bob.addr, src)
	var sendOut bytes.Buffer
	send.Stdout, send.Stderr = &sendOut, &sendOut
	if err := send.Start(); err != nil {
		t.Fatal(err)
	}
	id := waitPending(t, bin, bob.dir)
	if out, err := ferry(t, bin, "accept", "--data-dir", bob.dir, id); err != nil {
		t.Fatalf("ferry accept: %v\n%s", err, out)
	}
	if err := send.Wait(); err != nil {
		t.Fatalf("ferry send: %v\n%s", err, sendOut.String())
	}
	if !strings.Contains(sendOut.String(), "every file verified") {
		t.Errorf("send output:\n%s", sendOut.String())
	}
	got, err := os.ReadFile(filepath.Join(bob.downloads, "holiday", "day1", "photo.jpg"))
	if err != nil || !bytes.Equal(got, photo) {
		t.Fatalf("received photo: %d bytes, %v", len(got), err)
	}
	if st, err := os.Stat(filepath.Join(bob.downloads, "holiday", "empty")); err != nil || !st.IsDir() {
		t.Fatalf("empty folder: %v", err)
	}
	out, err := ferry(t, bin, "transfers", "--data-dir", bob.dir)
	if err != nil || !strings.Contains(out, id) || !strings.Contains(out, "done") {
		t.Fatalf("ferry transfers: %v\n%s", err, out)
	}
	out, err = ferry(t, bin, "status", "--data-dir", bob.dir, "--json")
	var st struct{ Name, ShortID string }
	if err != nil || json.Unmarshal([]byte(out), &st) != nil || st.Name != "bob" || len(st.ShortID) != 9 {
		t.Fatalf("ferry status --json: %v\n%s", err, out)
	}

	// A declined send exits non-zero and says so.
	send = exec.Command(bin, "send", "--data-dir", alice.dir, "--to", bob.addr, filepath.Join(src, "notes.txt"))
	sendOut.Reset()
	send.Stdout, send.Stderr = &sendOut, &sendOut
	send.Start()
	id = waitPending(t, bin, bob.dir)
	if out, err := ferry(t, bin, "decline", "--data-dir", bob.dir, id); err != nil {
		t.Fatalf("ferry decline: %v\n%s", err, out)
	}
	if err := send.Wait(); err == nil || !strings.Contains(sendOut.String(), "declined: bob declined the transfer") {
		t.Fatalf("declined send: %v\n%s", err, sendOut.String())
	}

	// Errors a user can act on.
	if out, err := ferry(t, bin, "send", "--data-dir", alice.dir, "--to", bob.addr, "/no/such/file"); err == nil || !strings.Contains(out, "no such file") {
		t.Fatalf("send of a missing file: %v\n%s", err, out)
	}
	if out, err := ferry(t, bin, "status", "--data-dir", t.TempDir()); err == nil || !strings.Contains(out, "no ferry daemon is running") {
		t.Fatalf("status without a daemon: %v\n%s", err, out)
	}
	port := bob.addr[strings.LastIndex(bob.addr, ":")+1:]
	if out, err := ferry(t, bin, "run", "--data-dir", t.TempDir(), "--port", port, "--name", "x"); err == nil || !strings.Contains(out, "is in use; start with --port 0") {
		t.Fatalf("run on a used port: %v\n%s", err, out)
	}
	if out, err := ferry(t, bin, "run", "--data-dir", t.TempDir(), "--port", "0", "--name", "bad\x07name"); err == nil || !strings.Contains(out, "control character") {
		t.Fatalf("run with a bad name: %v\n%s", err, out)
	}
	dir := t.TempDir()
	out, err = ferry(t, bin, "install", "--data-dir", filepath.Join(dir, "data"), "--downloads", filepath.Join(dir, "dl"), "--port", port)
	if err == nil || !strings.Contains(out, "port "+port+" is in use by another program") {
		t.Fatalf("install on a port another program holds: %v\n%s", err, out)
	}
	out, err = ferry(t, bin, "install", "--data-dir", filepath.Join(dir, "data"), "--downloads", filepath.Join(dir, "dl"), "--name", " ")
	if err == nil || !strings.Contains(out, "the device name is empty") {
		t.Fatalf("install with a blank name: %v\n%s", err, out)
	}
	if out, err := ferry(t, bin, "version"); err != nil || !strings.HasPrefix(out, "ferry ") {
		t.Fatalf("ferry version: %v %s", err, out)
	}
}

// waitPending polls `ferry transfers --json` until an offer is pending.
func waitPending(t *testing.T, bin, dir string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		out, err := ferry(t, bin, "transfers", "--data-dir", dir, "--json")
		var list []struct{ ID, State string }
		if err == nil && json.Unmarshal([]byte(out), &list) == nil {
			for _, tr := range list {
				if tr.State == "pending" {
					return tr.ID
				}
			}
		}
	}
	t.Fatal("no offer became pending")
	return ""
}
