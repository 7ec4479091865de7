package daemon

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ferry-dev/ferry/daemon/api"
	"github.com/ferry-dev/ferry/daemon/datadir"
	"github.com/ferry-dev/ferry/daemon/identity"
	"github.com/ferry-dev/ferry/daemon/transfer"
)

// randomFile writes size random bytes to a new file named name and returns
// its path and SHA-256.
func randomFile(t *testing.T, name string, size int64) (string, [32]byte) {
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

func fileSum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// TestDashboard drives the owner's dashboard in Chromium against a real
// daemon, with a second real daemon to talk to: everything it shows
// arrives on its own through the event stream.
func TestDashboard(t *testing.T) {
	a, _ := runTestDaemonWith(t, "alpha", t.TempDir(), func(c *Config) { c.Accept = datadir.AcceptNone })
	b := newBrowser(t)
	home := "http://localhost:" + itoa(a.port()) + "/"
	b.open(t, home)
	b.waitText(t, "#link-state", "Connected")
	b.waitText(t, "#device", a.ID().Short())
	b.waitText(t, "#nearby", "No other device yet")
	b.screenshot(t, "dashboard-empty", 1280, 800)

	// A second daemon appears without a reload, and goes when it stops.
	c, stopC := runTestDaemon(t, "charlie")
	if _, err := a.nearby.Connect(context.Background(), c.Addr().String()); err != nil {
		t.Fatal(err)
	}
	b.waitText(t, "#nearby", "charlie")
	awaitView(t, a, "the link to charlie", has(c.ID().String()))
	stopC()
	b.waitText(t, "#nearby", "No other device yet")

	// bravo sends a file; the offer waits under Incoming with its files,
	// Accept in the page starts it, and it lands verified.
	bravo, _ := runTestDaemonWith(t, "bravo", t.TempDir(), func(c *Config) { c.Accept = datadir.AcceptNone })
	if _, err := a.nearby.Connect(context.Background(), bravo.Addr().String()); err != nil {
		t.Fatal(err)
	}
	b.waitText(t, "#nearby", "bravo")
	src, sum := randomFile(t, "holiday.bin", 32<<20)
	id, err := bravo.manager.Send(transfer.Direct(a.Addr().String(), a.ID()), []string{src})
	if err != nil {
		t.Fatal(err)
	}
	b.waitText(t, "#incoming", "bravo wants to send you 1 file, 32.0 MiB")
	b.waitText(t, "#incoming .files", "holiday.bin (32.0 MiB)")
	b.screenshot(t, "dashboard-incoming", 390, 844)
	// Every progress bar the page draws is recorded, to see it move.
	b.eval(t, `window.bars = []; new MutationObserver(() => document.querySelectorAll('#transfers progress')
		.forEach(p => window.bars.push(Number(p.value)))).observe(document.getElementById('transfers'), {childList: true, subtree: true}); true`, nil)
	b.click(t, `#incoming [data-transfer] button`)
	b.waitText(t, "#history", "Received from bravo, every file verified")
	var bars []float64
	b.eval(t, `window.bars`, &bars)
	if !slices.ContainsFunc(bars, func(v float64) bool { return v > 0 && v < 100 }) {
		t.Errorf("the progress bar never showed the transfer part way: %v", bars)
	}
	if info := awaitTransfer(t, bravo, id); info.State != transfer.StateDone {
		t.Fatalf("bravo's send: %s %s", info.State, info.Error)
	}
	if fileSum(t, filepath.Join(a.cfg.Downloads, "holiday.bin")) != sum {
		t.Fatal("the received file differs from the one sent")
	}
	b.waitText(t, "#history", "Saved in "+a.cfg.Downloads)

	// A send from the page: files picked go to alpha's outbox, and alpha
	// sends them to bravo, which accepts everything from now on.
	bravo.settings.Save(api.Settings{Name: "bravo", Downloads: bravo.cfg.Downloads, Accept: datadir.AcceptAll, Port: bravo.port()})
	up, upSum := randomFile(t, "from the page.bin", 3<<20+5)
	b.run(t, chromedp.SetUploadFiles(chromedp.CSS("#pick-files"), []string{up}, chromedp.NodeReady))
	b.waitText(t, "#tray", "from the page.bin")
	b.click(t, `#nearby [data-device="`+bravo.ID().String()+`"] button`)
	b.waitText(t, "#send-note", "Sending to bravo")
	b.waitText(t, "#history", "Sent to bravo, every file verified")
	if fileSum(t, filepath.Join(bravo.cfg.Downloads, "from the page.bin")) != upSum {
		t.Fatal("bravo received something else than the page sent")
	}
	var fromPage int
	for _, info := range a.manager.List() {
		if info.Direction == "out" && info.State == transfer.StateDone {
			fromPage++
		}
	}
	if fromPage != 1 {
		t.Fatalf("alpha's transfers list %d finished sends, want the page's one", fromPage)
	}

	// Trust from the page shows the code bravo's owner sees with ferry trust.
	b.click(t, `#nearby [data-device="`+bravo.ID().String()+`"] .actions button:last-child`)
	b.waitText(t, "#nearby .paircode", identity.PairCode(a.ID(), bravo.ID()))
	// bravo lists alpha once alpha's link has told it who alpha is, which
	// need not have happened by now.
	for changed := bravo.nearby.Changed(); !slices.ContainsFunc(bravo.nearby.List(), func(p api.Peer) bool { return p.ID == a.ID().String() }); changed = bravo.nearby.Changed() {
		select {
		case <-changed:
		case <-time.After(transferPatience):
			t.Fatalf("bravo does not list alpha: %+v", bravo.nearby.List())
		}
	}
	tr, err := bravo.nearby.Trust("alpha")
	if err != nil {
		t.Fatal(err)
	}
	b.waitText(t, "#nearby .paircode", tr.Code)
	b.waitText(t, "#nearby", "trusted")

	// A room made in the page; bravo joins it as the CLI does, through its
	// API; the member shows up.
	b.click(t, "#room-create")
	b.waitText(t, "#rooms-note", "is open")
	code := strings.Fields(b.text(t, "#rooms .code"))[0]
	if err := api.NewClient(bravo.Addr().String()).Do(context.Background(), "POST", "/api/rooms/join", api.RoomRequest{Room: code}, nil); err != nil {
		t.Fatal(err)
	}
	b.waitText(t, "#rooms", "bravo · computer")

	// A message to bravo, and one back.
	b.run(t, chromedp.SetValue(chromedp.CSS("#message-to"), bravo.ID().String()),
		chromedp.SendKeys(chromedp.CSS("#message-text"), "see https://example.org/plan"))
	b.click(t, "#message-form button")
	b.waitText(t, "#messages", "To bravo")
	if _, err := bravo.messages.Send(a.ID().String(), "got it"); err != nil {
		t.Fatal(err)
	}
	b.waitText(t, "#messages", "From bravo")
	b.waitText(t, "#messages", "got it")

	// Settings: the accept mode applies now, every change is in config.json.
	b.run(t, chromedp.SetValue(chromedp.CSS("#set-name"), "alpha renamed"),
		chromedp.Click(chromedp.CSS(`#settings-form input[value="trusted"]`)))
	b.click(t, "#settings-form button")
	b.waitText(t, "#settings-note", "when ferry restarts")
	conf, err := a.dir.LoadConfig()
	if err != nil || conf.Name != "alpha renamed" || conf.Accept != datadir.AcceptTrusted {
		t.Fatalf("config.json after saving: %+v %v", conf, err)
	}
	b.waitText(t, "#device", "devices you trust")

	b.screenshot(t, "dashboard", 1280, 800)
	b.screenshot(t, "dashboard", 390, 844)
	b.assertClean(t)
}

// TestDashboardOnlyForTheOwner: / from another address is not the
// dashboard, and the event stream is the owner's alone.
func TestDashboardOnlyForTheOwner(t *testing.T) {
	a := startTestDaemon(t, "alpha")
	b := newBrowser(t)
	b.open(t, "http://127.0.0.1:"+itoa(a.port())+"/")
	b.waitText(t, "#link-state", "Connected")
	var status int
	b.eval(t, `fetch('/api/events', {headers: {}}).then(r => { r.body.cancel(); return r.status })`, &status)
	if status != 200 {
		t.Fatalf("the owner's event stream: %d", status)
	}
	resp, body := get(t, "http://"+a.Addr().String()+"/", "evil.example")
	if resp != 200 || strings.Contains(body, "dashboard.js") || !strings.Contains(body, "/js/guest/app.js") {
		t.Fatalf("/ for another host: %d\n%s", resp, body)
	}
	if resp, body := get(t, "http://"+a.Addr().String()+"/api/events", "evil.example"); resp != 403 {
		t.Fatalf("the event stream for another host: %d %s", resp, body)
	}
	b.assertClean(t)
}

func itoa(n int) string { return strconv.Itoa(n) }

// get fetches url with the Host header host and returns the status and body.
func get(t *testing.T, url, host string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestDashboardSendSurvivesRestart: a send started in the page belongs to
// the daemon: it goes on after the tab is gone and the daemon restarted.
func TestDashboardSendSurvivesRestart(t *testing.T) {
	recv, _ := runTestDaemonWith(t, "receiver", t.TempDir(), func(c *Config) { c.Accept = datadir.AcceptNone })
	dir := t.TempDir()
	a, stop := runTestDaemonIn(t, "alpha", dir)
	if _, err := a.nearby.Connect(context.Background(), recv.Addr().String()); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t)
	b.open(t, "http://localhost:"+itoa(a.port())+"/")
	b.waitText(t, "#nearby", "receiver")
	src, sum := randomFile(t, "report.pdf", 5<<20)
	b.run(t, chromedp.SetUploadFiles(chromedp.CSS("#pick-files"), []string{src}, chromedp.NodeReady))
	b.waitText(t, "#tray", "report.pdf")
	b.click(t, `#nearby [data-device="`+recv.ID().String()+`"] button`)
	b.waitText(t, "#transfers", "Waiting for receiver to accept")
	b.open(t, "about:blank")
	list := a.manager.List()
	if len(list) != 1 || list[0].Direction != "out" {
		t.Fatalf("alpha lists %+v, want the page's send", list)
	}
	id := list[0].ID
	for info, _ := recv.manager.Get(id); info.State != transfer.StatePending; info, _ = recv.manager.Get(id) {
		<-recv.manager.Changed()
	}
	stop()

	a, _ = runTestDaemonIn(t, "alpha", dir)
	if err := recv.manager.Accept(id); err != nil {
		t.Fatal(err)
	}
	if info := awaitTransfer(t, a, id); info.State != transfer.StateDone {
		t.Fatalf("after the restart: %s %s", info.State, info.Error)
	}
	if fileSum(t, filepath.Join(recv.cfg.Downloads, "report.pdf")) != sum {
		t.Fatal("the receiver has something else than the page sent")
	}
	// Once sent, the upload leaves the outbox (the outbox sweeps after
	// the transfer's last change, so this polls, with a deadline).
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(10 * time.Second)
	for {
		if entries, _ := os.ReadDir(a.dir.File("outbox")); len(entries) == 0 {
			break
		}
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatal("the sent upload is still in the outbox")
		}
	}
	b.assertClean(t)
}
