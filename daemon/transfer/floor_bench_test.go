//go:build unix

package transfer

import (
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// TestBenchPionFloor measures what Pion's data channels cost by themselves,
// with none of ferry's work on top: no files, no hashing, no protocol. Two
// peer connections in this process send FERRY_BENCH_MIB MiB (default 1024)
// of 64 KiB messages to a receiver that drops them, with the sender's
// backpressure marks. CPU is this process's, so it counts both ends, as the
// daemon benchmark adds its two daemons. Raw TCP over loopback in the same
// run is the baseline. It runs only under make bench (FERRY_BENCH=1).
func TestBenchPionFloor(t *testing.T) {
	if os.Getenv("FERRY_BENCH") == "" {
		t.Skip("set FERRY_BENCH=1 (make bench) to run the benchmark")
	}
	size := int64(1024) << 20
	if v, err := strconv.Atoi(os.Getenv("FERRY_BENCH_MIB")); err == nil && v > 0 {
		size = int64(v) << 20
	}
	stock := func() *webrtc.API {
		var se webrtc.SettingEngine
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
		se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
		se.SetIncludeLoopbackCandidate(true)
		return webrtc.NewAPI(webrtc.WithSettingEngine(se))
	}
	tuned := func() *webrtc.API { return NewAPI(testAPI()) }

	tcp := floorTCP(t, size)
	t.Logf("raw TCP over loopback: %.1f MB/s, %.1f CPU-s per GiB", tcp.mbps, tcp.cpuPerGiB)
	for _, c := range []struct {
		name  string
		api   func() *webrtc.API
		assoc int
	}{
		{"Pion defaults", stock, 1},
		{"ferry's settings", tuned, 1},
		{"ferry's settings, 2 associations", tuned, 2},
	} {
		r := floorPion(t, c.api, c.assoc, size)
		t.Logf("%s: %.1f MB/s (ratio %.3f), %.1f CPU-s per GiB", c.name, r.mbps, r.mbps/tcp.mbps, r.cpuPerGiB)
	}
}

type floorResult struct{ mbps, cpuPerGiB float64 }

func cpuTime(t *testing.T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func floorMeasure(t *testing.T, size int64, run func()) floorResult {
	cpu0, t0 := cpuTime(t), time.Now()
	run()
	wall, cpu := time.Since(t0), cpuTime(t)-cpu0
	gib := float64(size) / (1 << 30)
	return floorResult{float64(size) / 1e6 / wall.Seconds(), cpu.Seconds() / gib}
}

func floorTCP(t *testing.T, size int64) floorResult {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan int64, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- 0
			return
		}
		defer c.Close()
		n, _ := io.Copy(io.Discard, c)
		got <- n
	}()
	return floorMeasure(t, size, func() {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, MaxMessageBytes)
		for sent := int64(0); sent < size; sent += int64(len(buf)) {
			if _, err := c.Write(buf); err != nil {
				t.Fatal(err)
			}
		}
		c.Close()
		if n := <-got; n != size {
			t.Fatalf("TCP carried %d bytes of %d", n, size)
		}
	})
}

// floorPion sends size bytes split evenly over assoc peer connections, each
// with one channel, and returns when every byte has arrived.
func floorPion(t *testing.T, api func() *webrtc.API, assoc int, size int64) floorResult {
	pairs := make([]*rtcPair, assoc)
	arrived := make([]chan struct{}, assoc)
	share := size / int64(assoc)
	for i := range pairs {
		pairs[i] = connectPair(t, api(), api(), nil)
		done, left := make(chan struct{}), share
		arrived[i] = done
		pairs[i].recv.OnMessage(func(m webrtc.DataChannelMessage) {
			if left -= int64(len(m.Data)); left == 0 {
				close(done)
			}
		})
	}
	r := floorMeasure(t, share*int64(assoc), func() {
		var wg sync.WaitGroup
		for i, p := range pairs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				floorSend(t, p.send, share)
				<-arrived[i]
			}()
		}
		wg.Wait()
	})
	for _, p := range pairs {
		p.offerer.Close()
		p.answerer.Close()
	}
	return r
}

func floorSend(t *testing.T, dc *webrtc.DataChannel, size int64) {
	low := make(chan struct{}, 1)
	dc.SetBufferedAmountLowThreshold(bufferLow)
	dc.OnBufferedAmountLow(func() {
		select {
		case low <- struct{}{}:
		default:
		}
	})
	buf := make([]byte, MaxMessageBytes)
	for sent := int64(0); sent < size; {
		n := min(int64(len(buf)), size-sent)
		for dc.BufferedAmount() > bufferHigh {
			<-low
		}
		if err := dc.Send(buf[:n]); err != nil {
			t.Error(err)
			return
		}
		sent += n
	}
}
