package daemon

import (
	"context"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/ferry-dev/ferry/daemon/transfer"
)

// TestGuestFetchContinues: a plain-HTTP page takes a large file as a
// download from the laptop; a quarter of the way in, the download's TCP
// connection is torn down (as a phone that walks out of the Wi-Fi's reach
// and back loses it). The browser's download manager asks again for the
// rest with a Range request, the laptop serves just that, and the file
// lands whole: what the laptop put on the wire is the file plus no more
// than what was in flight when the connection broke.
func TestGuestFetchContinues(t *testing.T) {
	l := newGuestLAN(t)
	shapeLink(t, "", l.hostIf, "40mbit")
	d, base := startLANDaemon(t, l, "laptop", nil)
	b := guestPage(t, l, base+"/")
	id := guestID(t, b)
	showPageOnFailure(t, b)
	const size = 48 << 20
	src, sum := randomFile(t, "film.bin", size)
	out, err := transfers{d}.Send(id, []string{src})
	if err != nil {
		t.Fatal(err)
	}
	b.waitText(t, "#incoming", "laptop wants to send you 1 file")

	dir := t.TempDir()
	type progress struct {
		state    cdpbrowser.DownloadProgressState
		received float64
		guid     string
	}
	// Progress comes often, and a reader that falls behind may miss some;
	// an end (completed or broken off) is rare and has room of its own.
	events := make(chan progress, 256)
	ends := make(chan progress, 16)
	ctx, stop := context.WithCancel(b.ctx)
	defer stop()
	chromedp.ListenBrowser(ctx, func(ev any) {
		e, ok := ev.(*cdpbrowser.EventDownloadProgress)
		if !ok {
			return
		}
		p := progress{e.State, e.ReceivedBytes, e.GUID}
		to := events
		if p.state != cdpbrowser.DownloadProgressStateInProgress {
			to = ends
		}
		select {
		case to <- p:
		default: // the listener must never block the browser's events
		}
	})
	downloadInto(t, b, dir)
	b.click(t, `#incoming [data-transfer] button.fetch`)

	await := func(what string, ok func(progress) bool) progress {
		t.Helper()
		timeout := time.After(transferPatience)
		for {
			select {
			case p := <-events:
				if ok(p) {
					return p
				}
			case p := <-ends:
				if ok(p) {
					return p
				}
				t.Fatalf("waiting for %s: the download is %s at %.0f bytes", what, p.state, p.received)
			case <-timeout:
				t.Fatalf("waiting for %s: nothing within %v", what, transferPatience)
			}
		}
	}
	at := await("a quarter of the file", func(p progress) bool { return p.received >= size/4 })
	_, port, _ := net.SplitHostPort(base[len("http://"):])
	if out, err := exec.Command("ip", "netns", "exec", l.ns, "ss", "-K", "dst", l.hostAddr, "dport", "=", port).CombinedOutput(); err != nil {
		t.Fatalf("tearing the download's connection down: %v %s", err, out)
	}
	await("the download to break off", func(p progress) bool { return p.state == cdpbrowser.DownloadProgressStateCanceled })
	// The person opens the browser's downloads and presses Resume.
	tab, closeTab := chromedp.NewContext(b.ctx)
	defer closeTab()
	resume := `(() => {
		const item = document.querySelector('downloads-manager')?.shadowRoot?.querySelector('downloads-item');
		const root = item?.shadowRoot;
		if (!root) return 'no item';
		const shown = (x) => { for (let e = x; e; e = e.parentElement) if (e.hidden) return false; return true; };
		const b = [...root.querySelectorAll('cr-button, button')].find((x) => x.textContent.trim() === 'Resume' && shown(x));
		if (!b) return 'no button: ' + [...root.querySelectorAll('cr-button, button')].map((x) => x.textContent.trim()).join('|');
		b.click();
		return 'clicked ' + b.textContent.trim();
	})()`
	var said string
	// The first action in a tab makes the tab, which a deadline on its
	// context would close when it passes: that one has none.
	if err := chromedp.Do(tab, chromedp.Navigate("chrome://downloads")); err != nil {
		t.Fatal(err)
	}
	tctx, cancel := context.WithTimeout(tab, 30*time.Second)
	defer cancel()
	for i := 0; i < 100 && !strings.HasPrefix(said, "clicked"); i++ {
		v, err := chromedp.Run(tctx, chromedp.Evaluate[string](resume))
		if err != nil {
			t.Fatal(err)
		}
		said = v
	}
	t.Logf("downloads page: %s", said)
	// The browser reports a download it resumed on its downloads page, not
	// to the test: wait there for it to end.
	pctx, cancelPoll := context.WithTimeout(tab, transferPatience)
	defer cancelPoll()
	path, err := chromedp.Run(pctx, chromedp.PollFunction[string](`() => {
		const d = document.querySelector('downloads-manager')?.shadowRoot?.querySelector('downloads-item')?.data;
		// The page's state 2 is complete (0 is in progress); what is in the
		// file is checked below all the same.
		return d && d.state === 2 && !d.resume && !d.retry ? String(d.filePath) : false;
	}`, chromedp.WithPollingTimeout(transferPatience-5*time.Second)))
	if err != nil {
		t.Fatalf("waiting for the resumed download to end: %v", err)
	}
	t.Logf("the browser saved %s", path)
	if got := fileSum(t, filepath.Join(dir, at.guid)); got != sum {
		t.Fatalf("the download has SHA-256 %x, the laptop sent %x", got, sum)
	}
	info := awaitTransfer(t, d, out)
	if info.State != transfer.StateDone || info.Done != size || info.Verified != 1 {
		t.Fatalf("the laptop's send: %s %q, %d done, %d complete", info.State, info.Error, info.Done, info.Verified)
	}
	// In flight when the connection broke: the laptop's socket buffer and
	// the shaped link's queue, a few MiB at most.
	const inFlight = 8 << 20
	t.Logf("the browser had %.1f MiB when the connection broke; the laptop sent %.1f MiB for a %d MiB file",
		at.received/(1<<20), float64(info.Sent)/(1<<20), size>>20)
	if info.Sent < size || info.Sent > size+inFlight {
		t.Fatalf("the laptop sent %d bytes for a file of %d: want the file and at most %d in flight again", info.Sent, size, inFlight)
	}
	b.waitText(t, "#transfers", "Handed to your browser's downloads, from laptop")
}
