package daemon

import (
	"bufio"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-dev/ferry/daemon/datadir"
)

// TestBenchTransfer measures ferry against raw TCP on loopback: a 1 GiB
// random file (FERRY_BENCH_MIB to change it) sent FERRY_BENCH_RUNS times
// (default 3), interleaved with raw TCP into a file, and the medians. It
// runs only under `make bench` (FERRY_BENCH=1), with the binary that target
// builds; FERRY_BENCH_OTHER names another ferry binary to measure in the
// same rounds, for a before and after.
func TestBenchTransfer(t *testing.T) {
	if os.Getenv("FERRY_BENCH") == "" {
		t.Skip("benchmark: run with make bench")
	}
	bin, _ := filepath.Abs("../bin/ferry")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%s missing: run make bench", bin)
	}
	bins := []string{bin}
	if other := os.Getenv("FERRY_BENCH_OTHER"); other != "" {
		bins = append(bins, other)
	}
	size := int64(envInt("FERRY_BENCH_MIB", 1024)) << 20
	runs := envInt("FERRY_BENCH_RUNS", 3)
	dir := t.TempDir()
	src := filepath.Join(dir, "random.bin")
	want := writeRandomFile(t, src, size)
	var tcp []float64
	results := make([][]benchResult, len(bins))
	for range runs {
		tcp = append(tcp, float64(size)/rawTCP(t, src, filepath.Join(dir, "tcp.out")).Seconds()/1e6)
		os.Remove(filepath.Join(dir, "tcp.out"))
		for i, b := range bins {
			results[i] = append(results[i], ferryRun(t, b, src, want))
		}
	}
	gib := float64(size) / (1 << 30)
	base := median(tcp)
	fmt.Printf("\n%d MiB random file, loopback, %d cores, median of %d runs\n", size>>20, runtime.NumCPU(), runs)
	fmt.Printf("  raw TCP to file       %7.1f MB/s\n", base)
	for i, b := range bins {
		var mbs, scpu, rcpu []float64
		var rss int64
		for _, r := range results[i] {
			mbs = append(mbs, float64(size)/r.elapsed.Seconds()/1e6)
			scpu = append(scpu, r.senderCPU.Seconds()/gib)
			rcpu = append(rcpu, r.receiverCPU.Seconds()/gib)
			rss = max(rss, r.receiverRSS)
		}
		fmt.Printf("  %s\n", b)
		fmt.Printf("    ferry               %7.1f MB/s (%.1f–%.1f), %.3f of raw TCP\n", median(mbs), slices.Min(mbs), slices.Max(mbs), median(mbs)/base)
		fmt.Printf("    CPU-s per GiB       sender %.1f, receiver %.1f, both %.1f\n", median(scpu), median(rcpu), median(scpu)+median(rcpu))
		fmt.Printf("    receiver peak RSS   %.1f MiB\n", float64(rss)/(1<<20))
		if rss > 100<<20 {
			t.Errorf("%s: receiver peak RSS %d MiB is over 100 MiB", b, rss>>20)
		}
	}
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

func median(v []float64) float64 {
	s := slices.Sorted(slices.Values(v))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func writeRandomFile(t *testing.T, path string, size int64) [32]byte {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rng := rand.NewChaCha8([32]byte{1})
	h := sha256.New()
	w := bufio.NewWriterSize(io.MultiWriter(f, h), 1<<20)
	if _, err := io.CopyN(w, rng, size); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	return [32]byte(h.Sum(nil))
}

// rawTCP copies the file over a loopback TCP connection into another file
// and returns how long it took.
func rawTCP(t *testing.T, src, dst string) time.Duration {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		out, err := os.Create(dst)
		if err != nil {
			done <- err
			return
		}
		_, err = io.Copy(out, c)
		if err == nil {
			err = out.Sync()
		}
		out.Close()
		done <- err
	}()
	start := time.Now()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	in, _ := os.Open(src)
	io.Copy(c, in)
	in.Close()
	c.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return time.Since(start)
}

type benchResult struct {
	elapsed                time.Duration
	senderCPU, receiverCPU time.Duration
	receiverRSS            int64
}

// peakRSS returns VmHWM, the peak resident size of a running process.
func peakRSS(t *testing.T, pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("reading the receiver's peak memory: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("reading the receiver's peak memory from %q: %v", line, err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}

func ferryRun(t *testing.T, bin, src string, want [32]byte) benchResult {
	dir := t.TempDir()
	start := func(name string, extra ...string) (*exec.Cmd, string) {
		data := filepath.Join(dir, name)
		args := append([]string{"run", "--data-dir", data, "--downloads", filepath.Join(data, "dl"), "--port", "0", "--name", name, "--interfaces", "lo", "--log-level", "warn"}, extra...)
		cmd := exec.Command(bin, args...)
		out, _ := cmd.StdoutPipe()
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		bufio.NewReader(out).ReadString('\n')
		go io.Copy(io.Discard, out)
		b, _ := os.ReadFile(filepath.Join(data, datadir.APIFile))
		var info datadir.APIInfo
		json.Unmarshal(b, &info)
		return cmd, info.Addr
	}
	sender, _ := start("sender")
	receiver, addr := start("receiver", "--accept", "all")
	begin := time.Now()
	out, err := exec.Command(bin, "send", "--data-dir", filepath.Join(dir, "sender"), "--to", addr, src).CombinedOutput()
	elapsed := time.Since(begin)
	if err != nil {
		t.Fatalf("ferry send: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "every file verified") {
		t.Fatalf("ferry send said:\n%s", out)
	}
	var r benchResult
	r.elapsed = elapsed
	// The receiver's own peak, read before it exits: rusage's Maxrss for a
	// child also counts the test process it was started from, because Linux
	// keeps the larger of the two address spaces' peaks across exec.
	r.receiverRSS = peakRSS(t, receiver.Process.Pid)
	for i, cmd := range []*exec.Cmd{sender, receiver} {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		if i == 0 {
			r.senderCPU = cpu
		} else {
			r.receiverCPU = cpu
		}
	}
	got := filepath.Join(dir, "receiver", "dl", filepath.Base(src))
	f, err := os.Open(got)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	io.Copy(h, f)
	f.Close()
	if [32]byte(h.Sum(nil)) != want {
		t.Fatal("received file differs")
	}
	os.Remove(got)
	return r
}
