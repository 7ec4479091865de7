package daemon

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ferry-dev/ferry/daemon/datadir"
)

var pairingText = regexp.MustCompile(`FERRY-PAIR-1:[A-Za-z0-9_-]+`)

// pairCommand is a running `ferry pair` and the lines it prints.
type pairCommand struct {
	stdin  io.WriteCloser
	lines  chan string
	exited chan error
}

func startPairCommand(t *testing.T, bin string, args ...string) *pairCommand {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"pair", "--no-qr"}, args...)...)
	out, w := io.Pipe()
	cmd.Stdout, cmd.Stderr = w, w
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &pairCommand{stdin: stdin, lines: make(chan string, 64), exited: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 64<<10)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
	}()
	go func() {
		err := cmd.Wait()
		w.Close()
		p.exited <- err
	}()
	t.Cleanup(func() { cmd.Process.Kill() })
	return p
}

// await returns the first line the command prints that matches re.
func (p *pairCommand) await(t *testing.T, re *regexp.Regexp) string {
	t.Helper()
	var seen []string
	timeout := time.After(transferPatience)
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				t.Fatalf("ferry pair ended (%v) without printing %s; it printed:\n%s", <-p.exited, re, strings.Join(seen, "\n"))
			}
			seen = append(seen, line)
			if m := re.FindString(line); m != "" {
				return m
			}
		case <-timeout:
			t.Fatalf("ferry pair did not print %s within %v; it printed:\n%s", re, transferPatience, strings.Join(seen, "\n"))
		}
	}
}

// TestGuestPairsWithFerryPair: a page and a computer whose owner runs
// `ferry pair`, with no hub in common (the page came from another
// computer, which knows nothing of this one), pair both ways round: the
// page's offer answered by `ferry pair --answer`, and the page answering
// `ferry pair --offer`. Then the page sends the computer a file over a
// connection signaled through the pairing, and it lands verified.
func TestGuestPairsWithFerryPair(t *testing.T) {
	l := newGuestLAN(t)
	_, base := startLANDaemon(t, l, "alpha", nil)
	bin := filepath.Join(t.TempDir(), "ferry")
	if out, err := exec.Command("go", "build", "-o", bin, "..").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dir := t.TempDir()
	// desk's web server is on loopback only, where its owner's ferry pair
	// reaches it; the page reaches desk only over the pairing.
	desk, _ := runTestDaemonWith(t, "desk", dir, func(c *Config) {
		c.Interfaces = []string{"lo", l.hostIf}
		c.Accept = datadir.AcceptAll
		c.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	})
	data := filepath.Join(dir, "data")

	b := guestPage(t, l, base+"/")
	showPageOnFailure(t, b)

	// The page offers; ferry pair answers.
	b.click(t, "#pair-offer")
	offer := pairingCode(t, b)
	answering := startPairCommand(t, bin, "--answer", "--data-dir", data, offer)
	answer := answering.await(t, pairingText)
	pastePairing(t, b, answer)
	answering.await(t, regexp.MustCompile(`Paired with .+\.`))
	if err := <-answering.exited; err != nil {
		t.Fatalf("ferry pair --answer: %v", err)
	}
	b.waitText(t, "#pair", "Paired with desk (computer)")
	b.waitTrue(t, fmt.Sprintf(`document.querySelector('#people li[data-member=%q] .tag.paired') !== null`, desk.ID().String()))

	src, sum := randomFile(t, "to the desk.bin", 8<<20+1)
	sendFromPage(t, b, desk.ID().String(), src)
	b.waitText(t, "#transfers", "Sent to desk, every file verified")
	if got := fileSum(t, filepath.Join(desk.cfg.Downloads, "to the desk.bin")); got != sum {
		t.Fatalf("desk holds a file with SHA-256 %x, the page sent %x", got, sum)
	}

	// ferry pair offers; the page answers. The page is the same guest, so
	// the computer keeps one member for it.
	offering := startPairCommand(t, bin, "--offer", "--data-dir", data)
	offer = offering.await(t, pairingText)
	pastePairing(t, b, offer)
	answer = pairingCode(t, b)
	if _, err := io.WriteString(offering.stdin, answer+"\n"); err != nil {
		t.Fatal(err)
	}
	offering.await(t, regexp.MustCompile(`Paired with .+\.`))
	if err := <-offering.exited; err != nil {
		t.Fatalf("ferry pair --offer: %v", err)
	}
	b.waitText(t, "#pair", "Paired with desk (computer)")
	b.assertClean(t)
}
