package transfer

import (
	"bytes"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
)

// TestSDPFingerprint: the fingerprint checked is the one Pion holds DTLS
// to, not merely the first sha-256 anywhere: otherwise a peer could list a
// victim's device ID for the check and its own certificate for DTLS.
func TestSDPFingerprint(t *testing.T) {
	head := "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
	media := func(mid, fp string) string {
		s := "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:" + mid + "\r\n"
		if fp != "" {
			s += "a=fingerprint:" + fp + "\r\n"
		}
		return s
	}
	tests := []struct {
		name, sdp, want string
	}{
		{"session level first", head + "a=fingerprint:sha-512 aa:bb\r\n" + media("0", "sha-256 CC:DD"), "sha-512 AA:BB"},
		{"first of two at session level", head + "a=fingerprint:sha-1 01:02\r\na=fingerprint:sha-256 CC:DD\r\n" + media("0", ""), "sha-1 01:02"},
		{"the bundled section", head + "a=group:BUNDLE 1 0\r\n" + media("0", "sha-256 0A:0B") + media("1", "SHA-256 1a:1b"), "sha-256 1A:1B"},
		{"first section without bundle", head + media("0", "sha-256 0A:0B") + media("1", "sha-256 1A:1B"), "sha-256 0A:0B"},
		{"none", head + media("0", ""), ""},
		{"bundled section has none", head + "a=group:BUNDLE 1\r\n" + media("0", "sha-256 0A:0B") + media("1", ""), ""},
	}
	for _, tt := range tests {
		fp, err := sdpFingerprint(tt.sdp)
		if tt.want == "" {
			if err == nil {
				t.Errorf("%s: got %s; want no usable fingerprint", tt.name, fp)
			}
			continue
		}
		if err != nil || fp.String() != tt.want {
			t.Errorf("%s: got %s, %v; want %s", tt.name, fp, err, tt.want)
		}
	}
	fp, _ := sdpFingerprint(tests[0].sdp)
	if _, err := fp.deviceID(); err == nil || !strings.Contains(err.Error(), "not sha-256") {
		t.Errorf("a sha-512 fingerprint gave a device ID: %v", err)
	}
}

// rtcPair is two peer connections signalled in-process: offer, answer and
// every candidate in the descriptions (no trickle).
type rtcPair struct {
	offerer, answerer *webrtc.PeerConnection
	send, recv        *webrtc.DataChannel // the offerer's channel and the answerer's end of it
	offerSDP          string
	answerSDP         string
}

// connectPair makes a channel "x" on the offerer and connects it to the
// answerer. edit, if set, rewrites the answer before the offerer applies
// it. It fails the test unless the channel opens on both sides.
func connectPair(t *testing.T, offerer, answerer *webrtc.API, edit func(string) string) *rtcPair {
	t.Helper()
	p := &rtcPair{}
	opened := make(chan *webrtc.DataChannel, 1)
	var err error
	if p.offerer, err = offerer.NewPeerConnection(webrtc.Configuration{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.offerer.Close() })
	if p.answerer, err = answerer.NewPeerConnection(webrtc.Configuration{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.answerer.Close() })
	p.answerer.OnDataChannel(func(dc *webrtc.DataChannel) {
		dc.OnOpen(func() { opened <- dc })
	})
	if p.send, err = p.offerer.CreateDataChannel("x", nil); err != nil {
		t.Fatal(err)
	}
	open := make(chan struct{})
	p.send.OnOpen(func() { close(open) })

	p.offerSDP = describe(t, p.offerer)
	if err := p.answerer.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: p.offerSDP}); err != nil {
		t.Fatal(err)
	}
	p.answerSDP = describe(t, p.answerer)
	answer := p.answerSDP
	if edit != nil {
		answer = edit(answer)
	}
	if err := p.offerer.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(20 * time.Second)
	select {
	case <-open:
	case <-timeout:
		t.Fatalf("the offerer's channel did not open; connection %s", p.offerer.ConnectionState())
	}
	select {
	case <-timeout:
		t.Fatalf("the answerer's channel did not open; connection %s", p.answerer.ConnectionState())
	case p.recv = <-opened:
	}
	return p
}

// describe creates and sets an offer, or an answer once the remote
// description is set, and returns it when gathering is complete, so it
// lists every candidate.
func describe(t *testing.T, pc *webrtc.PeerConnection) string {
	t.Helper()
	var desc webrtc.SessionDescription
	var err error
	if pc.RemoteDescription() == nil {
		desc, err = pc.CreateOffer(nil)
	} else {
		desc, err = pc.CreateAnswer(nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(desc); err != nil {
		t.Fatal(err)
	}
	select {
	case <-gathered:
	case <-time.After(20 * time.Second):
		t.Fatal("gathering did not complete")
	}
	return pc.LocalDescription().SDP
}

// candidateAddrs returns the connection addresses of the a=candidate lines.
func candidateAddrs(sdpText string) []string {
	var addrs []string
	for _, line := range strings.Split(sdpText, "\r\n") {
		if f := strings.Fields(strings.TrimPrefix(line, "a=candidate:")); strings.HasPrefix(line, "a=candidate:") && len(f) > 4 {
			addrs = append(addrs, f[4])
		}
	}
	return addrs
}

// withoutCandidates drops the a=candidate lines of a description.
func withoutCandidates(sdpText string) string {
	lines := strings.Split(sdpText, "\r\n")
	lines = slices.DeleteFunc(lines, func(l string) bool { return strings.HasPrefix(l, "a=candidate:") })
	return strings.Join(lines, "\r\n")
}

// TestMaxMessageSize: descriptions advertise a=max-message-size of
// MaxMessageBytes, and Pion holds the sender to the remote's value (the
// chunk size reads the same number). Pion does not hold the remote to
// ours: a sender that ignores it gets a larger message through, which is
// why DecodeControl and DecodeChunk check sizes themselves. If a Pion
// upgrade starts refusing it, the comment on NewAPI needs updating.
func TestMaxMessageSize(t *testing.T) {
	api := NewAPI(testAPI())
	p := connectPair(t, api, api, nil)
	want := "a=max-message-size:" + strconv.Itoa(MaxMessageBytes) + "\r\n"
	for _, d := range []string{p.offerSDP, p.answerSDP} {
		if !strings.Contains(d, want) {
			t.Errorf("a description lacks %q:\n%s", want, d)
		}
	}
	for _, pc := range []*webrtc.PeerConnection{p.offerer, p.answerer} {
		if got := pc.SCTP().GetCapabilities().MaxMessageSize; got != MaxMessageBytes {
			t.Errorf("the SCTP transport may send messages of %d bytes, want %d", got, MaxMessageBytes)
		}
	}
	dc := p.send
	if err := dc.Send(make([]byte, MaxMessageBytes+1)); err == nil || !strings.Contains(err.Error(), "larger than maximum message size") {
		t.Errorf("sending %d bytes to a peer that accepts %d: %v", MaxMessageBytes+1, MaxMessageBytes, err)
	}
	got := receive(p)
	full := bytes.Repeat([]byte{7}, MaxMessageBytes)
	if err := dc.Send(full); err != nil {
		t.Fatal(err)
	}
	if m := <-got; !bytes.Equal(m, full) {
		t.Errorf("received %d bytes, want the %d sent", len(m), len(full))
	}

	// A peer that ignores our a=max-message-size.
	liar := connectPair(t, api, api, ignoringMaxMessageSize)
	got = receive(liar)
	big := bytes.Repeat([]byte{9}, 4*MaxMessageBytes)
	if err := liar.send.Send(big); err != nil {
		t.Fatal(err)
	}
	if m := <-got; len(m) != len(big) {
		t.Errorf("received %d bytes of a %d-byte message", len(m), len(big))
	}
}

// receive returns the messages the answerer's channel gets from now on.
func receive(p *rtcPair) <-chan []byte {
	got := make(chan []byte, 4)
	p.recv.OnMessage(func(m webrtc.DataChannelMessage) { got <- m.Data })
	return got
}

// TestResolvesMDNSCandidates: a peer that hides its host candidates behind
// <uuid>.local names, as browsers do, is reached by resolving the names,
// while our own candidates keep their addresses; remoteHost gives the name's
// peer as hostByName and ours by address. The offerer is a Pion
// that gathers mDNS candidates, standing in for a browser. It never learns
// the answerer's candidates (they are cut from the answer), so the two
// connect only if the answerer resolved a name and its checks reached the
// offerer.
func TestResolvesMDNSCandidates(t *testing.T) {
	var se webrtc.SettingEngine
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeQueryAndGather)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetIncludeLoopbackCandidate(true)
	browser := webrtc.NewAPI(webrtc.WithSettingEngine(se))

	p := connectPair(t, browser, NewAPI(testAPI()), withoutCandidates)
	hidden := candidateAddrs(p.offerSDP)
	if len(hidden) == 0 || slices.ContainsFunc(hidden, func(a string) bool { return !strings.HasSuffix(a, ".local") }) {
		t.Errorf("the browser's candidates are %q, want only .local names", hidden)
	}
	ours := candidateAddrs(p.answerSDP)
	if len(ours) == 0 || slices.ContainsFunc(ours, func(a string) bool { _, err := netip.ParseAddr(a); return err != nil }) {
		t.Errorf("our candidates are %q, want only addresses", ours)
	}
	// Pion keeps the address a name resolved to to itself, so offers from
	// such peers share one limit (Manager.admit).
	if got := remoteHost(p.answerer); got != hostByName {
		t.Errorf("the answerer sees the browser at %q, want %q", got, hostByName)
	}
	if got := remoteHost(p.offerer); got != "127.0.0.1" {
		t.Errorf("the browser sees the answerer at %q, want 127.0.0.1", got)
	}
}

func TestHostOf(t *testing.T) {
	tests := []struct{ address, want string }{
		{"192.168.1.20", "192.168.1.20"},
		{"::ffff:192.168.1.20", "192.168.1.20"},
		{"2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"},
		{"2001:db8:1:2::1", "2001:db8:1:2::/64"},
		{"fd00::1%eth0", "fd00::/64"},
		{"4f9c8e6a-1b2d-4c3e-9f00-123456789abc.local", hostByName},
	}
	for _, tt := range tests {
		if got := hostOf(tt.address); got != tt.want {
			t.Errorf("hostOf(%q) = %q, want %q", tt.address, got, tt.want)
		}
	}
}

// ignoringMaxMessageSize rewrites the a=max-message-size of a remote
// description to Pion's default of about 1 GiB, so a test sender that
// applies it behaves like a peer that ignores the limit we advertise.
func ignoringMaxMessageSize(sdpText string) string {
	lines := strings.Split(sdpText, "\r\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "a=max-message-size:") {
			lines[i] = "a=max-message-size:1073741823"
		}
	}
	return strings.Join(lines, "\r\n")
}
