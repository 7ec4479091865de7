package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-dev/ferry/daemon/datadir"
)

// daemonProc is a `ferry run` a test can kill and start again on the same
// data folder.
type daemonProc struct {
	proc
	t         *testing.T
	bin, name string
	extra     []string
	cmd       *exec.Cmd
	logs      *bytes.Buffer
}

// runDaemon starts `ferry run` with a data folder of its own and stops it
// with SIGINT at the end of the test.
func runDaemon(t *testing.T, bin, name string, extra ...string) *daemonProc {
	t.Helper()
	dir := t.TempDir()
	d := &daemonProc{t: t, bin: bin, name: name, extra: extra,
		proc: proc{dir: filepath.Join(dir, "data"), downloads: filepath.Join(dir, "downloads")}}
	d.start()
	t.Cleanup(func() {
		if d.cmd == nil {
			return
		}
		d.cmd.Process.Signal(os.Interrupt)
		if err := d.cmd.Wait(); err != nil {
			t.Errorf("%s exited with %v on SIGINT; logs:\n%s", name, err, d.logs.String())
		}
	})
	return d
}

// start runs the daemon and waits for the line it prints when ready.
func (d *daemonProc) start() {
	t := d.t
	t.Helper()
	args := append([]string{"run", "--data-dir", d.dir, "--downloads", d.downloads, "--port", "0", "--name", d.name, "--interfaces", "lo"}, d.extra...)
	d.cmd = exec.Command(d.bin, args...)
	stdout, _ := d.cmd.StdoutPipe()
	d.logs = &bytes.Buffer{}
	d.cmd.Stderr = d.logs
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	go func() {
		rd := bufio.NewReader(stdout)
		line, _ := rd.ReadString('\n')
		ready <- line
		io.Copy(io.Discard, rd)
	}()
	select {
	case line := <-ready:
		if !strings.Contains(line, d.name) {
			d.kill()
			t.Fatalf("ferry run printed %q; logs:\n%s", line, d.logs.String())
		}
	case <-time.After(30 * time.Second):
		d.kill()
		t.Fatalf("ferry run printed no line in 30 s; logs:\n%s", d.logs.String())
	}
	var info datadir.APIInfo
	if ok, err := datadir.New(d.dir).ReadJSON(datadir.APIFile, &info); !ok || err != nil {
		t.Fatalf("api.json: %v %v", ok, err)
	}
	d.addr = info.Addr
}

// kill ends the daemon with SIGKILL: it has no chance to save or tidy.
func (d *daemonProc) kill() {
	d.cmd.Process.Kill()
	d.cmd.Wait()
	d.cmd = nil
}

// output keeps what a command printed and lets a test wait for a text in
// it.
type output struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	more   chan struct{} // closed at the next write
	exited chan struct{} // closed when the command has exited
	err    error         // how it exited
	args   string
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	close(o.more)
	o.more = make(chan struct{})
	return o.buf.Write(p)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// await waits up to a minute for text to appear in the output, and fails
// at once if the command exits without printing it.
func (o *output) await(t *testing.T, text string) {
	t.Helper()
	deadline := time.After(time.Minute)
	for {
		o.mu.Lock()
		found, more := strings.Contains(o.buf.String(), text), o.more
		o.mu.Unlock()
		if found {
			return
		}
		select {
		case <-more:
		case <-o.exited:
			if !strings.Contains(o.String(), text) {
				t.Fatalf("%s exited (%v) without printing %q; the output is:\n%s", o.args, o.err, text, o.String())
			}
		case <-deadline:
			t.Fatalf("waited a minute for %q; the output is:\n%s", text, o.String())
		}
	}
}

// wait waits up to two minutes for the command to exit and returns how it
// did.
func (o *output) wait(t *testing.T) error {
	t.Helper()
	select {
	case <-o.exited:
		return o.err
	case <-time.After(2 * time.Minute):
		t.Fatalf("%s did not exit; output:\n%s", o.args, o.String())
	}
	return nil
}

// startCLI starts a ferry command whose output the test follows.
func startCLI(t *testing.T, bin string, args ...string) *output {
	t.Helper()
	cmd := exec.Command(bin, args...)
	out := &output{more: make(chan struct{}), exited: make(chan struct{}), args: "ferry " + strings.Join(args, " ")}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		out.err = cmd.Wait()
		close(out.exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-out.exited
	})
	return out
}

// TestSendFollowsThroughDaemonKill: the daemon under a `ferry send` is
// killed while the offer waits for the receiver. The CLI says so in words
// (not "unexpected EOF"), and when the daemon is started again on the same
// data folder it follows the same transfer to its end. A send told to wait
// only a second says how to follow the transfer once the daemon is back,
// and `ferry transfers -f ID` does.
func TestSendFollowsThroughDaemonKill(t *testing.T) {
	bin := buildFerry(t)
	alice := runDaemon(t, bin, "alice")
	bob := startDaemon(t, bin, "bob")
	src := filepath.Join(t.TempDir(), "album")
	os.MkdirAll(src, 0o755)
	photo := bytes.Repeat([]byte("pixels"), 100000)
	os.WriteFile(filepath.Join(src, "a.jpg"), photo, 0o644)
	os.WriteFile(filepath.Join(src, "b.txt"), []byte("caption"), 0o644)

	out := startCLI(t, bin, "send", "--data-dir", alice.dir, "--to", bob.addr, src)
	id := waitPending(t, bin, bob.dir)
	out.await(t, "Waiting for bob to accept")
	alice.kill()
	out.await(t, "The ferry daemon stopped; the transfer goes on when the daemon is back.")
	if got, err := ferry(t, bin, "accept", "--data-dir", bob.dir, id); err != nil || got != id+": active\n" {
		t.Fatalf("ferry accept while the sender is down: %v %q", err, got)
	}
	alice.start()
	if err := out.wait(t); err != nil {
		t.Fatalf("ferry send: %v\n%s", err, out)
	}
	text := out.String()
	for _, want := range []string{"Transfer " + id + ";", "The ferry daemon is back; following the transfer again.",
		"Sent 2 files, 585.9 KiB, to bob", "every file verified.", "Saved on bob, in its downloads folder:\n  album/\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("the send's output lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "EOF") {
		t.Errorf("the send's output speaks of EOF:\n%s", text)
	}
	if got, err := os.ReadFile(filepath.Join(bob.downloads, "album", "a.jpg")); err != nil || !bytes.Equal(got, photo) {
		t.Fatalf("received photo: %d bytes, %v", len(got), err)
	}

	// A send that gives up waiting says how to follow the transfer.
	note := filepath.Join(src, "b.txt")
	out = startCLI(t, bin, "send", "--data-dir", alice.dir, "--daemon-wait", "1s", "--to", bob.addr, note)
	id = waitPending(t, bin, bob.dir)
	alice.kill()
	if err := out.wait(t); err == nil {
		t.Fatalf("ferry send exited 0 without its daemon:\n%s", out)
	}
	again := fmt.Sprintf("follow it then with 'ferry transfers --data-dir %s -f %s'", alice.dir, id)
	if text := out.String(); !strings.Contains(text, "ferry: the ferry daemon stopped and was not back within 1s; the transfer goes on when the daemon starts again: "+again) {
		t.Fatalf("the send's output does not say how to follow the transfer:\n%s", text)
	}
	alice.start()
	out = startCLI(t, bin, "transfers", "--data-dir", alice.dir, "-f", id)
	// The sender is connected: the file may have arrived by the time the
	// accept is answered.
	if got, err := ferry(t, bin, "accept", "--data-dir", bob.dir, id); err != nil || got != id+": active\n" && got != id+": done\n" {
		t.Fatalf("ferry accept: %v %q", err, got)
	}
	if err := out.wait(t); err != nil || !strings.Contains(out.String(), "Sent 1 file, 7 B, to bob") {
		t.Fatalf("ferry transfers -f: %v\n%s", err, out)
	}
}

// TestSendSaysWhatHappened: what `ferry send`, `ferry transfers` and
// `ferry cancel` print, to a receiver that accepts by itself and to one
// whose owner answers.
func TestSendSaysWhatHappened(t *testing.T) {
	bin := buildFerry(t)
	alice := startDaemon(t, bin, "alice")
	bob := startDaemon(t, bin, "bob")
	carol := startDaemon(t, bin, "carol", "--accept", "all")
	dir := t.TempDir()
	tree := filepath.Join(dir, "tree")
	os.MkdirAll(filepath.Join(tree, "sub"), 0o755)
	os.WriteFile(filepath.Join(tree, "a.bin"), bytes.Repeat([]byte{7}, 200<<10), 0o644)
	os.WriteFile(filepath.Join(tree, "c.txt"), []byte("c"), 0o644)
	os.WriteFile(filepath.Join(tree, "sub", "b.txt"), []byte("b"), 0o644)
	notes := filepath.Join(dir, "notes.txt")
	os.WriteFile(notes, []byte("notes"), 0o644)
	first := regexp.MustCompile(`^Transfer ([a-z2-7]{16}); cancel it from anywhere with 'ferry cancel --data-dir \S+ ([a-z2-7]{16})'\.\n`)

	// To a receiver that accepts at once: the ID first, no waiting, the
	// average speed and where each item was saved, renamed the second time.
	t.Run("accepted at once", func(t *testing.T) {
		average := regexp.MustCompile(`\nSent 4 files, 200\.0 KiB, to carol in [0-9.]+m?s \([0-9.]+ (B|KiB|MiB|GiB)/s on average\); every file verified\.\n`)
		for i, saved := range []string{"  tree/\n  notes.txt\n", "  tree (1)/  (tree/ was taken)\n  notes (1).txt  (notes.txt was taken)\n"} {
			out, err := ferry(t, bin, "send", "--data-dir", alice.dir, "--to", carol.addr, tree, notes)
			if m := first.FindStringSubmatch(out); err != nil || m == nil || m[1] != m[2] || m[1] != lastID(t, bin, carol.dir) {
				t.Errorf("send %d: %v; the first line does not give the ID:\n%s", i, err, out)
			}
			if strings.Contains(out, "Waiting") || strings.Contains(out, "0.0 MB/s") {
				t.Errorf("send %d to a receiver that accepts by itself:\n%s", i, out)
			}
			if !average.MatchString(out) {
				t.Errorf("send %d: no average speed:\n%s", i, out)
			}
			if !strings.HasSuffix(out, "Saved on carol, in its downloads folder:\n"+saved) {
				t.Errorf("send %d: the output does not end with where carol saved the items (%q):\n%s", i, saved, out)
			}
		}
		if _, err := os.Stat(filepath.Join(carol.downloads, "tree (1)", "sub", "b.txt")); err != nil {
			t.Fatal(err)
		}
	})

	// The sender lists its own names, and counts files as files.
	t.Run("list", func(t *testing.T) {
		out, err := ferry(t, bin, "transfers", "--data-dir", alice.dir)
		row := regexp.MustCompile(`(?m)^` + lastID(t, bin, alice.dir) + `\s+to\s+carol\s+done\s+200\.0 KiB/200\.0 KiB\s+4/4\s+tree/, notes\.txt$`)
		if err != nil || !row.MatchString(out) {
			t.Errorf("ferry transfers on the sender: %v\n%s", err, out)
		}
	})

	// --json: one object per line, each an event with the transfer's
	// fields, the last one done with the average speed.
	t.Run("json", func(t *testing.T) {
		out, err := ferry(t, bin, "send", "--data-dir", alice.dir, "--json", "--to", carol.addr, notes)
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		var last struct {
			Event, ID, State string
			Percent, Speed   float64
			Saved            []struct{ Name, As string }
		}
		for _, l := range lines {
			if err := json.Unmarshal([]byte(l), &last); err != nil || last.Event != "progress" || last.ID == "" {
				t.Fatalf("--json line %q: %v\n%s", l, err, out)
			}
		}
		if err != nil || last.State != "done" || last.Percent != 100 || last.Speed <= 0 || len(last.Saved) != 1 || last.Saved[0].Name != "notes.txt" || last.Saved[0].As == "" {
			t.Fatalf("--json: %v, last event %+v\n%s", err, last, out)
		}
	})

	// Declined: said once, and the receiver's own list says who declined.
	t.Run("declined", func(t *testing.T) {
		sendOut := startCLI(t, bin, "send", "--data-dir", alice.dir, "--to", bob.addr, notes)
		id := waitPending(t, bin, bob.dir)
		if out, err := ferry(t, bin, "decline", "--data-dir", bob.dir, id); err != nil || out != id+": declined: you declined the transfer\n" {
			t.Errorf("ferry decline: %v %q", err, out)
		}
		if err := sendOut.wait(t); err == nil || strings.Count(sendOut.String(), "bob declined the transfer") != 1 ||
			!strings.Contains(sendOut.String(), "ferry: declined: bob declined the transfer\n") {
			t.Errorf("declined send: %v; the failure is not said once:\n%s", err, sendOut)
		}
		out, _ := ferry(t, bin, "transfers", "--data-dir", bob.dir)
		if !regexp.MustCompile(`(?m)^`+id+`\s+from\s+alice\s+declined\s.*notes\.txt\s+you declined the transfer$`).MatchString(out) || strings.Contains(out, "bob declined") {
			t.Errorf("the receiver's list:\n%s", out)
		}
	})

	// Cancel prints the state after the cancel.
	t.Run("cancel", func(t *testing.T) {
		sendOut := startCLI(t, bin, "send", "--data-dir", alice.dir, "--to", bob.addr, notes)
		id := waitPending(t, bin, bob.dir)
		if out, err := ferry(t, bin, "cancel", "--data-dir", alice.dir, id); err != nil || out != id+": cancelled: you cancelled the transfer\n" {
			t.Errorf("ferry cancel: %v %q", err, out)
		}
		if err := sendOut.wait(t); err == nil || !strings.HasSuffix(sendOut.String(), "\nferry: cancelled: you cancelled the transfer\n") {
			t.Errorf("cancelled send: %v\n%s", err, sendOut)
		}
	})

	// A long reason is cut in the list; 'ferry transfers ID' has it all.
	t.Run("long reason", func(t *testing.T) {
		out, err := ferry(t, bin, "send", "--data-dir", alice.dir, "--to", "127.0.0.1:1", notes)
		why := "cannot reach 127.0.0.1:1: "
		if err == nil || strings.Count(out, why) != 1 {
			t.Errorf("send to a closed port: %v\n%s", err, out)
		}
		id := lastID(t, bin, alice.dir)
		var info struct{ Error string }
		out, _ = ferry(t, bin, "transfers", "--data-dir", alice.dir, "--json")
		var list []struct{ ID, Error string }
		json.Unmarshal([]byte(out), &list)
		for _, tr := range list {
			if tr.ID == id {
				info.Error = tr.Error
			}
		}
		if len(info.Error) <= reasonWidth || !strings.HasPrefix(info.Error, why) {
			t.Fatalf("the reason %q is not long enough to be cut", info.Error)
		}
		out, _ = ferry(t, bin, "transfers", "--data-dir", alice.dir)
		cut := string([]rune(info.Error)[:reasonWidth-1]) + "…"
		if !regexp.MustCompile(`(?m)^`+id+`\s+to\s+127\.0\.0\.1:1\s+failed\s.*notes\.txt\s+`+regexp.QuoteMeta(cut)+`$`).MatchString(out) ||
			!strings.HasSuffix(out, "\n'ferry transfers ID' shows the whole text of a reason cut short here.\n") {
			t.Errorf("ferry transfers with a long reason (want it cut to %q):\n%s", cut, out)
		}
		out, _ = ferry(t, bin, "transfers", "--data-dir", alice.dir, id)
		if !regexp.MustCompile(`\nWhy:\s+` + regexp.QuoteMeta(info.Error) + `\n`).MatchString(out) {
			t.Errorf("ferry transfers ID:\n%s", out)
		}
	})
}

// lastID returns the ID of the newest transfer of the daemon of dir.
func lastID(t *testing.T, bin, dir string) string {
	t.Helper()
	out, err := ferry(t, bin, "transfers", "--data-dir", dir, "--json")
	var list []struct{ ID string }
	if err != nil || json.Unmarshal([]byte(out), &list) != nil || len(list) == 0 {
		t.Fatalf("ferry transfers --json: %v\n%s", err, out)
	}
	return list[0].ID
}

// TestLogs: `ferry logs` shows the log of a daemon run in the foreground
// with --log-file and says which log it shows; of one that logs to its
// terminal it says so.
func TestLogs(t *testing.T) {
	bin := buildFerry(t)
	logFile := filepath.Join(t.TempDir(), "logs", "ferry.log")
	d := runDaemon(t, bin, "dora", "--log-file", logFile, "--mdns=false")
	cmd := exec.Command(bin, "logs", "--data-dir", d.dir, "-n", "3")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || !strings.Contains(stdout.String(), `msg="Ferry is running" name=dora`) ||
		!regexp.MustCompile(`^Showing the log of the ferry daemon started in the foreground \(pid \d+\), `+regexp.QuoteMeta(logFile)+`\.\n$`).MatchString(stderr.String()) {
		t.Errorf("ferry logs: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	e := startDaemon(t, bin, "eve")
	out, err := ferry(t, bin, "logs", "--data-dir", e.dir)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || !strings.Contains(out, "was started in the foreground (pid ") || !strings.Contains(out, "logs to its terminal; to read its log with 'ferry logs', start it with 'ferry run --log-file FILE'") {
		t.Errorf("ferry logs of a daemon logging to its terminal: %v\n%s", err, out)
	}
}

// TestRoomsSayWhenEmptyRoomsEnd: `ferry rooms` says when an empty room
// ends, and that one in use does not.
func TestRoomsSayWhenEmptyRoomsEnd(t *testing.T) {
	bin := buildFerry(t)
	d := startDaemon(t, bin, "dora")
	out, err := ferry(t, bin, "room", "create", "--data-dir", d.dir, "--no-qr", "--json")
	var room struct{ Code string }
	if err != nil || json.Unmarshal([]byte(out), &room) != nil {
		t.Fatalf("ferry room create: %v\n%s", err, out)
	}
	out, _ = ferry(t, bin, "rooms", "--data-dir", d.dir)
	if !regexp.MustCompile(`(?m)^ROOM\s+MEMBERS\s+THIS DEVICE\s+ENDS\s+LINK\n` + room.Code + `\s+dora\s+in it\s+not while anyone is in it\s+http://`).MatchString(out) {
		t.Errorf("ferry rooms with a room in use:\n%s", out)
	}
	if out, err := ferry(t, bin, "room", "leave", "--data-dir", d.dir, room.Code); err != nil {
		t.Fatalf("ferry room leave: %v\n%s", err, out)
	}
	out, _ = ferry(t, bin, "rooms", "--data-dir", d.dir)
	if !regexp.MustCompile(`(?m)^` + room.Code + `\s+nobody\s+-\s+in (60|59) min, if nobody joins\s+http://`).MatchString(out) {
		t.Errorf("ferry rooms with an empty room:\n%s", out)
	}
}
