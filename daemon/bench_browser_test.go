package daemon

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/profiler"
	"github.com/chromedp/chromedp"

	"github.com/ferry-dev/ferry/daemon/datadir"
	"github.com/ferry-dev/ferry/daemon/transfer"
)

// TestBenchBrowser measures a 256 MiB file between the guest page in
// headless Chromium and a daemon, both ways, over the veth pair of
// newGuestLAN, against raw TCP over loopback in the same run. It runs only
// under `make bench` (FERRY_BENCH=1) and needs what the guest LAN tests
// need: root and Chromium.
//
// Each figure is timed on the daemon's side, from when the transfer turns
// active (the receiver's accept) until it is done (every file verified by
// the receiver). With FERRY_BENCH_PROFILE=DIR it also writes a Go CPU
// profile of the test process (the daemon runs in it) and a JavaScript CPU
// profile of the page for each direction into DIR, and prints the hottest
// JavaScript functions, Chromium's busiest threads and a few timings of the
// page's parts taken in the same browser.
func TestBenchBrowser(t *testing.T) {
	if os.Getenv("FERRY_BENCH") == "" {
		t.Skip("benchmark: run with make bench")
	}
	// Other work on the machine shares its cores and slows every figure.
	load := "?"
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		load = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	profileDir := os.Getenv("FERRY_BENCH_PROFILE")
	if profileDir != "" {
		if err := os.MkdirAll(profileDir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	const size = 256 << 20
	dir := t.TempDir()
	src := filepath.Join(dir, "bench.bin")
	want := writeRandomFile(t, src, size)
	base := rawTCP(t, src, filepath.Join(dir, "tcp.out"))
	os.Remove(filepath.Join(dir, "tcp.out"))

	l := newGuestLAN(t)
	d, home := startLANDaemon(t, l, "laptop", func(c *Config) {
		c.Accept = datadir.AcceptAll
		c.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	})
	b := guestPage(t, l, home+"/")
	// Some steps here move hundreds of MiB inside the browser (the page's
	// timings, the HTTP reference), far beyond the usual step timeout.
	b.timeout = 5 * time.Minute
	id := guestID(t, b)
	b.waitText(t, "#people", "laptop")

	// Browser → daemon: the daemon accepts everything, so the transfer
	// turns active as soon as the offer is in.
	up := startRun(t, b, d, profileDir, "browser-to-daemon", func(in transfer.Info) bool {
		return in.Direction == "in" && in.Peer == id
	})
	sendFromPage(t, b, d.ID().String(), src)
	upRes := up.finish(t)
	if fileSum(t, filepath.Join(d.cfg.Downloads, upRes.info.Items[0])) != want {
		t.Fatal("the file on the daemon's disk differs from the one the page sent")
	}
	os.Remove(filepath.Join(d.cfg.Downloads, upRes.info.Items[0]))
	b.waitText(t, "#transfers", "Sent to laptop, every file verified")

	// Daemon → browser: the page's person accepts.
	out, err := transfers{d}.Send(id, []string{src})
	if err != nil {
		t.Fatal(err)
	}
	down := startRun(t, b, d, profileDir, "daemon-to-browser", func(in transfer.Info) bool { return in.ID == out })
	b.waitText(t, "#incoming", "laptop wants to send you 1 file")
	b.click(t, `#incoming [data-transfer] button.accept`)
	downRes := down.finish(t)
	b.waitText(t, "#transfers", "Received from laptop, every file verified")
	if got := saveReceived(t, b, "bench.bin"); got != want {
		t.Fatalf("the page holds a file with SHA-256 %x, the daemon sent %x", got, want)
	}

	mb := func(d time.Duration) float64 { return float64(size) / d.Seconds() / 1e6 }
	runs := []struct {
		name string
		res  runResult
	}{{"browser → daemon", upRes}, {"daemon → browser", downRes}}
	fmt.Printf("\n%d MiB random file, headless Chromium guest ↔ in-process daemon over a veth pair, %d cores (load average %s at the start)\n",
		size>>20, runtime.NumCPU(), load)
	fmt.Printf("  raw TCP baseline   %7.1f MB/s\n", mb(base))
	for _, r := range runs {
		fmt.Printf("  %s   %7.1f MB/s  (%.3f of baseline)\n", r.name, mb(r.res.elapsed), mb(r.res.elapsed)/mb(base))
	}
	for _, r := range runs {
		fmt.Printf("  CPU seconds, %s: daemon (Go) %.1f, Chromium %.1f (%s)\n", r.name,
			r.res.goCPU.Seconds(), r.res.chromium.total().Seconds(), r.res.chromium.byKind())
	}
	for _, r := range runs {
		fmt.Printf("  UDP datagrams, %s: browser's side %s; daemon's side %s\n", r.name, r.res.udpGuest, r.res.udpHost)
	}
	for _, r := range runs {
		fmt.Printf("  Stalls, %s: %d pauses of %v or more in the progress, %.1f s in all; the longest pause %.2f s\n",
			r.name, r.res.stalls, stallAfter, r.res.stalled.Seconds(), r.res.longest.Seconds())
	}
	if profileDir != "" {
		for _, r := range runs {
			fmt.Printf("\n%s: Chromium's busiest threads, CPU seconds\n", r.name)
			for _, th := range r.res.chromium.threads(8) {
				fmt.Printf("  %-40s %6.2f\n", th.name, th.cpu.Seconds())
			}
			fmt.Printf("%s: JavaScript self time in the page, of %.1f s profiled\n", r.name, r.res.js.span.Seconds())
			for _, f := range r.res.js.top {
				fmt.Printf("  %-48s %6.2f s  %4.1f%%\n", f.name, f.self.Seconds(), 100*f.self.Seconds()/r.res.js.span.Seconds())
			}
		}
		pageParts(t, b, src)
		httpReference(t, b, l, src, want)
		fmt.Printf("\nprofiles in %s (go tool pprof -top FILE.pprof; a .cpuprofile opens in DevTools)\n", profileDir)
	}
}

// benchRun is one timed transfer being watched: the readings taken before
// it started, the profile being written, and where its result arrives.
type benchRun struct {
	b          *browser
	name       string
	profileDir string
	goCPU      time.Duration
	chromium   chromiumCPU
	goProf     *os.File
	udpHost    udpCounts
	udpGuest   udpCounts
	result     chan runResult
}

// stallAfter is the shortest pause in progress counted as a stall: the
// receiver reports progress every MiB, so a pause this long at a few MB/s
// means nothing moved.
const stallAfter = time.Second

// runResult is what one timed transfer took.
type runResult struct {
	info     transfer.Info
	elapsed  time.Duration // from active to done
	goCPU    time.Duration // of this process, which runs the daemon
	chromium chromiumCPU   // of Chromium's processes over the run
	js       jsProfile
	// Pauses in the receiver's progress (Info.Done) of stallAfter or more:
	// how many, their sum, and the longest pause of any length.
	stalls           int
	stalled, longest time.Duration
	// UDP counters of this network namespace (shared with anything else
	// on the machine) and of the browser's, over the run.
	udpHost, udpGuest udpCounts
}

// startRun starts watching the daemon for the first of its transfers that
// match accepts and, with a profile folder, starts the profilers. Call it
// before the action that starts the transfer.
func startRun(t *testing.T, b *browser, d *Daemon, profileDir, name string, match func(transfer.Info) bool) *benchRun {
	t.Helper()
	r := &benchRun{b: b, name: name, profileDir: profileDir, result: make(chan runResult, 1)}
	if profileDir != "" {
		f, err := os.Create(filepath.Join(profileDir, name+".go.pprof"))
		if err != nil {
			t.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pprof.StopCPUProfile) // if the test fails before finish
		r.goProf = f
		b.run(t, chromedp.Func(func(ctx context.Context, tab *chromedp.Target) error {
			if _, err := cdp.Call(ctx, tab, profiler.Enable, cdp.Empty{}); err != nil {
				return err
			}
			if _, err := cdp.Call(ctx, tab, profiler.SetSamplingInterval, profiler.SetSamplingIntervalParams{Interval: 500}); err != nil {
				return err
			}
			_, err := cdp.Call(ctx, tab, profiler.Start, cdp.Empty{})
			return err
		}))
	}
	r.goCPU = processCPU()
	r.chromium = chromiumCPUOf(b.dataDir)
	r.udpHost, r.udpGuest = readUDP("/proc/self/net/snmp"), readUDP(browserSNMP(b))
	go func() {
		var res runResult
		var active, lastMove time.Time
		var lastDone int64
		timeout := time.After(10 * time.Minute)
		for {
			changed := d.manager.Changed()
			for _, in := range d.manager.List() {
				if !match(in) {
					continue
				}
				now := time.Now()
				if active.IsZero() && in.State == transfer.StateActive {
					active, lastMove, lastDone = now, now, in.Done
				}
				if !active.IsZero() && in.Done > lastDone {
					gap := now.Sub(lastMove)
					res.longest = max(res.longest, gap)
					if gap >= stallAfter {
						res.stalls++
						res.stalled += gap
					}
					lastMove, lastDone = now, in.Done
				}
				if in.State.Final() {
					res.info = in
					if !active.IsZero() {
						res.elapsed = now.Sub(active)
					}
					r.result <- res
					return
				}
			}
			select {
			case <-changed:
			case <-timeout:
				r.result <- res
				return
			}
		}
	}()
	return r
}

// finish waits for the transfer to end, checks that it is done, and stops
// the profilers.
func (r *benchRun) finish(t *testing.T) runResult {
	t.Helper()
	res := <-r.result
	res.goCPU = processCPU() - r.goCPU
	res.chromium = chromiumCPUOf(r.b.dataDir).since(r.chromium)
	res.udpHost = readUDP("/proc/self/net/snmp").since(r.udpHost)
	res.udpGuest = readUDP(browserSNMP(r.b)).since(r.udpGuest)
	if r.goProf != nil {
		pprof.StopCPUProfile()
		r.goProf.Close()
		var p *profiler.Profile
		r.b.run(t, chromedp.Func(func(ctx context.Context, tab *chromedp.Target) error {
			stop, err := cdp.Call(ctx, tab, profiler.Stop, cdp.Empty{})
			p = stop.Profile
			return err
		}))
		if p != nil {
			raw, _ := json.Marshal(p)
			if err := os.WriteFile(filepath.Join(r.profileDir, r.name+".js.cpuprofile"), raw, 0o644); err != nil {
				t.Fatal(err)
			}
			res.js = summarize(p, 12)
		}
	}
	if res.info.ID == "" {
		t.Fatalf("%s: no transfer ended within 10 minutes", r.name)
	}
	if res.info.State != transfer.StateDone || res.elapsed == 0 {
		t.Fatalf("%s: the transfer ended %s %s (active for %v)", r.name, res.info.State, res.info.Error, res.elapsed)
	}
	return res
}

// processCPU is the user and system CPU time of this process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// udpCounts are a network namespace's UDP counters from /proc/net/snmp.
type udpCounts struct{ in, out, rcvbufErrors int64 }

func (u udpCounts) since(earlier udpCounts) udpCounts {
	return udpCounts{u.in - earlier.in, u.out - earlier.out, u.rcvbufErrors - earlier.rcvbufErrors}
}

func (u udpCounts) String() string {
	return fmt.Sprintf("in %d, out %d, dropped at a full receive buffer %d", u.in, u.out, u.rcvbufErrors)
}

// readUDP reads the Udp lines of an snmp file: a line of names, then one
// of values.
func readUDP(path string) udpCounts {
	b, _ := os.ReadFile(path)
	var names []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "Udp:" {
			continue
		}
		if names == nil {
			names = f
			continue
		}
		var u udpCounts
		for i := 1; i < len(f) && i < len(names); i++ {
			v, _ := strconv.ParseInt(f[i], 10, 64)
			switch names[i] {
			case "InDatagrams":
				u.in = v
			case "OutDatagrams":
				u.out = v
			case "RcvbufErrors":
				u.rcvbufErrors = v
			}
		}
		return u
	}
	return udpCounts{}
}

// browserSNMP is the snmp file of the browser's network namespace, seen
// through its first process.
func browserSNMP(b *browser) string {
	return fmt.Sprintf("/proc/%d/net/snmp", chromedp.FromContext(b.ctx).Browser.Process().Pid)
}

// chromiumCPU is the CPU time of a Chromium's processes, by process ID.
type chromiumCPU map[int]procCPU

// procCPU is one process's CPU time: its kind (browser, renderer,
// gpu-process, or a utility's service name) and its threads' times by
// thread name (threads of one name summed).
type procCPU struct {
	kind    string
	threads map[string]time.Duration
}

func (p procCPU) total() time.Duration {
	var n time.Duration
	for _, d := range p.threads {
		n += d
	}
	return n
}

// chromiumCPUOf reads /proc for every process of the Chromium with the
// profile folder dir, and each of its threads. A thread or process that
// ends between two readings is not counted.
func chromiumCPUOf(dir string) chromiumCPU {
	c := chromiumCPU{}
	for _, pid := range chromiumUsing(dir) {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		p := procCPU{kind: processKind(string(cmdline)), threads: map[string]time.Duration{}}
		tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
		for _, task := range tasks {
			name, cpu, ok := taskCPU(fmt.Sprintf("/proc/%d/task/%s/stat", pid, task.Name()))
			if ok {
				p.threads[name] += cpu
			}
		}
		c[pid] = p
	}
	return c
}

// processKind is the --type of a Chromium process's command line (its
// arguments may be separated by NULs or spaces), the service's name for a
// utility process, and "browser" for the process without one.
func processKind(cmdline string) string {
	args := strings.FieldsFunc(cmdline, func(r rune) bool { return r == 0 || r == ' ' })
	kind := "browser"
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--type="); ok {
			kind = v
		}
	}
	if kind == "utility" {
		for _, a := range args {
			if v, ok := strings.CutPrefix(a, "--utility-sub-type="); ok {
				kind = v[strings.LastIndex(v, ".")+1:]
			}
		}
	}
	return kind
}

// taskCPU reads a thread's name and its user plus system time from a
// /proc stat file, whose times are in clock ticks of 1/100 s on Linux.
func taskCPU(path string) (string, time.Duration, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", 0, false
	}
	s := string(b)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return "", 0, false
	}
	f := strings.Fields(s[end+1:])
	if len(f) < 13 {
		return "", 0, false
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return "", 0, false
	}
	return s[open+1 : end], time.Duration(utime+stime) * 10 * time.Millisecond, true
}

// since is what the processes spent after the earlier reading.
func (c chromiumCPU) since(earlier chromiumCPU) chromiumCPU {
	out := chromiumCPU{}
	for pid, p := range c {
		q := procCPU{kind: p.kind, threads: map[string]time.Duration{}}
		for name, d := range p.threads {
			q.threads[name] = d - earlier[pid].threads[name]
		}
		out[pid] = q
	}
	return out
}

func (c chromiumCPU) total() time.Duration {
	var n time.Duration
	for _, p := range c {
		n += p.total()
	}
	return n
}

// byKind lists the CPU seconds of each kind of process that used any,
// busiest first.
func (c chromiumCPU) byKind() string {
	kinds := map[string]time.Duration{}
	for _, p := range c {
		kinds[p.kind] += p.total()
	}
	type kv struct {
		k string
		v time.Duration
	}
	var list []kv
	for k, v := range kinds {
		if v >= 50*time.Millisecond {
			list = append(list, kv{k, v})
		}
	}
	slices.SortFunc(list, func(a, b kv) int { return cmp.Or(cmp.Compare(b.v, a.v), cmp.Compare(a.k, b.k)) })
	parts := make([]string, len(list))
	for i, e := range list {
		parts[i] = fmt.Sprintf("%s %.1f", e.k, e.v.Seconds())
	}
	return strings.Join(parts, ", ")
}

type namedCPU struct {
	name string
	cpu  time.Duration
}

// threads returns the n busiest threads, named kind/thread.
func (c chromiumCPU) threads(n int) []namedCPU {
	sum := map[string]time.Duration{}
	for _, p := range c {
		for name, d := range p.threads {
			sum[p.kind+"/"+name] += d
		}
	}
	var list []namedCPU
	for k, v := range sum {
		list = append(list, namedCPU{k, v})
	}
	slices.SortFunc(list, func(a, b namedCPU) int { return cmp.Or(cmp.Compare(b.cpu, a.cpu), cmp.Compare(a.name, b.name)) })
	return list[:min(n, len(list))]
}

// jsProfile is the hottest functions of a V8 CPU profile by self time.
type jsProfile struct {
	span time.Duration
	top  []jsFunc
}

type jsFunc struct {
	name string // function file:line, or V8's (program), (idle), (garbage collector)
	self time.Duration
}

// summarize adds up the time of each sample to the function on top of the
// stack, by name and place.
func summarize(p *profiler.Profile, n int) jsProfile {
	names := map[int64]string{}
	for _, node := range p.Nodes {
		f := node.CallFrame
		name := f.FunctionName
		if name == "" {
			name = "(anonymous)"
		}
		if f.URL != "" {
			u := f.URL
			if i := strings.Index(u, "/js/"); i >= 0 {
				u = u[i+1:]
			}
			name = fmt.Sprintf("%s %s:%d", name, u, f.LineNumber+1)
		}
		names[node.ID] = name
	}
	self := map[string]time.Duration{}
	for i, id := range p.Samples {
		if i+1 < len(p.TimeDeltas) {
			// A sample lasts until the next one.
			self[names[id]] += time.Duration(p.TimeDeltas[i+1]) * time.Microsecond
		}
	}
	var out jsProfile
	out.span = time.Duration(p.EndTime-p.StartTime) * time.Microsecond
	for k, v := range self {
		out.top = append(out.top, jsFunc{k, v})
	}
	slices.SortFunc(out.top, func(a, b jsFunc) int { return cmp.Or(cmp.Compare(b.self, a.self), cmp.Compare(a.name, b.name)) })
	out.top = out.top[:min(n, len(out.top))]
	return out
}

// pageParts times, in the page, the pieces the engine's loops are made of,
// each alone: reading the picked file in 1 MiB slices, SHA-256 over 64 KiB
// updates, copying a chunk's payload, and making one Blob of 64 KiB parts
// as incoming.js does when a file is complete.
func pageParts(t *testing.T, b *browser, src string) {
	t.Helper()
	b.eval(t, `(() => {
		const input = document.createElement('input');
		input.type = 'file';
		input.id = 'bench-file';
		input.hidden = true;
		document.body.append(input);
	})()`, nil)
	b.run(t, chromedp.SetUploadFiles(chromedp.CSS("#bench-file"), []string{src}, chromedp.NodeReady))
	var parts map[string]float64
	b.eval(t, `(async () => {
		const { Sha256 } = await import('/js/sha256.js');
		const file = document.getElementById('bench-file').files[0];
		const out = {};
		const mbps = (bytes, ms) => bytes / ms / 1e3;
		let t0;
		for (const mib of [1, 4, 16]) {
			t0 = performance.now();
			for (let p = 0; p < file.size; p += mib << 20) await file.slice(p, Math.min(file.size, p + (mib << 20))).arrayBuffer();
			out['read the picked file, ' + mib + ' MiB slices'] = mbps(file.size, performance.now() - t0);
		}

		const buf = new Uint8Array(64 << 20);
		for (let p = 0; p < buf.length; p += 65536) crypto.getRandomValues(buf.subarray(p, p + 65536));
		t0 = performance.now();
		const h = new Sha256();
		for (let p = 0; p < buf.length; p += 65524) h.update(buf.subarray(p, Math.min(buf.length, p + 65524)));
		h.hex();
		out['SHA-256 (sha256.js), 64 KiB updates'] = mbps(buf.length, performance.now() - t0);

		t0 = performance.now();
		const parts = [];
		for (let p = 0; p < buf.length; p += 65524) parts.push(buf.subarray(p, Math.min(buf.length, p + 65524)).slice());
		out['copy each 64 KiB payload (slice)'] = mbps(buf.length, performance.now() - t0);

		while (parts.length * 65524 < file.size) parts.push(parts[parts.length % 1024].slice());
		t0 = performance.now();
		const blob = new Blob(parts);
		out['new Blob of 256 MiB in 64 KiB parts'] = mbps(blob.size, performance.now() - t0);
		return out;
	})()`, &parts)
	fmt.Printf("\nthe page's parts alone, in the same Chromium, MB/s\n")
	keys := make([]string, 0, len(parts))
	for k := range parts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Printf("  %-40s %8.1f\n", k, parts[k])
	}
}

// httpReference moves the same file over plain HTTP between the same
// Chromium and a server on the daemon's LAN address, from a page of that
// server: what this machine gives a browser without WebRTC. It navigates
// the tab away from the guest page.
func httpReference(t *testing.T, b *browser, l *guestLAN, src string, want [32]byte) {
	t.Helper()
	ln, err := net.Listen("tcp", l.hostAddr+":0")
	if err != nil {
		t.Fatal(err)
	}
	sums := make(chan [32]byte, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<!doctype html><title>reference</title><input type=file id=bench-file>")
	})
	mux.HandleFunc("POST /up", func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		io.Copy(h, r.Body)
		sums <- [32]byte(h.Sum(nil))
	})
	mux.HandleFunc("GET /down", func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, src) })
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	defer srv.Close()
	b.open(t, "http://"+ln.Addr().String()+"/")
	b.run(t, chromedp.SetUploadFiles(chromedp.CSS("#bench-file"), []string{src}, chromedp.NodeReady))
	var ms struct{ Up, Down, Size float64 }
	b.eval(t, `(async () => {
		const file = document.getElementById('bench-file').files[0];
		let t0 = performance.now();
		await fetch('/up', { method: 'POST', body: file });
		const up = performance.now() - t0;
		t0 = performance.now();
		const buf = await (await fetch('/down')).arrayBuffer();
		return { up, down: performance.now() - t0, size: buf.byteLength };
	})()`, &ms)
	if got := <-sums; got != want {
		t.Fatalf("the HTTP upload arrived with SHA-256 %x, want %x", got, want)
	}
	fi, err := os.Stat(src)
	if err != nil {
		t.Fatal(err)
	}
	if int64(ms.Size) != fi.Size() {
		t.Fatalf("the HTTP download was %.0f bytes, want %d", ms.Size, fi.Size())
	}
	mbps := func(ms float64) float64 { return float64(fi.Size()) / ms / 1e3 }
	fmt.Printf("\nplain HTTP, same Chromium, same veth pair (no WebRTC, no SHA-256 in the page)\n")
	fmt.Printf("  upload (fetch POST of the picked file)   %7.1f MB/s\n", mbps(ms.Up))
	fmt.Printf("  download (fetch into an ArrayBuffer)     %7.1f MB/s\n", mbps(ms.Down))
}
