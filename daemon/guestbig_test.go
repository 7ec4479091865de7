package daemon

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/buildinfo"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/ferry-dev/ferry/daemon/api"
	"github.com/ferry-dev/ferry/daemon/datadir"
)

// The bounds TestGuestReceivesBigFileFlat holds the page's renderers to.
const (
	// bigHeapMiB is the V8 old-space limit the test browser's renderers
	// start with, a third of the file, as a phone's tab is kept small. It
	// bounds JavaScript objects only: the bytes of ArrayBuffers live
	// outside that heap, so the renderers' resident memory is what the
	// test holds to its bounds.
	bigHeapMiB = 512
	// bigRSSBound bounds the resident memory of the browser's renderer
	// processes together (the tab with its dedicated disk worker, and the
	// two others this Chromium runs) at every sample. On a 2-core machine they hold about 400 MiB before the
	// transfer and at most 480 MiB through it (the tab's own between 145
	// and 240 MiB), shared pages counted in each process. The bound
	// leaves 120 MiB for a garbage collection that runs late and is well
	// under a third of the file: a page whose worker kept the chunks it
	// wrote crossed it at 192 MiB received and held 1.2 GiB at 768 MiB.
	bigRSSBound = 600 << 20
	// bigGrowthBound is how far the renderers' peak over the last third
	// of the bytes may stand above their peak over the first third.
	// Memory that follows the bytes grows by a third of the file (512 MiB
	// for 1.5 GiB) between the two; the sawtooth of garbage collection
	// between samples is about 60 MiB.
	bigGrowthBound = 150 << 20
)

// TestGuestReceivesBigFileFlat: a phone on a secure page (the HTTPS mode,
// with a browser that trusts the daemon's certificate, so the page has
// OPFS and its service worker) receives a 1.5 GiB file from a laptop into
// the browser's storage. Its renderers start with a JavaScript heap a
// third of the file's size, and their memory, sampled at every 128 MiB (or
// twelfth of a smaller file) the page has received, stays under a bound
// far below the file and does not grow with it. The page verifies the file, and saving it streams it from
// the browser's storage through the service worker into a download whose
// SHA-256, taken here, is the sender's; the renderers stay flat during the
// save too. $FERRY_BIG_MIB sets another size, in MiB.
//
// The laptop is a `ferry run` process built without the race detector,
// which its owner drives through the loopback API: under `go test -race` a
// daemon inside the test binary spends nearly three times the CPU per byte,
// and this is a test of the page, not of the daemon.
//
// The file, the laptop's folders, the browser's profile (with its OPFS)
// and the download are in the test's temporary folders, which go when it
// ends.
func TestGuestReceivesBigFileFlat(t *testing.T) {
	size := bigFileSize(t)
	step := min(int64(128<<20), size/12)
	l := newGuestLAN(t)
	laptop := startFerryRun(t, l, "laptop")
	b := newBrowser(t, inNamespace(l.ns), ignoringCertificateErrors(), jsHeapLimit(bigHeapMiB))
	showPageOnFailure(t, b)
	b.open(t, "https://"+net.JoinHostPort(l.hostAddr, strconv.Itoa(laptop.status.HTTPSPort))+"/")
	b.waitText(t, "#link-state", "Connected to laptop")
	b.waitText(t, "#limits", "written to this browser's storage")
	checkHeapLimit(t, b)
	var served bool
	b.eval(t, `navigator.serviceWorker.controller !== null`, &served)
	if !served {
		t.Fatal("no service worker controls the page: the save would not stream through it")
	}

	began := time.Now()
	src, sum := randomFile(t, "big.bin", size)
	t.Logf("wrote %d MiB of random bytes in %v", size>>20, time.Since(began).Round(time.Millisecond))

	// The owner sends to the page as to any member of the nearby room.
	guest := guestID(t, b)
	laptop.awaitGuest(t, guest)
	var started api.Started
	laptop.call(t, "POST", "/api/send", api.SendRequest{To: guest, Paths: []string{src}}, &started)
	b.waitText(t, "#incoming", "laptop wants to send you 1 file")
	samples := []memSample{sampleMemory(t, b, 0)}
	goCPU, laptopCPU, chromium := processCPU(), laptop.cpu(t), chromiumCPUOf(b.dataDir)
	b.click(t, `#incoming [data-transfer] button.accept`)
	began = time.Now()
	// A sample each time the page has told the laptop of another step of
	// bytes: driven by the transfer, whatever its speed.
	info := laptop.follow(t, started.ID, step, func(done int64) { samples = append(samples, sampleMemory(t, b, done)) })
	took := time.Since(began)
	if info.State != api.StateDone {
		t.Fatalf("the laptop's send: %s %q", info.State, info.Error)
	}
	// The CPU both ends spent says what the time would be on an idle
	// machine; the wall time depends on whatever else shares the cores.
	spent := chromiumCPUOf(b.dataDir).since(chromium)
	t.Logf("received %d MiB in %v, %.1f MB/s; CPU seconds: the laptop's ferry %.1f, this process (the test) %.1f, Chromium %.1f (%s)",
		size>>20, took.Round(time.Millisecond), float64(size)/took.Seconds()/1e6,
		(laptop.cpu(t) - laptopCPU).Seconds(), (processCPU() - goCPU).Seconds(), spent.total().Seconds(), spent.byKind())
	b.waitText(t, "#transfers", "Received from laptop, every file verified")
	logSamples(t, "receiving", samples)
	checkFlat(t, "receiving", samples, size)

	stored := storedSizes(t, b)
	if len(stored) != 1 || stored[0] != size {
		t.Fatalf("the page's storage holds files of %v bytes, want one of %d", stored, size)
	}
	var href string
	b.eval(t, `document.querySelector("#transfers a.save[data-name='big.bin']").getAttribute("href")`, &href)
	if !strings.HasPrefix(href, "/download/") {
		t.Fatalf("the Save link is %q, not one the service worker serves", href)
	}

	began = time.Now()
	saved := []memSample{sampleMemory(t, b, 0)}
	got, n := saveSampled(t, b, "big.bin", step, func(at int64) { saved = append(saved, sampleMemory(t, b, at)) })
	took = time.Since(began)
	t.Logf("saved and hashed %d MiB in %v, %.1f MB/s", n>>20, took.Round(time.Millisecond), float64(n)/took.Seconds()/1e6)
	logSamples(t, "saving", saved)
	if n != size || got != sum {
		t.Fatalf("the download holds %d bytes with SHA-256 %x; the laptop sent %d with %x", n, got, size, sum)
	}
	checkFlat(t, "saving", saved, size)
	b.assertClean(t)
}

// ferryBuild is the ferry command built for this test process, kept in the
// temporary folder of the test that built it while that folder lasts.
var ferryBuild struct {
	sync.Mutex
	path string
}

// ferryBinary builds the ferry command from the module's root without the
// race detector, whatever this test binary was built with, and returns its
// path. It builds once per test process, again only when the folder of the
// test that built it is gone; Go's build cache makes that quick.
func ferryBinary(t *testing.T) string {
	t.Helper()
	ferryBuild.Lock()
	defer ferryBuild.Unlock()
	if ferryBuild.path != "" {
		if _, err := os.Stat(ferryBuild.path); err == nil {
			return ferryBuild.path
		}
	}
	bin := filepath.Join(t.TempDir(), "ferry")
	began := time.Now()
	cmd := exec.Command("go", "build", "-o", bin, "..")
	// GOFLAGS=-race in the environment would reach this build too.
	flags := slices.DeleteFunc(strings.Fields(os.Getenv("GOFLAGS")), func(f string) bool { return f == "-race" || f == "-race=true" })
	cmd.Env = append(os.Environ(), "GOFLAGS="+strings.Join(flags, " "))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range info.Settings {
		if s.Key == "-race" && s.Value == "true" {
			t.Fatalf("%s was built with the race detector", bin)
		}
	}
	t.Logf("built ferry in %v", time.Since(began).Round(time.Millisecond))
	ferryBuild.path = bin
	return bin
}

// ferryProc is a `ferry run` process of the test: a laptop on the LAN that
// its owner drives through the loopback API, as the CLI does.
type ferryProc struct {
	cmd     *exec.Cmd
	drained chan struct{} // closed when its standard output has ended
	log     string        // the file it logs to
	api     *api.Client
	status  api.Status // as it started
}

// startFerryRun runs `ferry run` called name in the HTTPS mode, with its
// own data and downloads folders, on free ports, using loopback and the
// LAN's host interface (where the page reaches it; it has no flag to
// listen on one address only), without mDNS, and stops it when the test
// ends. It returns once the process has said it is ready and its API
// answers.
func startFerryRun(t *testing.T, l *guestLAN, name string) *ferryProc {
	t.Helper()
	bin := ferryBinary(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	f := &ferryProc{drained: make(chan struct{}), log: filepath.Join(dir, "ferry.log")}
	f.cmd = exec.Command(bin, "run", "--data-dir", data, "--downloads", filepath.Join(dir, "downloads"),
		"--name", name, "--port", "0", "--https", "--interfaces", "lo,"+l.hostIf, "--mdns=false", "--log-file", f.log)
	line := f.start(t)
	// The line it prints once it serves: ferry VERSION: NAME (ID) on port
	// N (HTTPS on M), saving to ...
	if !strings.Contains(line, name+" (") || !strings.Contains(line, "(HTTPS on ") {
		t.Fatalf("ferry run printed %q, not that it runs in the HTTPS mode", line)
	}
	info, ok, err := datadir.New(data).ReadAPIInfo()
	if err != nil || !ok || info.PID != f.cmd.Process.Pid {
		t.Fatalf("ferry run's api.json: %+v, %v, %v", info, ok, err)
	}
	f.api = api.NewClient(info.Addr)
	f.call(t, "GET", "/api/status", nil, &f.status)
	if f.status.Name != name || f.status.HTTPSPort == 0 || f.status.Fingerprint == "" {
		t.Fatalf("ferry run's status: %+v", f.status)
	}
	t.Logf("%s: ferry run (pid %d), API on %s, HTTPS on %s:%d, certificate SHA-256 %s",
		name, f.cmd.Process.Pid, info.Addr, l.hostAddr, f.status.HTTPSPort, f.status.Fingerprint)
	return f
}

// start starts the process, to be stopped when the test ends, and returns
// the first line it prints, which ferry run prints once it serves. The
// rest of its output is read and dropped.
func (f *ferryProc) start(t *testing.T) string {
	t.Helper()
	stdout, err := f.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.stop(t) })
	ready := make(chan string, 1)
	go func() {
		defer close(f.drained)
		r := bufio.NewReader(stdout)
		line, _ := r.ReadString('\n')
		ready <- line
		io.Copy(io.Discard, r)
	}()
	select {
	case line := <-ready:
		return line
	case <-time.After(browserTimeout):
		t.Fatalf("ferry run did not say it was ready within %v", browserTimeout)
		return ""
	}
}

// call asks the process's owner API and decodes its answer into out.
func (f *ferryProc) call(t *testing.T, method, path string, body, out any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	defer cancel()
	if err := f.api.Do(ctx, method, path, body, out); err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
}

// awaitGuest polls the process's nearby room until it lists the guest
// with ID id, which an owner can send to from then on.
func (f *ferryProc) awaitGuest(t *testing.T, id string) {
	t.Helper()
	deadline := time.Now().Add(browserTimeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		var v api.RoomsView
		f.call(t, "GET", "/api/rooms", nil, &v)
		for _, m := range v.Nearby {
			if m.ID == id && m.Kind == api.KindGuest {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the guest %s is not in the nearby room after %v: %+v", id, browserTimeout, v.Nearby)
		}
		<-tick.C
	}
}

// follow watches transfer id through the owner API, as `ferry send`
// does, calls sample each time the receiver holds another step of bytes,
// and returns the transfer once it has ended. It fails if the receiver
// gets nothing more for transferPatience. A watch whose connection breaks
// while the daemon still answers is started again, as `ferry send`
// follows a transfer on, a few times at most.
func (f *ferryProc) follow(t *testing.T, id string, step int64, sample func(done int64)) api.Transfer {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var latest atomic.Pointer[api.Transfer]
	wake := make(chan struct{}, 1)
	watch := func() <-chan error {
		watched := make(chan error, 1)
		go func() {
			_, err := f.api.Watch(ctx, id, func(tr api.Transfer) {
				latest.Store(&tr)
				select {
				case wake <- struct{}{}:
				default:
				}
			})
			watched <- err
		}()
		return watched
	}
	watched := watch()
	stalled := time.NewTimer(transferPatience)
	defer stalled.Stop()
	held, next, again := int64(0), step, 0
	for {
		select {
		case <-wake:
		case err := <-watched:
			// Without an error the last snapshot, already stored, is final.
			if err != nil {
				var st api.Status
				if !errors.Is(err, api.ErrDaemonStopped) || again == 3 || f.api.Do(ctx, "GET", "/api/status", nil, &st) != nil {
					t.Fatalf("following transfer %s: %v (last seen: %+v)", id, err, latest.Load())
				}
				again++
				t.Logf("following transfer %s broke off while the daemon answers (%v); following it again", id, err)
				watched = watch()
				continue
			}
		case <-stalled.C:
			t.Fatalf("transfer %s got nowhere for %v: %+v", id, transferPatience, latest.Load())
		}
		info := latest.Load()
		if info == nil {
			continue
		}
		if info.State.Final() {
			return *info
		}
		if info.Done > held {
			held = info.Done
			stalled.Reset(transferPatience)
		}
		if info.Done >= next {
			sample(info.Done)
			next = (info.Done/step + 1) * step
		}
	}
}

// cpu is the user and system CPU time the process has spent so far.
func (f *ferryProc) cpu(t *testing.T) time.Duration {
	t.Helper()
	_, cpu, ok := taskCPU(fmt.Sprintf("/proc/%d/stat", f.cmd.Process.Pid))
	if !ok {
		t.Fatalf("cannot read the CPU time of ferry run (pid %d)", f.cmd.Process.Pid)
	}
	return cpu
}

// stop interrupts the process, as Ctrl-C in its terminal does, and waits
// for it to exit; it kills one that does not within browserTimeout. Its
// log goes to the test's output when the test failed.
func (f *ferryProc) stop(t *testing.T) {
	f.cmd.Process.Signal(os.Interrupt)
	exited := make(chan error, 1)
	go func() {
		<-f.drained // Wait closes the pipe: read it to its end first
		exited <- f.cmd.Wait()
	}()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("ferry run did not exit cleanly on SIGINT: %v", err)
		}
	case <-time.After(browserTimeout):
		f.cmd.Process.Kill()
		<-exited
		t.Errorf("ferry run did not exit within %v of SIGINT", browserTimeout)
	}
	if t.Failed() {
		b, _ := os.ReadFile(f.log)
		if len(b) > 32<<10 {
			b = b[len(b)-32<<10:]
		}
		t.Logf("the end of ferry run's log:\n%s", b)
	}
}

// bigFileSize is $FERRY_BIG_MIB MiB, or 1.5 GiB.
func bigFileSize(t *testing.T) int64 {
	t.Helper()
	mib := int64(1536)
	if v := os.Getenv("FERRY_BIG_MIB"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 12 {
			t.Fatalf("FERRY_BIG_MIB=%q: want a whole number of MiB, at least 12", v)
		}
		mib = n
	}
	return mib << 20
}

// jsHeapLimit starts Chromium with --js-flags=--max-old-space-size=mib,
// which the browser hands to each renderer process: every V8 isolate
// there (a page's, a worker's) may grow its old space to mib MiB at most.
func jsHeapLimit(mib int) browserOption {
	return func(s *browserSetup) {
		s.flags = append(s.flags, chromedp.Flag("js-flags", fmt.Sprintf("--max-old-space-size=%d", mib)))
	}
}

// checkHeapLimit fails unless the page's heap limit is the one
// jsHeapLimit set: V8 adds its young generation to the old space's limit,
// so it is a little over bigHeapMiB, and far under the default of 4 GiB.
func checkHeapLimit(t *testing.T, b *browser) {
	t.Helper()
	var limit float64
	b.eval(t, `performance.memory.jsHeapSizeLimit`, &limit)
	if limit < bigHeapMiB<<20 || limit > (bigHeapMiB+128)<<20 {
		t.Fatalf("the page's JavaScript heap limit is %.0f MiB, want about %d: --js-flags did not reach the renderer", limit/(1<<20), bigHeapMiB)
	}
	t.Logf("the page's JavaScript heap limit: %.0f MiB", limit/(1<<20))
}

// memSample is the memory of the test's browser at one point.
type memSample struct {
	at        int64  // bytes received, or saved, when it was taken
	renderers int64  // VmRSS of all the browser's renderer processes
	procs     string // every process of the browser: kind and VmRSS in MiB
	heapUsed  int64  // the tab's JavaScript heap (its main thread's isolate)
	heapTotal int64
}

// sampleMemory reads the VmRSS of each of b's Chromium processes from
// /proc and the tab's JavaScript heap from the DevTools protocol.
func sampleMemory(t *testing.T, b *browser, at int64) memSample {
	t.Helper()
	s := memSample{at: at}
	var procs []string
	for _, pid := range chromiumUsing(b.dataDir) {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		rss, ok := vmRSS(pid)
		if !ok {
			continue // it ended between the two readings
		}
		kind := processKind(string(cmdline))
		if kind == "renderer" {
			s.renderers += rss
		}
		procs = append(procs, fmt.Sprintf("%s %d", kind, rss>>20))
	}
	sort.Strings(procs)
	s.procs = strings.Join(procs, ", ")
	b.run(t, chromedp.Func(func(ctx context.Context, tab *chromedp.Target) error {
		h, err := cdp.Call(ctx, tab, cdpruntime.GetHeapUsage, cdp.Empty{})
		s.heapUsed, s.heapTotal = int64(h.UsedSize), int64(h.TotalSize)
		return err
	}))
	return s
}

// vmRSS is the resident set size of process pid, from /proc/PID/status.
func vmRSS(pid int) (int64, bool) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := bytes.CutPrefix(sc.Bytes(), []byte("VmRSS:")); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(string(v)), " kB"), 10, 64)
			return kb << 10, err == nil
		}
	}
	return 0, false
}

func logSamples(t *testing.T, what string, samples []memSample) {
	t.Helper()
	for _, s := range samples {
		t.Logf("%s, %5d MiB: renderers %4d MiB RSS, tab's JS heap %3d of %3d MiB; processes (MiB): %s",
			what, s.at>>20, s.renderers>>20, s.heapUsed>>20, s.heapTotal>>20, s.procs)
	}
}

// checkFlat fails if the renderers' memory at any sample reaches
// bigRSSBound, or if their peak over the last third of the file stands
// more than bigGrowthBound above their peak over the first third.
func checkFlat(t *testing.T, what string, samples []memSample, size int64) {
	t.Helper()
	var first, last int64 = -1, -1
	for _, s := range samples {
		if s.renderers >= bigRSSBound {
			t.Errorf("%s, at %d MiB the renderers hold %d MiB, over the bound of %d MiB", what, s.at>>20, s.renderers>>20, bigRSSBound>>20)
		}
		if s.at <= size/3 {
			first = max(first, s.renderers)
		}
		if s.at >= size-size/3 {
			last = max(last, s.renderers)
		}
	}
	if first < 0 || last < 0 {
		t.Fatalf("%s: no samples over the first or the last third of the file", what)
	}
	if last-first > bigGrowthBound {
		t.Errorf("%s, the renderers' memory grows with the bytes: a peak of %d MiB over the first third, %d MiB over the last", what, first>>20, last>>20)
	}
	t.Logf("%s: the renderers' peak was %d MiB over the first third of the file, %d MiB over the last", what, first>>20, last>>20)
}

// saveSampled clicks the page's Save link for the received file called
// name, lets Chromium download it into a folder of the test, calls sample
// each time the download has gone another step of bytes, and returns the
// SHA-256 and the size of the file that landed, hashed here as it is read.
func saveSampled(t *testing.T, b *browser, name string, step int64, sample func(at int64)) ([32]byte, int64) {
	t.Helper()
	dir := t.TempDir()
	var latest atomic.Pointer[cdpbrowser.EventDownloadProgress]
	wake := make(chan struct{}, 1)
	ctx, stop := context.WithCancel(b.ctx)
	defer stop()
	chromedp.ListenBrowser(ctx, func(ev any) {
		if e, ok := ev.(*cdpbrowser.EventDownloadProgress); ok {
			e := *e
			latest.Store(&e)
			select {
			case wake <- struct{}{}:
			default:
			}
		}
	})
	downloadInto(t, b, dir)
	b.click(t, fmt.Sprintf(`#transfers a.save[data-name=%q]`, name))
	timeout := time.After(transferPatience)
	next := step
	for {
		select {
		case <-wake:
		case <-timeout:
			t.Fatalf("the download did not end within %v", transferPatience)
		}
		e := latest.Load()
		if e.State == cdpbrowser.DownloadProgressStateInProgress {
			if at := int64(e.ReceivedBytes); at >= next {
				sample(at)
				next = (at/step + 1) * step
			}
			continue
		}
		if e.State != cdpbrowser.DownloadProgressStateCompleted {
			t.Fatalf("the download ended %s after %.0f bytes", e.State, e.ReceivedBytes)
		}
		f, err := os.Open(filepath.Join(dir, e.GUID))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		h := sha256.New()
		n, err := io.Copy(h, f)
		if err != nil {
			t.Fatal(err)
		}
		return [32]byte(h.Sum(nil)), n
	}
}
