package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-dev/ferry/daemon/api"
	"github.com/ferry-dev/ferry/daemon/datadir"
)

// Transfers that survive a receiver killed at any point: it comes back on
// another port and the transfer follows it; a new send of the same files
// continues what it holds; and what it holds goes when the transfer ends
// or its owner drops it. Every daemon here is a real `ferry run` process.

// window bounds what a sender may put on the wire twice after the receiver
// was killed: what was in flight (the data channel's buffer, up to its
// 4 MiB high mark, and what the dead receiver had taken but not written).
const window = 8 << 20

// ferryd is a `ferry run` process on loopback whose folders outlive it, so
// that it can be killed and started again.
type ferryd struct {
	t              *testing.T
	name, data, dl string
	addr           string
	cmd            *exec.Cmd
	logs           *lockedBuffer
	exited         chan struct{}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// runFerryd starts `ferry run` on a free loopback port with its data and
// downloads folders in dir, and waits until it serves.
func runFerryd(t *testing.T, bin, name, dir string, extra ...string) *ferryd {
	t.Helper()
	d := &ferryd{t: t, name: name, data: filepath.Join(dir, "data"), dl: filepath.Join(dir, "downloads"),
		logs: &lockedBuffer{}, exited: make(chan struct{})}
	args := append([]string{"run", "--data-dir", d.data, "--downloads", d.dl, "--port", "0", "--name", name,
		"--interfaces", "lo", "--mdns=false", "--log-level", "debug"}, extra...)
	d.cmd = exec.Command(bin, args...)
	stdout, _ := d.cmd.StdoutPipe()
	d.cmd.Stderr = d.logs
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.cmd.Wait(); close(d.exited) }()
	t.Cleanup(d.stop)
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.Contains(line, name) {
		t.Fatalf("ferry run printed %q, %v; logs:\n%s", line, err, d.logs.String())
	}
	go io.Copy(io.Discard, stdout)
	var info datadir.APIInfo
	if ok, err := datadir.New(d.data).ReadJSON(datadir.APIFile, &info); !ok || err != nil {
		t.Fatalf("reading api.json: %v", err)
	}
	d.addr = info.Addr
	return d
}

// kill ends the daemon with SIGKILL: it saves nothing.
func (d *ferryd) kill() {
	d.cmd.Process.Kill()
	<-d.exited
}

func (d *ferryd) stop() {
	select {
	case <-d.exited:
		return
	default:
	}
	d.cmd.Process.Signal(os.Interrupt)
	<-d.exited
}

// cli runs a client command against the daemon.
func (d *ferryd) cli(bin string, args ...string) (string, error) {
	out, err := exec.Command(bin, append([]string{args[0], "--data-dir", d.data}, args[1:]...)...).CombinedOutput()
	return string(out), err
}

// transfers returns the daemon's transfers, as `ferry transfers --json`
// gives them.
func transfersOf(t *testing.T, bin, data string) []api.Transfer {
	t.Helper()
	out, err := exec.Command(bin, "transfers", "--data-dir", data, "--json").Output()
	var list []api.Transfer
	if err != nil || json.Unmarshal(out, &list) != nil {
		t.Fatalf("ferry transfers --json: %v\n%s", err, out)
	}
	return list
}

// bigFile writes size random bytes to a new file and returns its path and
// SHA-256.
func bigFile(t *testing.T, name string, size int64) (string, [32]byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	if _, err := io.CopyN(io.MultiWriter(f, h), rand.Reader, size); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return path, [32]byte(h.Sum(nil))
}

func sumOf(t *testing.T, path string) [32]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	io.Copy(h, f)
	return [32]byte(h.Sum(nil))
}

// awaitSize polls the file at path until it holds at least n bytes.
func awaitSize(t *testing.T, path string, n int64) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if st, err := os.Stat(path); err == nil && st.Size() >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never held %d bytes", path, n)
		}
		<-tick.C
	}
}

// killPoint picks where in a file of size bytes to kill the receiver, at
// random between lo and size-hi, and says so.
func killPoint(t *testing.T, size, lo, hi int64) int64 {
	at := lo + mrand.Int64N(size-lo-hi)
	t.Logf("killing the receiver once it holds %d bytes (%.1f MiB) of %d", at, float64(at)/(1<<20), size)
	return at
}

// background starts a client command and returns a function that waits
// for it, failing the test if it takes more than patience.
func background(t *testing.T, patience time.Duration, name string, args ...string) (*exec.Cmd, func() (string, error)) {
	t.Helper()
	cmd := exec.Command(name, args...)
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	return cmd, func() (string, error) {
		t.Helper()
		select {
		case err := <-done:
			return out.String(), err
		case <-time.After(patience):
			cmd.Process.Kill()
			<-done
			t.Fatalf("%s %s did not end within %s:\n%s", filepath.Base(name), strings.Join(args, " "), patience, out.String())
			return "", nil
		}
	}
}

// partsIn lists the .part files under dir.
func partsIn(dir string) []string {
	var out []string
	filepath.Walk(dir, func(p string, _ os.FileInfo, _ error) error {
		if strings.HasSuffix(p, ".part") {
			out = append(out, filepath.Base(p))
		}
		return nil
	})
	return out
}

func namesIn(dir string) []string {
	des, _ := os.ReadDir(dir)
	out := []string{}
	for _, de := range des {
		out = append(out, de.Name())
	}
	return out
}

// TestReceiverKilledComesBackOnAnotherPort: in a LAN of two network
// namespaces with real mDNS, the receiver is SIGKILLed at a random point
// of a 96 MiB transfer and started again with --port 0. The sender finds
// it at its new port, the transfer completes with the file's SHA-256, and
// what the sender put on the wire is the file once, plus at most what was
// in flight when the receiver died.
func TestReceiverKilledComesBackOnAnotherPort(t *testing.T) {
	l := newLAN(t, 2)
	bin := buildFerry(t)
	recvDir := t.TempDir()
	recv := startIn(t, bin, l.hosts[1], "receiver", recvDir, "--accept", "all")
	send := startIn(t, bin, l.hosts[0], "sender", t.TempDir())
	send.awaitEach("discovery of the receiver", `msg="Nearby device added"`, []string{"name=receiver"})

	const size = 96 << 20
	src, sum := bigFile(t, "big.bin", size)
	at := killPoint(t, size, 16<<20, 16<<20)
	_, wait := background(t, 3*time.Minute, "ip", "netns", "exec", send.ns, bin, "send", "--data-dir", send.data, "--to", "receiver", src)
	part := filepath.Join(recv.dl, "big.bin.part")
	awaitSize(t, part, at)
	recv.kill()
	st, _ := os.Stat(part)
	t.Logf("the receiver died holding %d bytes on disk", st.Size())

	moved := startIn(t, bin, l.hosts[1], "receiver", recvDir, "--accept", "all", "--port", "0")
	moved.awaitEach("the restart", `msg="Ferry is running"`, []string{"port="})
	if out, err := wait(); err != nil {
		t.Fatalf("ferry send: %v\n%s\nsender's log:\n%s", err, out, send.logText())
	}
	if got := sumOf(t, filepath.Join(moved.dl, "big.bin")); got != sum {
		t.Fatal("the received file's SHA-256 differs")
	}
	if names := namesIn(moved.dl); !slices.Equal(names, []string{"big.bin"}) {
		t.Fatalf("downloads hold %v", names)
	}
	var out api.Transfer
	listed, err := send.cli("transfers", "--json")
	var list []api.Transfer
	if err != nil || json.Unmarshal([]byte(listed), &list) != nil || len(list) != 1 {
		t.Fatalf("ferry transfers on the sender: %v\n%s", err, listed)
	}
	out = list[0]
	if out.State != api.StateDone || !strings.HasPrefix(out.Addr, "10.77.0.2:") || strings.HasSuffix(out.Addr, ":7466") {
		t.Fatalf("the sender's transfer: %s at %s", out.State, out.Addr)
	}
	t.Logf("sent %d bytes on the wire for %d (%d again), resumed at %v, now at %s", out.Sent, size, out.Sent-size, out.Resumed, out.Addr)
	if out.Sent < size || out.Sent > size+window {
		t.Fatalf("the sender put %d bytes on the wire for a file of %d: more than a window of %d again", out.Sent, size, window)
	}
}

// logText returns what the daemon logged so far.
func (d *nsDaemon) logText() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.log.String()
}

// kill ends the daemon with SIGKILL: it saves nothing. ip netns exec
// execs ferry, so the process is ferry itself.
func (d *nsDaemon) kill() {
	d.cmd.Process.Kill()
	<-d.done
	d.cmd.Wait()
}

// TestSendAgainContinuesHeldPart: the receiver is killed in the middle of
// a transfer and the sender's owner cancels the send meanwhile, so the
// receiver, back on another port, still holds a part file. Sending the
// same file again continues it: one file, no "big (1).bin", and on the
// wire only what the receiver did not hold.
func TestSendAgainContinuesHeldPart(t *testing.T) {
	bin := buildFerry(t)
	alice := runFerryd(t, bin, "alice", t.TempDir())
	bobDir := t.TempDir()
	bob := runFerryd(t, bin, "bob", bobDir, "--accept", "all")

	const size = 64 << 20
	src, sum := bigFile(t, "big.bin", size)
	at := killPoint(t, size, 8<<20, 24<<20)
	sendCmd, wait := background(t, time.Minute, bin, "send", "--data-dir", alice.data, "--to", bob.addr, src)
	part := filepath.Join(bob.dl, "big.bin.part")
	awaitSize(t, part, at)
	bob.kill()
	st, _ := os.Stat(part)
	onDisk := st.Size()
	sendCmd.Process.Signal(os.Interrupt)
	if out, err := wait(); err == nil || !strings.Contains(out, "cancelled") {
		t.Fatalf("the interrupted send: %v\n%s", err, out)
	}

	bob = runFerryd(t, bin, "bob", bobDir, "--accept", "all")
	held := transfersOf(t, bin, bob.data)
	if len(held) != 1 || held[0].State != api.StateInterrupted || held[0].Held != onDisk {
		t.Fatalf("the restarted receiver lists %+v", held)
	}
	t.Logf("bob died with %d bytes on disk; ferry transfers shows %d held (%d counted at the last checkpoint)", onDisk, held[0].Held, held[0].Done)

	if out, err := ferry(t, bin, "send", "--data-dir", alice.data, "--to", bob.addr, src); err != nil {
		t.Fatalf("the second send: %v\n%s", err, out)
	}
	if names := namesIn(bob.dl); !slices.Equal(names, []string{"big.bin"}) {
		t.Fatalf("downloads hold %v, want big.bin alone", names)
	}
	if sumOf(t, filepath.Join(bob.dl, "big.bin")) != sum {
		t.Fatal("the received file's SHA-256 differs")
	}
	var again api.Transfer
	for _, tr := range transfersOf(t, bin, alice.data) {
		if tr.State == api.StateDone {
			again = tr
		}
	}
	t.Logf("the second send resumed at %v and sent %d bytes for the %d bob did not hold", again.Resumed, again.Sent, size-onDisk)
	if len(again.Resumed) == 0 || again.Resumed[0] != onDisk {
		t.Errorf("the second send started at %v, not at the %d bytes bob had on disk", again.Resumed, onDisk)
	}
	// Exactly the missing bytes, unless a session broke on the way and
	// what was in flight went again.
	if again.Sent < size-onDisk || again.Sent > size-onDisk+window {
		t.Errorf("the second send put %d bytes on the wire for the %d bob did not hold", again.Sent, size-onDisk)
	}
	for _, tr := range transfersOf(t, bin, bob.data) {
		if tr.ID == held[0].ID && (tr.State != api.StateCancelled || !strings.Contains(tr.Error, "continued by")) {
			t.Errorf("the earlier transfer on bob: %s %q", tr.State, tr.Error)
		}
	}
}

// TestHeldPartsGo: what a receiver holds goes when the transfer is
// declined, cancelled by either owner, or dropped with `ferry clean`.
func TestHeldPartsGo(t *testing.T) {
	bin := buildFerry(t)
	alice := runFerryd(t, bin, "alice", t.TempDir())
	bobDir := t.TempDir()
	bob := runFerryd(t, bin, "bob", bobDir)
	small, _ := bigFile(t, "small.bin", 1<<20)
	src, _ := bigFile(t, "big.bin", 96<<20)
	part := filepath.Join(bob.dl, "big.bin.part")
	empty := func(when string) {
		t.Helper()
		if p := partsIn(bob.dl); len(p) != 0 {
			t.Fatalf("%s: part files left: %v", when, p)
		}
	}
	// sendAccepted starts a send of src that bob accepts, and waits until
	// bob holds some of it.
	sendAccepted := func() (*exec.Cmd, func() (string, error), string) {
		t.Helper()
		cmd, wait := background(t, time.Minute, bin, "send", "--data-dir", alice.data, "--to", bob.addr, src)
		id := waitPending(t, bin, bob.data)
		if out, err := bob.cli(bin, "accept", id); err != nil {
			t.Fatalf("ferry accept: %v\n%s", err, out)
		}
		awaitSize(t, part, 4<<20)
		return cmd, wait, id
	}

	_, wait := background(t, time.Minute, bin, "send", "--data-dir", alice.data, "--to", bob.addr, small)
	id := waitPending(t, bin, bob.data)
	if out, err := bob.cli(bin, "decline", id); err != nil {
		t.Fatalf("ferry decline: %v\n%s", err, out)
	}
	if out, err := wait(); err == nil {
		t.Fatalf("a declined send succeeded:\n%s", out)
	}
	empty("declined")

	// Bob's owner cancels.
	_, wait, id = sendAccepted()
	if out, err := bob.cli(bin, "cancel", id); err != nil {
		t.Fatalf("ferry cancel on the receiver: %v\n%s", err, out)
	}
	if out, err := wait(); err == nil || !strings.Contains(out, "cancel") {
		t.Fatalf("a send the receiver cancelled: %v\n%s", err, out)
	}
	empty("cancelled by the receiver")

	// Alice's owner cancels (Ctrl-C on ferry send): bob is told.
	cmd, wait, id := sendAccepted()
	cmd.Process.Signal(os.Interrupt)
	wait()
	for deadline := time.Now().Add(30 * time.Second); ; {
		if tr := findTransfer(t, bin, bob.data, id); tr.State.Final() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("bob never heard of the cancel")
		}
	}
	empty("cancelled by the sender")

	// Bob is killed, and comes back holding part of a transfer; his owner
	// drops it.
	cmd, wait, id = sendAccepted()
	bob.kill()
	cmd.Process.Signal(os.Interrupt)
	wait()
	bob = runFerryd(t, bin, "bob", bobDir)
	tr := findTransfer(t, bin, bob.data, id)
	if tr.State != api.StateInterrupted || tr.Held <= 0 {
		t.Fatalf("after the restart bob lists %s holding %d", tr.State, tr.Held)
	}
	if out, err := bob.cli(bin, "transfers"); err != nil || !strings.Contains(out, "holds "+humanBytes(tr.Held)+"; 'ferry clean' drops it") {
		t.Fatalf("ferry transfers does not say what is held: %v\n%s", err, out)
	}
	out, err := bob.cli(bin, "clean")
	want := fmt.Sprintf("big.bin.part (%s)", humanBytes(tr.Held))
	if err != nil || !strings.Contains(out, want) || !strings.Contains(out, id) {
		t.Fatalf("ferry clean: %v\n%s\nwant a line with %q and %s", err, out, want, id)
	}
	t.Logf("ferry clean printed:\n%s", out)
	empty("cleaned")
	if tr := findTransfer(t, bin, bob.data, id); tr.State != api.StateCancelled || tr.Held != 0 {
		t.Fatalf("after ferry clean bob lists %s holding %d", tr.State, tr.Held)
	}
	if out, err := bob.cli(bin, "clean"); err != nil || !strings.Contains(out, "Nothing") {
		t.Fatalf("ferry clean with nothing held: %v\n%s", err, out)
	}
	if names := namesIn(bob.dl); len(names) != 0 {
		t.Fatalf("downloads hold %v", names)
	}
}

// findTransfer returns transfer id as the daemon lists it.
func findTransfer(t *testing.T, bin, data, id string) api.Transfer {
	t.Helper()
	for _, tr := range transfersOf(t, bin, data) {
		if tr.ID == id {
			return tr
		}
	}
	t.Fatalf("the daemon does not list transfer %s", id)
	return api.Transfer{}
}
