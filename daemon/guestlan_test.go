package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"

	"github.com/ferry-dev/ferry/daemon/api"
	"github.com/ferry-dev/ferry/daemon/datadir"
	"github.com/ferry-dev/ferry/daemon/signal"
	"github.com/ferry-dev/ferry/daemon/transfer"
)

// guestLAN is the phone's side of a LAN on this machine: a network
// namespace joined to this one by a veth pair. Daemons listen on this
// namespace's end (hostAddr, on hostIf); a Chromium started in ns reaches
// them from guestAddr, as a phone on the Wi-Fi does: from another address,
// to a LAN address, in a context that is not secure.
type guestLAN struct {
	ns        string
	hostIf    string
	hostAddr  string
	guestAddr string
}

var guestLANs atomic.Int32

// newGuestLAN makes the namespace and the veth pair, 10.X.N.1 here and
// 10.X.N.2 in the namespace (X from the process ID), and removes both when
// the test ends (the pair goes with the namespace). Where namespaces cannot be made it skips
// the test, unless CI is set: CI runs as root and must run these tests.
func newGuestLAN(t *testing.T) *guestLAN {
	t.Helper()
	skip := func(why string, args ...any) {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set, and "+why, args...)
		}
		t.Skipf("skipped: "+why, args...)
	}
	if os.Geteuid() != 0 {
		skip("network namespaces need root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		skip("iproute2's ip command is not installed")
	}
	n := guestLANs.Add(1)
	// The host's end is an address of this namespace, so two test
	// processes at once must not pick the same network.
	octet := 80 + os.Getpid()%100
	tag := fmt.Sprintf("%d%d", os.Getpid()%10000, n)
	l := &guestLAN{
		ns: "fyg" + tag, hostIf: "fyv" + tag,
		hostAddr: fmt.Sprintf("10.%d.%d.1", octet, n%250), guestAddr: fmt.Sprintf("10.%d.%d.2", octet, n%250),
	}
	if out, err := exec.Command("ip", "netns", "add", l.ns).CombinedOutput(); err != nil {
		skip("cannot create a network namespace: %v %s", err, out)
	}
	t.Cleanup(func() {
		exec.Command("ip", "netns", "del", l.ns).Run()
		exec.Command("ip", "link", "del", l.hostIf).Run()
	})
	// No IPv6 on the link: its link-local addresses arrive a moment after
	// the link is up, when Chromium may be loading the page already, and
	// Chromium fails requests in flight at a change of the network
	// (ERR_NETWORK_CHANGED). A kernel without IPv6 has nothing to turn off.
	exec.Command("ip", "netns", "exec", l.ns, "sh", "-c",
		"echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6; echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6").Run()
	for _, args := range [][]string{
		{"link", "add", l.hostIf, "type", "veth", "peer", "name", "eth0", "netns", l.ns},
		{"addr", "add", l.hostAddr + "/24", "dev", l.hostIf},
		{"link", "set", l.hostIf, "addrgenmode", "none"},
		{"link", "set", l.hostIf, "up"},
		{"-n", l.ns, "link", "set", "lo", "up"},
		{"-n", l.ns, "addr", "add", l.guestAddr + "/24", "dev", "eth0"},
		{"-n", l.ns, "link", "set", "eth0", "up"},
		{"-n", l.ns, "route", "add", "224.0.0.0/4", "dev", "eth0"},
		// Chromium gathers ICE candidates only on the interface of its
		// default route (without a camera or microphone permission), as
		// a phone's Wi-Fi has. The route is on-link: a packet to any
		// address beyond the LAN asks for it on eth0, where nobody answers,
		// so nothing leaves the two namespaces.
		{"-n", l.ns, "route", "add", "default", "dev", "eth0"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return l
}

// startLANDaemon runs a daemon that listens on the LAN's host address and
// gathers ICE candidates there (and on loopback, for other daemons of the
// test). Its owner answers offers unless edit says otherwise.
func startLANDaemon(t *testing.T, l *guestLAN, name string, edit func(*Config)) (*Daemon, string) {
	t.Helper()
	ln, err := net.Listen("tcp", l.hostAddr+":0")
	if err != nil {
		t.Fatal(err)
	}
	d, _ := runTestDaemonWith(t, name, t.TempDir(), func(c *Config) {
		c.Listener = ln
		c.Interfaces = []string{"lo", l.hostIf}
		c.Accept = datadir.AcceptNone
		if testing.Verbose() {
			c.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
		} else {
			c.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
		}
		if edit != nil {
			edit(c)
		}
	})
	return d, "http://" + ln.Addr().String()
}

// guestPage opens the guest page at u in a new Chromium in the LAN's
// namespace and waits until it is connected to the daemon's hub.
func guestPage(t *testing.T, l *guestLAN, u string, opts ...browserOption) *browser {
	t.Helper()
	b := newBrowser(t, append(opts, inNamespace(l.ns))...)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the page at %s reported: %q", u, b.problems())
		}
	})
	b.open(t, u)
	b.waitText(t, "#link-state", "Connected")
	var secure bool
	b.eval(t, `window.isSecureContext`, &secure)
	if secure {
		t.Fatalf("%s is a secure context: the test does not see what a phone sees", u)
	}
	return b
}

// guestID is the ID the page says hello with.
func guestID(t *testing.T, b *browser) string {
	t.Helper()
	var id string
	b.eval(t, `localStorage.getItem("ferry.guest.id")`, &id)
	if id == "" {
		t.Fatal("the page has no guest ID in its storage")
	}
	return id
}

// pendingFrom waits until the daemon holds an offer from peer and returns it.
func pendingFrom(t *testing.T, d *Daemon, peer string) transfer.Info {
	t.Helper()
	timeout := time.After(transferPatience)
	for {
		changed := d.manager.Changed()
		for _, info := range d.manager.List() {
			if info.Direction == "in" && info.Peer == peer && info.State == transfer.StatePending {
				return info
			}
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("no offer from %s reached %s: %+v", peer, d.cfg.Name, d.manager.List())
		}
	}
}

// sendFromPage picks the file at path for the member with ID to and
// sends it.
func sendFromPage(t *testing.T, b *browser, to, path string) {
	t.Helper()
	b.click(t, fmt.Sprintf(`#people li[data-member=%q] button.send`, to))
	b.run(t, chromedp.SetUploadFiles(chromedp.CSS("#pick"), []string{path}, chromedp.NodeReady))
}

// saveReceived clicks the page's Save link for the received file called
// name, as its person does, lets Chromium download it into a folder of the
// test, and returns the SHA-256 of what landed there, hashed in Go, so the
// page's own hash is not taken on trust.
func saveReceived(t *testing.T, b *browser, name string) [32]byte {
	t.Helper()
	saved := expectDownload(t, b)
	b.click(t, fmt.Sprintf(`#transfers a.save[data-name=%q]`, name))
	return saved()
}

// expectDownload lets Chromium save the next download into a folder of the
// test; the function it returns waits for that download to end and returns
// the SHA-256 of the file, hashed in Go.
func expectDownload(t *testing.T, b *browser) func() [32]byte {
	t.Helper()
	dir := t.TempDir()
	done := make(chan cdpbrowser.EventDownloadProgress, 1)
	ctx, stop := context.WithCancel(b.ctx)
	chromedp.ListenBrowser(ctx, func(ev any) {
		if e, ok := ev.(*cdpbrowser.EventDownloadProgress); ok && e.State != cdpbrowser.DownloadProgressStateInProgress {
			select {
			case done <- *e:
			default:
			}
		}
	})
	downloadInto(t, b, dir)
	return func() [32]byte {
		t.Helper()
		defer stop()
		select {
		case e := <-done:
			if e.State != cdpbrowser.DownloadProgressStateCompleted {
				t.Fatalf("the download ended %s", e.State)
			}
			return fileSum(t, filepath.Join(dir, e.GUID))
		case <-time.After(transferPatience):
			t.Fatalf("the download did not end within %v", transferPatience)
		}
		return [32]byte{}
	}
}

// downloadInto has Chromium save the page's downloads into dir, each named
// by its GUID, and report their progress as events.
func downloadInto(t *testing.T, b *browser, dir string) {
	t.Helper()
	events := true
	b.run(t, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := cdp.Call(ctx, chromedp.FromContext(ctx).Browser, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
			Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: &events,
		})
		return err
	}))
}

// TestGuestPageFromTheLAN: a browser on the LAN, with no app, sends a
// 64 MiB file to a computer running ferry, whose owner accepts it, and
// receives one from it, each verified by SHA-256 outside the page; texts
// go both ways; and the page's owner-side requests are all refused.
func TestGuestPageFromTheLAN(t *testing.T) {
	l := newGuestLAN(t)
	d, base := startLANDaemon(t, l, "laptop", nil)
	b := guestPage(t, l, base+"/")
	id := guestID(t, b)
	b.waitText(t, "#people", "laptop")
	b.waitText(t, "#people", "computer")
	b.screenshot(t, "guest-nearby", 390, 844)

	// Browser → daemon: the page waits for the owner, who accepts.
	src, sum := randomFile(t, "from the phone.bin", 64<<20)
	sendFromPage(t, b, d.ID().String(), src)
	b.waitText(t, "#transfers", "Waiting for laptop to accept")
	in := pendingFrom(t, d, id)
	if in.PeerKind != transfer.KindGuest || in.Files != 1 || in.Bytes != 64<<20 {
		t.Fatalf("the offer the daemon holds: %+v", in)
	}
	if _, err := os.Stat(filepath.Join(d.cfg.Downloads, "from the phone.bin")); !os.IsNotExist(err) {
		t.Fatalf("the file is in the downloads before the owner said yes: %v", err)
	}
	if err := d.manager.Accept(in.ID); err != nil {
		t.Fatal(err)
	}
	if info := awaitTransfer(t, d, in.ID); info.State != transfer.StateDone {
		t.Fatalf("the daemon's receipt: %s %s", info.State, info.Error)
	}
	if fileSum(t, filepath.Join(d.cfg.Downloads, "from the phone.bin")) != sum {
		t.Fatal("the file on disk differs from the one the page sent")
	}
	b.waitText(t, "#transfers", "Sent to laptop, every file verified")

	// Daemon → browser: the page shows the offer, its person accepts.
	back, backSum := randomFile(t, "for the phone.bin", 64<<20)
	out, err := transfers{d}.Send(id, []string{back})
	if err != nil {
		t.Fatal(err)
	}
	b.waitText(t, "#incoming", "laptop wants to send you 1 file, 64.0 MiB")
	b.screenshot(t, "guest-incoming", 390, 844)
	b.click(t, `#incoming [data-transfer] button.accept`)
	b.waitText(t, "#transfers", "Received from laptop, every file verified")
	if info := awaitTransfer(t, d, out); info.State != transfer.StateDone {
		t.Fatalf("the daemon's send: %s %s", info.State, info.Error)
	}
	if got := saveReceived(t, b, "for the phone.bin"); got != backSum {
		t.Fatalf("the page holds a file with SHA-256 %x, the daemon sent %x", got, backSum)
	}
	b.screenshot(t, "guest-received", 1280, 800)

	// Texts, both ways.
	b.run(t, chromedp.SetValue("#message-to", d.ID().String()),
		chromedp.SetValue("#message-text", "hello from the phone"))
	b.click(t, `#message-form button[type=submit]`)
	awaitMessage(t, d, id, "hello from the phone")
	if _, err := d.messages.Send(id, "https://example.org/from-the-laptop"); err != nil {
		t.Fatal(err)
	}
	b.waitText(t, "#messages", "From laptop")
	b.waitText(t, "#messages a", "https://example.org/from-the-laptop")

	// A folder, picked whole, arrives as a folder.
	folder := filepath.Join(t.TempDir(), "Holiday")
	a, aSum := randomFile(t, "a.bin", 300<<10)
	for path, from := range map[string]string{"day 1/a.bin": a, "notes.txt": ""} {
		full := filepath.Join(folder, path)
		os.MkdirAll(filepath.Dir(full), 0o755)
		data := []byte("notes\n")
		if from != "" {
			data, _ = os.ReadFile(from)
		}
		if err := os.WriteFile(full, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b.click(t, fmt.Sprintf(`#people li[data-member=%q] button.send-folder`, d.ID().String()))
	b.run(t, chromedp.SetUploadFiles(chromedp.CSS("#pick-folder"), []string{folder}, chromedp.NodeReady))
	in = pendingFrom(t, d, id)
	if in.Files != 2 {
		t.Fatalf("the folder's offer: %+v", in)
	}
	if err := d.manager.Accept(in.ID); err != nil {
		t.Fatal(err)
	}
	if info := awaitTransfer(t, d, in.ID); info.State != transfer.StateDone {
		t.Fatalf("the folder: %s %s", info.State, info.Error)
	}
	if fileSum(t, filepath.Join(d.cfg.Downloads, "Holiday", "day 1", "a.bin")) != aSum {
		t.Fatal("Holiday/day 1/a.bin differs from the one sent")
	}
	if got, _ := os.ReadFile(filepath.Join(d.cfg.Downloads, "Holiday", "notes.txt")); string(got) != "notes\n" {
		t.Fatalf("Holiday/notes.txt holds %q", got)
	}

	b.assertClean(t)

	// Every owner endpoint, asked from the page, is refused. (Each refusal
	// is a problem the page logs, so the page was checked above.)
	assertOwnerRefused(t, b)
}

// awaitMessage waits until the daemon has received a text from peer.
func awaitMessage(t *testing.T, d *Daemon, peer, text string) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		changed := d.messages.Changed()
		for _, m := range d.messages.List() {
			if m.Direction == "in" && m.Peer == peer && m.Text == text {
				return
			}
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("%s never got %q from %s: %+v", d.cfg.Name, text, peer, d.messages.List())
		}
	}
}

// ownerEndpoints is every route of the owner's API (daemon/web/api.go).
var ownerEndpoints = [][2]string{
	{"GET", "/api/status"}, {"GET", "/api/transfers"}, {"GET", "/api/transfers/x"},
	{"GET", "/api/transfers/x/watch"}, {"POST", "/api/send"}, {"POST", "/api/transfers/x/accept"},
	{"POST", "/api/transfers/x/decline"}, {"POST", "/api/transfers/x/cancel"}, {"GET", "/api/transfers/x/entries"},
	{"GET", "/api/events"}, {"GET", "/api/phone-qr.svg"}, {"GET", "/api/messages"}, {"POST", "/api/messages"},
	{"GET", "/api/settings"}, {"POST", "/api/settings"}, {"POST", "/api/uploads"}, {"PUT", "/api/uploads/x"},
	{"DELETE", "/api/uploads/x"}, {"GET", "/api/peers"}, {"POST", "/api/forget"}, {"POST", "/api/trust"},
	{"POST", "/api/untrust"}, {"POST", "/api/connect"}, {"GET", "/api/rooms"}, {"POST", "/api/rooms/create"},
	{"POST", "/api/rooms/join"}, {"POST", "/api/rooms/leave"},
}

func ownerEndpointsJS() string {
	b, _ := json.Marshal(ownerEndpoints)
	return string(b)
}

// TestGuestsAcrossDaemons: two browsers, each homed on a different daemon,
// see each other, send a file each way and a text each way, with the
// signaling carried by the mesh between the daemons. A reload of one page
// leaves one member, not two.
func TestGuestsAcrossDaemons(t *testing.T) {
	l := newGuestLAN(t)
	a, baseA := startLANDaemon(t, l, "alpha", nil)
	c, baseC := startLANDaemon(t, l, "charlie", nil)
	for _, pair := range [][2]*Daemon{{a, c}, {c, a}} {
		if _, err := pair[0].nearby.Connect(context.Background(), pair[1].Addr().String()); err != nil {
			t.Fatal(err)
		}
	}
	awaitView(t, a, "seeing charlie", has(c.ID().String()))
	awaitView(t, c, "seeing alpha", has(a.ID().String()))

	one := guestPage(t, l, baseA+"/")
	two := guestPage(t, l, baseC+"/")
	idOne, idTwo := guestID(t, one), guestID(t, two)
	t.Cleanup(func() {
		if t.Failed() {
			for _, b := range []*browser{one, two} {
				var s string
				b.eval(t, `document.querySelector('#transfers').innerText`, &s)
				t.Logf("transfers: %s\nproblems: %q", s, b.problems())
			}
		}
	})
	one.waitTrue(t, fmt.Sprintf(`document.querySelector('#people li[data-member=%q] .tag')?.textContent === 'browser'`, idTwo))
	two.waitTrue(t, fmt.Sprintf(`document.querySelector('#people li[data-member=%q]') !== null`, idOne))

	for _, dir := range []struct {
		from, to     *browser
		toID, toName string
	}{{one, two, idTwo, "two"}, {two, one, idOne, "one"}} {
		name := "for " + dir.toName + ".bin"
		src, sum := randomFile(t, name, 16<<20+3)
		sendFromPage(t, dir.from, dir.toID, src)
		dir.to.waitText(t, "#incoming", "wants to send you 1 file, 16.0 MiB")
		dir.to.click(t, `#incoming [data-transfer] button.accept`)
		dir.to.waitText(t, "#transfers", "every file verified")
		dir.from.waitText(t, "#transfers", "every file verified")
		if got := saveReceived(t, dir.to, name); got != sum {
			t.Fatalf("%s: the page holds a file with SHA-256 %x, the other page sent %x", name, got, sum)
		}
	}

	one.run(t, chromedp.SetValue("#message-to", idTwo), chromedp.SetValue("#message-text", "hi from one"))
	one.click(t, `#message-form button[type=submit]`)
	two.waitText(t, "#messages", "hi from one")
	two.run(t, chromedp.SetValue("#message-to", idOne), chromedp.SetValue("#message-text", "hi from two"))
	two.click(t, `#message-form button[type=submit]`)
	one.waitText(t, "#messages", "hi from two")
	one.assertClean(t)
	two.assertClean(t)
	two.screenshot(t, "guest-two", 1280, 800)

	// A reload is the same guest: one member on both daemons and in the
	// other page, under the same ID.
	two.run(t, chromedp.Reload())
	two.waitText(t, "#link-state", "Connected")
	if id := guestID(t, two); id != idTwo {
		t.Fatalf("after a reload the page is guest %s, before it was %s", id, idTwo)
	}
	countOf := func(id string) func([]signal.Member) bool {
		return func(ms []signal.Member) bool {
			n := 0
			for _, m := range ms {
				if m.ID == id || (m.Kind == signal.MemberGuest && m.Home == c.ID().String()) {
					n++
				}
			}
			return n == 1
		}
	}
	awaitView(t, a, "one member for the reloaded page", countOf(idTwo))
	awaitView(t, c, "one member for the reloaded page", countOf(idTwo))
	one.waitTrue(t, fmt.Sprintf(`[...document.querySelectorAll('#people li[data-member] .tag')].filter((e) => e.textContent === 'browser').length === 1 && document.querySelector('#people li[data-member=%q]') !== null`, idTwo))
	two.assertClean(t)
}

// TestGuestResumes: the LAN link of a browser drops in the middle of a
// file a daemon sends it; the daemon makes a new session once the link is
// back, the page goes on from the bytes it holds, and the file arrives
// whole.
func TestGuestResumes(t *testing.T) {
	l := newGuestLAN(t)
	// Slow the daemon's side of the link to 100 Mbit/s, so the file is
	// still on its way when the link drops.
	shapeLink(t, "", l.hostIf, "100mbit")
	d, base := startLANDaemon(t, l, "laptop", nil)
	b := guestPage(t, l, base+"/")
	id := guestID(t, b)
	showPageOnFailure(t, b)
	src, sum := randomFile(t, "big.bin", 64<<20)
	out, err := transfers{d}.Send(id, []string{src})
	if err != nil {
		t.Fatal(err)
	}
	b.click(t, `#incoming [data-transfer] button.accept`)
	awaitInfo(t, d, out, "16 MiB received", func(i transfer.Info) bool { return i.Done >= 16<<20 })
	link := func(state string) {
		if out, err := exec.Command("ip", "-n", l.ns, "link", "set", "eth0", state).CombinedOutput(); err != nil {
			t.Fatalf("ip link set eth0 %s: %v %s", state, err, out)
		}
	}
	link("down")
	awaitInfo(t, d, out, "the daemon noticing the lost link", func(i transfer.Info) bool { return i.State == transfer.StateInterrupted })
	b.waitText(t, "#transfers", "lost; reconnecting")
	link("up")
	info := awaitTransfer(t, d, out)
	if info.State != transfer.StateDone || len(info.Resumed) == 0 || info.Resumed[0] < 16<<20 {
		t.Fatalf("the send: %s %q, resumed from %v", info.State, info.Error, info.Resumed)
	}
	b.waitText(t, "#transfers", "Received from laptop, every file verified")
	if got := saveReceived(t, b, "big.bin"); got != sum {
		t.Fatalf("the page holds a file with SHA-256 %x, the daemon sent %x", got, sum)
	}
}

// TestGuestPageSecureContext: in a secure context (here the page on
// 127.0.0.1) the guest page writes what it receives to the origin private
// file system from a worker, and its service worker hands the file to the
// download, streamed from there.
func TestGuestPageSecureContext(t *testing.T) {
	d := startTestDaemon(t, "laptop")
	var room api.Room
	if err := api.NewClient(d.Addr().String()).Do(context.Background(), "POST", "/api/rooms/create", struct{}{}, &room); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t)
	b.open(t, "http://"+d.Addr().String()+"/r/"+room.Code)
	b.waitText(t, "#link-state", "Connected")
	b.waitText(t, "#limits", "written to this browser's storage")
	id := guestID(t, b)
	src, sum := randomFile(t, "large.bin", 64<<20+1)
	out, err := transfers{d}.Send(id, []string{src})
	if err != nil {
		t.Fatal(err)
	}
	b.click(t, `#incoming [data-transfer] button.accept`)
	b.waitText(t, "#transfers", "Received from laptop, every file verified")
	if info := awaitTransfer(t, d, out); info.State != transfer.StateDone {
		t.Fatalf("the daemon's send: %s %s", info.State, info.Error)
	}
	stored := storedSizes(t, b)
	if len(stored) != 1 || stored[0] != 64<<20+1 {
		t.Fatalf("the page's storage holds files of %v bytes, want one of %d", stored, 64<<20+1)
	}
	var href string
	b.eval(t, `document.querySelector("#transfers a.save").getAttribute("href")`, &href)
	if !strings.HasPrefix(href, "/download/") {
		t.Fatalf("the Save link is %q, not one the service worker serves", href)
	}
	if got := saveReceived(t, b, "large.bin"); got != sum {
		t.Fatalf("the download has SHA-256 %x, the daemon sent %x", got, sum)
	}
	b.assertClean(t)
}

// assertOwnerRefused asks every owner endpoint from the page b shows, as a
// guest's script could, and fails unless each answers 403.
func assertOwnerRefused(t *testing.T, b *browser) {
	t.Helper()
	var refused []string
	b.eval(t, fmt.Sprintf(`(async () => {
		const out = [];
		for (const [method, path] of %s) {
			const r = await fetch(path, {method, headers: {'Content-Type': 'application/json'}, body: method === 'GET' ? undefined : '{}'});
			out.push(method + ' ' + path + ' ' + r.status);
		}
		return out;
	})()`, ownerEndpointsJS()), &refused)
	for _, r := range refused {
		if !strings.HasSuffix(r, " 403") {
			t.Errorf("a guest's request was not refused: %s", r)
		}
	}
	if len(refused) != len(ownerEndpoints) {
		t.Errorf("asked %d endpoints, got %d answers", len(ownerEndpoints), len(refused))
	}
}

// restartableLaptop returns how to start the laptop's daemon on an address
// of the LAN's host end, always with the same data folder, so that a test
// can stop it and start it again on the port the page knows. edit, if set,
// changes its configuration.
func restartableLaptop(t *testing.T, l *guestLAN, edit func(*Config)) func(addr string) (*Daemon, func()) {
	dir := t.TempDir()
	return func(addr string) (*Daemon, func()) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		return runTestDaemonWith(t, "laptop", dir, func(c *Config) {
			c.Listener = ln
			c.Interfaces = []string{"lo", l.hostIf}
			c.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
			if edit != nil {
				edit(c)
			}
		})
	}
}

// storedSizes returns the sizes of the files the page keeps in its
// origin private file system.
func storedSizes(t *testing.T, b *browser) []int64 {
	t.Helper()
	var sizes []int64
	b.eval(t, `(async () => {
		const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle('ferry');
		const sizes = [];
		for await (const h of dir.values()) sizes.push((await h.getFile()).size);
		return sizes;
	})()`, &sizes)
	return sizes
}

// shapedGuest opens a phone's page on a LAN whose link is slowed to 40
// Mbit/s each way, so a file of 32 MiB is still on its way when a test
// breaks something, with a laptop that takes every file. It returns the
// LAN, the laptop, the page and the page's guest ID.
func shapedGuest(t *testing.T) (*guestLAN, *Daemon, *browser, string) {
	t.Helper()
	l := newGuestLAN(t)
	shapeLink(t, "", l.hostIf, "40mbit")
	shapeLink(t, l.ns, "eth0", "40mbit")
	d, base := startLANDaemon(t, l, "laptop", func(c *Config) { c.Accept = datadir.AcceptAll })
	b := guestPage(t, l, base+"/")
	showPageOnFailure(t, b)
	return l, d, b, guestID(t, b)
}

// phoneSendsThrough has the page of shapedGuest send the laptop a file of
// size bytes and calls cut once 8 MiB have arrived. The file must land
// whole; it returns what the laptop says of its receipt and the file bytes
// the page put on its data channel.
func phoneSendsThrough(t *testing.T, d *Daemon, b *browser, id string, size int64, cut func()) (transfer.Info, int64) {
	t.Helper()
	src, sum := randomFile(t, "from the phone.bin", size)
	sendFromPage(t, b, d.ID().String(), src)
	in := incomingFrom(t, d, id, 8<<20)
	cut()
	info := awaitTransfer(t, d, in.ID)
	if info.State != transfer.StateDone {
		t.Fatalf("the phone's send: %s %q", info.State, info.Error)
	}
	if got := fileSum(t, filepath.Join(d.cfg.Downloads, "from the phone.bin")); got != sum {
		t.Fatalf("the laptop holds a file with SHA-256 %x, the phone sent %x", got, sum)
	}
	sent := sending(t, b)
	t.Logf("the phone's send: resumed at %v, %d bytes on the channel", info.Resumed, sent[len(sent)-1].SentBytes)
	return info, sent[len(sent)-1].SentBytes
}

// laptopSendsThrough has the laptop send the page of shapedGuest a file of
// size bytes, which the page accepts, and calls cut once 8 MiB have gone.
// The file must arrive whole; it returns the laptop's transfer.
func laptopSendsThrough(t *testing.T, d *Daemon, b *browser, id string, size int64, cut func()) transfer.Info {
	t.Helper()
	src, sum := randomFile(t, "to the phone.bin", size)
	out, err := transfers{d}.Send(id, []string{src})
	if err != nil {
		t.Fatal(err)
	}
	b.click(t, `#incoming [data-transfer] button.accept`)
	awaitInfo(t, d, out, "8 MiB sent", func(i transfer.Info) bool { return i.Done >= 8<<20 })
	cut()
	info := awaitTransfer(t, d, out)
	t.Logf("the laptop's send: %s, resumed at %v, %d bytes on the channel", info.State, info.Resumed, info.Sent)
	if info.State != transfer.StateDone {
		t.Fatalf("the laptop's send: %s %q", info.State, info.Error)
	}
	b.waitText(t, "#transfers", "Received from laptop, every file verified")
	if got := saveReceived(t, b, "to the phone.bin"); got != sum {
		t.Fatalf("the phone holds a file with SHA-256 %x, the laptop sent %x", got, sum)
	}
	return info
}

// shapeLink slows what leaves dev (in namespace ns, or the host's if ns
// is empty) to rate, so a transfer is still on its way when the test
// breaks something; it skips the test where tc cannot.
func shapeLink(t *testing.T, ns, dev, rate string) {
	t.Helper()
	args := []string{"qdisc", "add", "dev", dev, "root", "tbf", "rate", rate, "burst", "256kb", "latency", "100ms"}
	if ns != "" {
		args = append([]string{"-n", ns}, args...)
	}
	if out, err := exec.Command("tc", args...).CombinedOutput(); err != nil {
		t.Skipf("skipped: cannot shape the link with tc: %v %s", err, out)
	}
}

// showPageOnFailure logs what the page says and its problems if t fails.
func showPageOnFailure(t *testing.T, b *browser) {
	t.Cleanup(func() {
		if t.Failed() {
			var s string
			b.eval(t, `document.querySelector('main').innerText`, &s)
			t.Logf("the page: %s\nproblems: %q", s, b.problems())
		}
	})
}
