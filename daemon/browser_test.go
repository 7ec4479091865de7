package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/audits"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// This file is the harness for end-to-end tests of the pages in a real
// headless Chromium, driven with chromedp, and the test that proves it.

// browserTimeout bounds one step of a browser test: starting Chromium,
// one run of actions, one wait.
const browserTimeout = 90 * time.Second

// chromiumFlags are the switches every test browser starts with. Besides
// these, Chromium gets only --user-data-dir and what chromedp needs to talk
// to it (--remote-debugging-pipe and the first page, about:blank).
// chromedp.DefaultExecAllocatorOptions is not used: it adds two dozen
// switches that would make the test browser unlike a user's.
var chromiumFlags = []string{
	"headless", "no-sandbox", "disable-gpu", "no-first-run",
	"disable-background-networking", "disable-component-update", "disable-sync",
}

// browser is one headless Chromium with one tab. From the start it records
// what the tab reports as wrong (see problems), across navigations, until
// the test ends and closes it.
type browser struct {
	ctx     context.Context // the tab; each step runs in a context derived from it
	timeout time.Duration   // of each step
	dataDir string          // the profile, which every Chromium process names

	mu   sync.Mutex
	seen []string // problems, in order of arrival
}

// browserOption changes how newBrowser starts Chromium.
type browserOption func(*browserSetup)

// browserSetup is what browser options change.
type browserSetup struct {
	flags []chromedp.ExecAllocatorOption // switches besides chromiumFlags
	ns    string                         // a network namespace to run in, or ""
}

// showLocalIPs starts Chromium with
// --disable-features=WebRtcHideLocalIpsWithMdns, so its host candidates
// carry its real addresses instead of <uuid>.local names. The design notes
// ask that at least one WebRTC test runs without it.
func showLocalIPs() browserOption {
	return func(s *browserSetup) {
		s.flags = append(s.flags, chromedp.Flag("disable-features", "WebRtcHideLocalIpsWithMdns"))
	}
}

// inNamespace starts Chromium in the network namespace ns (see
// newGuestLAN), so it reaches the daemon as a phone on the LAN does: from
// another address, to the daemon's LAN address, in a context that is not
// secure. Its switches stay exactly those of every test browser.
func inNamespace(ns string) browserOption {
	return func(s *browserSetup) { s.ns = ns }
}

// newBrowser starts a headless Chromium with a fresh profile for this test
// and closes it when the test ends. Without a Chromium it skips the test,
// unless the environment variable CI is set: CI must run browser tests,
// never skip them.
func newBrowser(t *testing.T, opts ...browserOption) *browser {
	t.Helper()
	path, err := chromiumPath()
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("skipping a browser test: no Chromium (%v); install the chromium package to run it", err)
		}
		t.Fatalf("CI is set and there is no Chromium (%v): CI must run the browser tests; .ci/run installs the chromium package", err)
	}
	var setup browserSetup
	for _, o := range opts {
		o(&setup)
	}
	exe := path
	if setup.ns != "" {
		exe = netnsWrapper(t, setup.ns, path)
	}
	dataDir := t.TempDir()
	alloc := []chromedp.ExecAllocatorOption{chromedp.ExecPath(exe)}
	for _, f := range chromiumFlags {
		alloc = append(alloc, chromedp.Flag(f, true))
	}
	alloc = append(alloc, chromedp.UserDataDir(dataDir))
	alloc = append(alloc, setup.flags...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), alloc...)
	b := &browser{timeout: browserTimeout, dataDir: dataDir}
	// WithListener sees every event of the tab from its first message, in
	// order, before the reply to any later command (see problems).
	ctx, cancelTab := chromedp.NewContext(actx, chromedp.WithListener(b.record))
	b.ctx = ctx
	t.Cleanup(func() { b.close(t, cancelTab, cancelAlloc, dataDir) })

	// The first action starts the browser with the context it is given, and
	// a deadline on that context would end the browser when it passes. So
	// bound the wait here instead.
	started := make(chan error, 1)
	go func() {
		started <- chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tab *chromedp.Target) error {
			// Chromium reports a CSP violation both as a log entry and as
			// an issue. The issue is the structured one, and the one left
			// if Chromium moves the message off the console, as it did
			// with its cookie warnings.
			_, err := cdp.Call(ctx, tab, audits.Enable, cdp.Empty{})
			return err
		}))
	}()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("starting %s: %v", exe, err)
		}
	case <-time.After(b.timeout):
		t.Fatalf("%s did not start in %v", exe, b.timeout)
	}
	return b
}

// netnsWrapper writes a script that runs chromium with its arguments in
// the network namespace ns, and returns its path: chromedp starts one
// executable. The script execs ip, and `ip netns exec` enters the
// namespace and execs the command in the same process (it forks only in
// batch mode), so the process chromedp starts, waits for and kills is
// Chromium itself, with the arguments chromedp gave it and no others.
func netnsWrapper(t *testing.T, ns, chromium string) string {
	t.Helper()
	ip, err := exec.LookPath("ip")
	if err != nil {
		t.Fatalf("running Chromium in namespace %s: %v", ns, err)
	}
	quote := func(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
	script := fmt.Sprintf("#!/bin/sh\nexec %s netns exec %s %s \"$@\"\n", quote(ip), quote(ns), quote(chromium))
	path := filepath.Join(t.TempDir(), "chromium-in-"+ns)
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatalf("writing the namespace wrapper: %v", err)
	}
	return path
}

// chromiumPath finds the Chromium to run. Debian's /usr/bin/chromium is a
// shell script that adds the switches of /etc/chromium.d (extensions, GPU
// rasterization, --disable-pings, …) and then execs
// /usr/lib/chromium/chromium; start that binary itself, so the browser runs
// with chromiumFlags and nothing else.
func chromiumPath() (string, error) {
	path, err := exec.LookPath("chromium")
	if err != nil {
		return "", err
	}
	const debian = "/usr/lib/chromium/chromium"
	if f, err := os.Open(path); err == nil {
		head := make([]byte, 2)
		n, _ := f.Read(head)
		f.Close()
		if string(head[:n]) == "#!" {
			if real, err := exec.LookPath(debian); err == nil {
				return real, nil
			}
		}
	}
	return path, nil
}

// close closes the browser gracefully, then makes sure none of its
// processes outlives the test (or writes into dataDir while the test
// removes it).
func (b *browser) close(t testing.TB, cancelTab, cancelAlloc context.CancelFunc, dataDir string) {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Cancel(ctx); err != nil && !errors.Is(err, context.Canceled) {
		t.Logf("closing Chromium: %v", err)
	}
	cancelTab()
	cancelAlloc()
	deadline := time.Now().Add(5 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for left := chromiumUsing(dataDir); len(left) > 0; left = chromiumUsing(dataDir) {
		if time.Now().After(deadline) {
			for _, p := range left {
				if proc, err := os.FindProcess(p); err == nil {
					proc.Kill()
				}
			}
			t.Errorf("Chromium processes %v were still running 5s after the browser closed; killed them", left)
			return
		}
		<-tick.C
	}
}

// chromiumUsing returns the live processes that run with the profile dir.
// Chromium passes --user-data-dir to each child (zygote, renderers, GPU and
// network services), though a child may rewrite its command line with
// spaces between the arguments. A zombie has no command line, so it is not
// counted: it has exited, and whoever is its parent reaps it. Off Linux,
// where there is no /proc, it finds nothing.
func chromiumUsing(dir string) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	flag := []byte("--user-data-dir=" + dir)
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		for rest := cmdline; ; {
			i := bytes.Index(rest, flag)
			if i < 0 {
				break
			}
			rest = rest[i+len(flag):]
			if len(rest) == 0 || rest[0] == 0 || rest[0] == ' ' {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

// record keeps an event that says something went wrong in the page: a
// console error or warning, an uncaught exception or rejected promise, a
// browser log entry of level error or warning (a CSP violation is one, of
// source "security"; a failed load is one of source "network"), and a CSP
// issue. It runs on the goroutine that reads the tab's messages, so it only
// formats and appends.
func (b *browser) record(ev any) {
	var p string
	switch ev := ev.(type) {
	case *cdpruntime.EventConsoleAPICalled:
		switch ev.Type {
		case cdpruntime.ConsoleAPICalledTypeError, cdpruntime.ConsoleAPICalledTypeWarning, cdpruntime.ConsoleAPICalledTypeAssert:
		default:
			return
		}
		p = fmt.Sprintf("console.%s: %s%s", ev.Type, consoleText(ev.Args), stackPlace(ev.StackTrace))
	case *cdpruntime.EventExceptionThrown:
		d := ev.ExceptionDetails
		text := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			desc, _, _ := strings.Cut(d.Exception.Description, "\n")
			text += " " + desc
		}
		p = fmt.Sprintf("exception: %s (%s:%d:%d)", text, d.URL, d.LineNumber+1, d.ColumnNumber+1)
	case *log.EventEntryAdded:
		e := ev.Entry
		if e.Level != log.EntryLevelError && e.Level != log.EntryLevelWarning {
			return
		}
		// Headless Chromium asks for /favicon.ico after the load event, so
		// whether its 404 lands before a test checks the page is a race. It
		// says nothing about the page; a page can declare its own icon.
		if u, err := url.Parse(e.URL); err == nil && e.Source == log.EntrySourceNetwork && u.Path == "/favicon.ico" {
			return
		}
		p = fmt.Sprintf("log %s %s: %s (%s)", e.Source, e.Level, e.Text, e.URL)
	case *audits.EventIssueAdded:
		// Other issues (form autocomplete hints, cookies, deprecations) are
		// advice, not failures; only CSP violations count.
		if ev.Issue == nil || ev.Issue.Code != audits.InspectorIssueCodeContentSecurityPolicyIssue ||
			ev.Issue.Details == nil || ev.Issue.Details.ContentSecurityPolicyIssueDetails == nil {
			return
		}
		c := ev.Issue.Details.ContentSecurityPolicyIssueDetails
		what := c.BlockedURL
		if what == "" {
			what = "inline code"
		}
		where := ""
		if l := c.SourceCodeLocation; l != nil {
			where = fmt.Sprintf(" (%s:%d:%d)", l.URL, l.LineNumber+1, l.ColumnNumber+1)
		}
		p = fmt.Sprintf("CSP issue: %s blocked %s%s", c.ViolatedDirective, what, where)
	default:
		return
	}
	b.mu.Lock()
	b.seen = append(b.seen, p)
	b.mu.Unlock()
}

// consoleText renders the arguments of a console call about as DevTools
// shows them: strings as they are, other values by value or description.
func consoleText(args []*cdpruntime.RemoteObject) string {
	parts := make([]string, 0, len(args))
	for _, a := range args {
		var s string
		switch {
		case a.Type == cdpruntime.RemoteObjectTypeString && json.Unmarshal(a.Value, &s) == nil:
		case len(a.Value) > 0:
			s = string(a.Value)
		case a.UnserializableValue != "":
			s = string(a.UnserializableValue)
		case a.Description != "":
			s = a.Description
		default:
			s = string(a.Type)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

// stackPlace is " (url:line:column)" of the top frame, or "".
func stackPlace(st *cdpruntime.StackTrace) string {
	if st == nil || len(st.CallFrames) == 0 {
		return ""
	}
	f := st.CallFrames[0]
	return fmt.Sprintf(" (%s:%d:%d)", f.URL, f.LineNumber+1, f.ColumnNumber+1)
}

// problems returns what the tab has reported as wrong so far, in order
// (see record). It first does one round trip to the page: the browser
// sends an event before the reply to a later command, so everything the
// page did before the call is in.
func (b *browser) problems() []string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void]("0"))
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.seen)
}

// assertClean fails the test, listing them, if the tab has reported any
// problems.
func (b *browser) assertClean(t testing.TB) {
	t.Helper()
	if p := b.problems(); len(p) > 0 {
		t.Errorf("the page reported %d problems:\n\t%s", len(p), strings.Join(p, "\n\t"))
	}
}

// run runs the actions in the tab, in order, within the step timeout.
func (b *browser) run(t testing.TB, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := b.do(actions...); err != nil {
		t.Fatalf("running browser actions: %v", err)
	}
}

// do runs the actions in the tab, in order, within the step timeout.
func (b *browser) do(actions ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(b.ctx, b.timeout)
	defer cancel()
	return chromedp.Do(ctx, actions...)
}

// open navigates the tab to u and returns when the document has loaded
// (the load event: its scripts ran, its images and style sheets are in).
// An HTTP error status is not a failure here; the browser logs it as a
// problem.
func (b *browser) open(t testing.TB, u string) {
	t.Helper()
	if err := b.do(chromedp.Navigate(u)); err != nil {
		t.Fatalf("opening %s: %v", u, err)
	}
}

// waitText waits until the textContent of the first element that matches
// the CSS selector contains want, and fails, showing the text it had, if
// that does not happen within the step timeout.
func (b *browser) waitText(t testing.TB, selector, want string) {
	t.Helper()
	const contains = `(selector, want) => {
		const el = document.querySelector(selector);
		return el !== null && el.textContent.includes(want);
	}`
	// The page-side deadline comes first, so the page is still usable to
	// read the text for the message.
	ctx, cancel := context.WithTimeout(b.ctx, b.timeout+5*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.PollFunction[bool](contains,
		chromedp.WithPollingArgs(selector, want), chromedp.WithPollingTimeout(b.timeout)))
	if err == nil {
		return
	}
	var got *string
	sel, _ := json.Marshal(selector)
	b.eval(t, fmt.Sprintf(`(el => el === null ? null : el.textContent)(document.querySelector(%s))`, sel), &got)
	if got == nil {
		t.Fatalf("waiting for %s to contain %q: no element matches (%v)", selector, want, err)
	}
	t.Fatalf("waiting for %s to contain %q: it has %q (%v)", selector, want, *got, err)
}

// waitTrue waits until the JavaScript expression expr is true in the page.
func (b *browser) waitTrue(t testing.TB, expr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, b.timeout+5*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(b.timeout))); err != nil {
		t.Fatalf("waiting for %s: %v", expr, err)
	}
}

// click clicks, with the mouse, the first element that matches the CSS
// selector, once it is visible.
func (b *browser) click(t testing.TB, selector string) {
	t.Helper()
	// A page that redraws the element between the query and the click
	// leaves a node that is gone: the click is tried again on the new one.
	err := b.do(chromedp.Click(chromedp.CSS(selector)))
	for tries := 0; err != nil && tries < 5 && goneNode(err); tries++ {
		err = b.do(chromedp.Click(chromedp.CSS(selector)))
	}
	if err != nil {
		t.Fatalf("clicking %s: %v (a query waits for a visible match until the step timeout, %v)", selector, err, b.timeout)
	}
}

// goneNode says whether err is the browser's answer about a node that was
// removed from the page after it was found.
func goneNode(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "No node with given id") || strings.Contains(msg, "Could not compute box model") ||
		strings.Contains(msg, "Node is detached")
}

// text returns the textContent of the first element that matches the CSS
// selector, waiting for one to exist. The match and its text are read in
// one step in the page, so a page that redraws the element in between is
// never caught holding a node that is gone.
func (b *browser) text(t testing.TB, selector string) string {
	t.Helper()
	const read = `(selector) => {
		const el = document.querySelector(selector);
		return el === null ? null : {text: el.textContent};
	}`
	ctx, cancel := context.WithTimeout(b.ctx, b.timeout+5*time.Second)
	defer cancel()
	got, err := chromedp.Run(ctx, chromedp.PollFunction[struct{ Text string }](read,
		chromedp.WithPollingArgs(selector), chromedp.WithPollingTimeout(b.timeout)))
	if err != nil {
		t.Fatalf("reading the text of %s: %v", selector, err)
	}
	return got.Text
}

// eval evaluates the JavaScript expression in the page, awaiting it if it
// is a promise, and decodes its JSON value into out (a pointer, or nil to
// ignore the value). A thrown exception fails the test; it is not one of
// the page's problems.
func (b *browser) eval(t testing.TB, js string, out any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, b.timeout)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluating %s: %v", js, err)
	}
	if out == nil {
		return
	}
	if raw == nil {
		t.Fatalf("evaluating %s: the value is undefined", js)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatalf("evaluating %s: decoding %s: %v", js, raw, err)
	}
}

// screenshot sets the viewport to width×height and saves a PNG of the
// whole page as name-WIDTHxHEIGHT.png in the artifacts folder; it returns
// the file's path. The viewport stays at that size.
func (b *browser) screenshot(t testing.TB, name string, width, height int) string {
	t.Helper()
	if name == "" || strings.ContainsAny(name, `/\`) {
		t.Fatalf("screenshot name %q: want a plain file name", name)
	}
	b.run(t, chromedp.EmulateViewport(int64(width), int64(height)))
	ctx, cancel := context.WithTimeout(b.ctx, b.timeout)
	defer cancel()
	img, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		t.Fatalf("screenshot %s at %dx%d: %v", name, width, height, err)
	}
	dir := artifactsDir(t)
	path := filepath.Join(dir, fmt.Sprintf("%s-%dx%d.png", name, width, height))
	if err := os.WriteFile(path, img, 0o644); err != nil {
		t.Fatalf("saving a screenshot: %v", err)
	}
	return path
}

// artifactsDir is where tests leave files for people to look at:
// $FERRY_ARTIFACTS, or else artifacts/ at the root of the module (found
// from the package's folder, where go test runs). It creates the folder.
func artifactsDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("FERRY_ARTIFACTS")
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		root := wd
		for {
			if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
				break
			}
			parent := filepath.Dir(root)
			if parent == root {
				t.Fatalf("no go.mod above %s: set FERRY_ARTIFACTS", wd)
			}
			root = parent
		}
		dir = filepath.Join(root, "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("creating the artifacts folder: %v", err)
	}
	return dir
}

// TestBrowserRoomPage opens a room's join page in Chromium and checks that
// it renders with its QR code and without a single problem, at a phone's
// width and a desktop's. Then it proves that problems are caught at all:
// a page that breaks its own CSP and logs an error must show up in
// problems, in the same tab.
func TestBrowserRoomPage(t *testing.T) {
	d, _ := runTestDaemon(t, "alpha")
	b := newBrowser(t)
	if runtime.GOOS == "linux" {
		checkChromiumFlags(t, b)
	}

	base := "http://" + d.Addr().String()
	resp, err := http.Post(base+"/api/rooms/create", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	var room struct{ Code string }
	err = json.NewDecoder(resp.Body).Decode(&room)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || room.Code == "" {
		t.Fatalf("creating a room: %s %+v %v", resp.Status, room, err)
	}

	b.open(t, base+"/r/"+room.Code)
	b.waitText(t, "#room .code", room.Code)
	if got := b.text(t, "#people-h"); got != "In room "+room.Code {
		t.Errorf("the list's heading: %q, want it to name room %s", got, room.Code)
	}
	if got := b.text(t, "#room .code"); got != room.Code {
		t.Errorf("the code on the page: %q, want %q", got, room.Code)
	}
	var qrWidth int
	b.eval(t, `document.querySelector("#room svg.qr").getBoundingClientRect().width`, &qrWidth)
	if qrWidth == 0 {
		t.Error("the QR code is not drawn")
	}
	for _, size := range [][2]int{{390, 844}, {1280, 800}} {
		path := b.screenshot(t, "room", size[0], size[1])
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := png.DecodeConfig(f)
		f.Close()
		// A page taller than the window has a scrollbar, which headless
		// Chromium draws 15 px wide and a phone overlays: the content is
		// the window's width less the bar's.
		if err != nil || cfg.Width > size[0] || cfg.Width < size[0]-15 || cfg.Height < size[1] {
			t.Errorf("screenshot %s: %dx%d %v, want %d wide and at least %d high", path, cfg.Width, cfg.Height, err, size[0], size[1])
		}
		var sideways bool
		b.eval(t, `document.documentElement.scrollWidth > document.documentElement.clientWidth`, &sideways)
		if sideways {
			t.Errorf("at %dx%d the page scrolls sideways", size[0], size[1])
		}
	}
	b.assertClean(t)

	// The negative control: a page that breaks its own policy with an
	// inline script and an inline style, and a script of its own that logs
	// an error and throws.
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'self'")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><title>control</title>
<p style="color: red">styled inline</p>
<script>document.title = "inline script ran"</script>
<script src="/control.js"></script>`)
	})
	mux.HandleFunc("GET /control.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprint(w, `console.error("control: an error", 42);
throw new Error("control: uncaught");`)
	})
	control := httptest.NewServer(mux)
	defer control.Close()

	b.open(t, control.URL)
	var title string
	b.eval(t, `document.title`, &title)
	if title != "control" {
		t.Errorf("the title is %q: the inline script ran despite the CSP", title)
	}
	problems := b.problems()
	for _, want := range []struct{ what, prefix, substring string }{
		{"inline script, as a log entry", "log security error: ", "violates the following Content Security Policy directive 'script-src 'self''"},
		{"inline style, as a log entry", "log security error: ", "Applying inline style violates"},
		{"inline script, as an issue", "CSP issue: ", "script-src-elem blocked inline code"},
		{"inline style, as an issue", "CSP issue: ", "style-src-attr blocked inline code"},
		{"console.error", "console.error: ", "control: an error 42 (" + control.URL + "/control.js:1:"},
		{"uncaught exception", "exception: ", "Error: control: uncaught (" + control.URL + "/control.js:2:"},
	} {
		if !slices.ContainsFunc(problems, func(p string) bool {
			return strings.HasPrefix(p, want.prefix) && strings.Contains(p, want.substring)
		}) {
			t.Errorf("the %s was not caught; problems:\n\t%s", want.what, strings.Join(problems, "\n\t"))
		}
	}
	rec := &recordingTB{TB: t}
	b.assertClean(rec)
	if len(rec.errors) != 1 || !strings.Contains(rec.errors[0], "control: uncaught") {
		t.Errorf("assertClean on the control page reported %q", rec.errors)
	}
}

// checkChromiumFlags fails unless the browser runs with chromiumFlags, a
// profile and what chromedp adds, and nothing else: not the switches of a
// launcher script.
func checkChromiumFlags(t *testing.T, b *browser) {
	t.Helper()
	proc := chromedp.FromContext(b.ctx).Browser.Process()
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", proc.Pid))
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Split(strings.TrimSuffix(string(cmdline), "\x00"), "\x00")[1:]
	var want []string
	for _, f := range chromiumFlags {
		want = append(want, "--"+f)
	}
	want = append(want, "--user-data-dir=*", "--remote-debugging-pipe", "about:blank")
	ok := len(args) == len(want)
	for i := 0; ok && i < len(want); i++ {
		prefix, glob := strings.CutSuffix(want[i], "*")
		ok = args[i] == want[i] || glob && strings.HasPrefix(args[i], prefix)
	}
	if !ok {
		t.Errorf("Chromium runs with %q, want %q", args, want)
	}
}

// recordingTB is a testing.TB whose Errorf is recorded instead of failing
// the test, to test a helper that must fail.
type recordingTB struct {
	testing.TB
	errors []string
}

func (r *recordingTB) Helper() {}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
