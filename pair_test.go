package main

import (
	"io"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-dev/ferry/daemon/pair"
	"github.com/ferry-dev/ferry/daemon/transfer"
	"github.com/pion/webrtc/v4"
)

// startPair starts `ferry pair` with args and a pipe to its stdin.
func startPair(t *testing.T, bin string, args ...string) (*output, io.WriteCloser) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"pair"}, args...)...)
	out := &output{more: make(chan struct{}), exited: make(chan struct{}), args: "ferry pair " + strings.Join(args, " ")}
	cmd.Stdout, cmd.Stderr = out, out
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		out.err = cmd.Wait()
		close(out.exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-out.exited
	})
	return out, stdin
}

var pairText = regexp.MustCompile(`FERRY-PAIR-1:[A-Za-z0-9_-]+`)

// pionGuest plays a browser's side of a pairing with a Pion peer
// connection: the negotiated ferry-hub channel, texts with ICE gathering
// complete, and a guest's hello once the channel opens.
type pionGuest struct {
	t    *testing.T
	pc   *webrtc.PeerConnection
	open chan struct{} // closed when ferry-hub opens
}

func newPionGuest(t *testing.T) *pionGuest {
	t.Helper()
	rtc := transfer.NewAPI(transfer.RTCConfig{InterfaceFilter: func(name string) bool { return name == "lo" }, Loopback: true})
	pc, err := rtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	negotiated, ordered, id := true, true, uint16(0)
	dc, err := pc.CreateDataChannel(pair.HubLabel, &webrtc.DataChannelInit{Negotiated: &negotiated, ID: &id, Ordered: &ordered})
	if err != nil {
		t.Fatal(err)
	}
	g := &pionGuest{t: t, pc: pc, open: make(chan struct{})}
	var once sync.Once
	dc.OnOpen(func() {
		once.Do(func() { close(g.open) })
		dc.SendText(`{"v":1,"type":"hello","from":"cli-paired-guest","name":"Test Phone","kind":"guest"}`)
	})
	return g
}

// text sets desc as the local description and returns its pairing text.
func (g *pionGuest) text(desc webrtc.SessionDescription, err error, role string) string {
	g.t.Helper()
	if err != nil {
		g.t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(g.pc)
	if err := g.pc.SetLocalDescription(desc); err != nil {
		g.t.Fatal(err)
	}
	<-gathered
	mine := pair.Info{Role: role, ID: "cli-paired-guest", Name: "Test Phone", Kind: pair.KindGuest}
	if err := mine.FromDescription(g.pc.LocalDescription().SDP); err != nil {
		g.t.Fatal(err)
	}
	text, err := pair.Encode(mine)
	if err != nil {
		g.t.Fatal(err)
	}
	return text
}

// remote sets the description a pairing text rebuilds.
func (g *pionGuest) remote(text string, typ webrtc.SDPType) {
	g.t.Helper()
	info, err := pair.Decode(text)
	if err != nil {
		g.t.Fatal(err)
	}
	if err := g.pc.SetRemoteDescription(webrtc.SessionDescription{Type: typ, SDP: info.SDP()}); err != nil {
		g.t.Fatal(err)
	}
}

func (g *pionGuest) answer(offer string) string {
	g.remote(offer, webrtc.SDPTypeOffer)
	a, err := g.pc.CreateAnswer(nil)
	return g.text(a, err, pair.RoleAnswer)
}

func (g *pionGuest) offer() string {
	o, err := g.pc.CreateOffer(nil)
	return g.text(o, err, pair.RoleOffer)
}

func (g *pionGuest) opened() {
	g.t.Helper()
	select {
	case <-g.open:
	case <-time.After(10 * time.Second):
		g.t.Fatal("the daemon said paired, but ferry-hub is not open on the other side")
	}
}

// TestPairCommand: `ferry pair --offer` against a real daemon prints an
// offer and its QR code, takes the answer of a Pion peer on stdin and says
// "Paired with" its name once the channel is open; `ferry pair --answer`
// does the same the other way. Texts that are not what is asked for are
// refused in words.
func TestPairCommand(t *testing.T) {
	bin := buildFerry(t)
	d := startDaemon(t, bin, "desk")

	out, stdin := startPair(t, bin, "--offer", "--data-dir", d.dir)
	out.await(t, "Paste the other device's answer")
	offer := pairText.FindString(out.String())
	if offer == "" || !strings.Contains(out.String(), "█") {
		t.Fatalf("no offer text and QR code in:\n%s", out.String())
	}
	g := newPionGuest(t)
	io.WriteString(stdin, "\n"+g.answer(offer)+"\n")
	out.await(t, "Paired with Test Phone.")
	if err := out.wait(t); err != nil {
		t.Fatalf("ferry pair: %v\n%s", err, out.String())
	}
	g.opened()

	// The other way: the browser offers, given on stdin.
	g = newPionGuest(t)
	out, stdin = startPair(t, bin, "--answer", "--data-dir", d.dir)
	out.await(t, "Paste the other device's offer")
	io.WriteString(stdin, g.offer()+"\n")
	out.await(t, "Give this answer to the other device")
	g.remote(pairText.FindString(out.String()), webrtc.SDPTypeAnswer)
	out.await(t, "Paired with Test Phone.")
	if err := out.wait(t); err != nil {
		t.Fatalf("ferry pair: %v\n%s", err, out.String())
	}
	g.opened()

	out, stdin = startPair(t, bin, "--offer", "--no-qr", "--data-dir", d.dir)
	out.await(t, "Paste the other device's answer")
	if strings.Contains(out.String(), "█") {
		t.Fatalf("--no-qr drew a QR code:\n%s", out.String())
	}
	io.WriteString(stdin, pairText.FindString(out.String())+"\n")
	out.await(t, "the answer was not taken: not a pairing text: this is an offer")
	if out.wait(t) == nil {
		t.Fatal("ferry pair exited 0 after a bad answer")
	}

	out, stdin = startPair(t, bin, "--offer", "--no-qr", "--data-dir", d.dir)
	out.await(t, "Paste the other device's answer")
	io.WriteString(stdin, "hello\n")
	out.await(t, "does not start with FERRY-PAIR-1:")
	out.wait(t)

	out, _ = startPair(t, bin, "--answer", "--data-dir", d.dir, "FERRY-PAIR-1:e30")
	out.await(t, "the offer was not taken: not a pairing text: field r is missing")
	out.wait(t)
}
