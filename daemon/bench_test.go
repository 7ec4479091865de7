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
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-dev/ferry/daemon/datadir"
)

// TestBenchTransfer measures ferry against raw TCP on loopback. It runs only
// under `make bench` (FERRY_BENCH=1), with the binary that target builds.
func TestBenchTransfer(t *testing.T) {
	if os.Getenv("FERRY_BENCH") == "" {
		t.Skip("benchmark: run with make bench")
	}
	bin, _ := filepath.Abs("../bin/ferry")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%s missing: run make bench", bin)
	}
	dir := t.TempDir()
	for _, size := range []int64{1 << 30, 4 << 30} {
		src := filepath.Join(dir, fmt.Sprintf("random-%d.bin", size))
		want := writeRandomFile(t, src, size)
		base := rawTCP(t, src, filepath.Join(dir, "tcp.out"))
		os.Remove(filepath.Join(dir, "tcp.out"))
		r := ferryRun(t, bin, src, want)
		mb := func(d time.Duration) float64 { return float64(size) / d.Seconds() / 1e6 }
		fmt.Printf("\n%d MiB random file, loopback, 2 cores\n", size>>20)
		fmt.Printf("  raw TCP baseline   %7.1f MB/s\n", mb(base))
		fmt.Printf("  ferry              %7.1f MB/s  (%.2f of baseline)\n", mb(r.elapsed), mb(r.elapsed)/mb(base))
		fmt.Printf("  CPU seconds        sender %.1f, receiver %.1f\n", r.senderCPU.Seconds(), r.receiverCPU.Seconds())
		fmt.Printf("  receiver peak RSS  %.1f MiB\n", float64(r.receiverRSS)/(1<<20))
		if r.receiverRSS > 100<<20 {
			t.Errorf("receiver peak RSS %d MiB is over 100 MiB", r.receiverRSS>>20)
		}
		os.Remove(src)
	}
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
	for i, cmd := range []*exec.Cmd{sender, receiver} {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		if i == 0 {
			r.senderCPU = cpu
		} else {
			r.receiverCPU, r.receiverRSS = cpu, ru.Maxrss*1024
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
