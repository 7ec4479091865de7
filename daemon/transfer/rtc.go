package transfer

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/ferry-dev/ferry/daemon/identity"
	"github.com/ferry-dev/ferry/daemon/signal"
	"github.com/pion/ice/v4"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// RTCConfig is the WebRTC profile of every peer connection a daemon makes
// or answers, with another daemon or with a browser guest.
type RTCConfig struct {
	// InterfaceFilter, if set, reports whether ICE may gather on the
	// network interface called name; nil allows every interface. Which
	// interfaces lead to other devices is the caller's knowledge (package
	// discovery keeps it), not this package's. It also bounds where
	// <uuid>.local names are asked for.
	InterfaceFilter func(name string) bool
	// Loopback gathers loopback candidates too, which only tests and two
	// daemons on one computer need.
	Loopback bool
}

// MaxMessageBytes is the largest data channel message a daemon accepts,
// and so the a=max-message-size its descriptions advertise (RFC 8841
// section 6): the largest message of the file protocol, a chunk or a
// control message.
const MaxMessageBytes = max(MaxChunkBytes, MaxControlBytes)

// sctpReceiveBuffer is the SCTP receive window: how much may be in flight
// to this side, in the network and in Pion's reassembly queue, before the
// sender waits. It is a cap, not an allocation.
const sctpReceiveBuffer = 16 << 20

// NewAPI builds the Pion API for all of a daemon's peer connections, with
// daemons and browsers alike: host candidates only, with real addresses
// (never mDNS names of our own), no STUN, link-local addresses left out,
// only the interfaces the filter allows, remote <uuid>.local candidates
// resolved, and a=max-message-size capped at MaxMessageBytes.
//
// mDNS. Browsers hide their host candidates behind <uuid>.local names
// (https://datatracker.ietf.org/doc/html/draft-ietf-mmusic-mdns-ice-candidates;
// Chromium's WebRtcHideLocalIpsWithMdns), and in
// ice.MulticastDNSModeDisabled Pion drops them ("Remote mDNS candidate
// added, but mDNS is disabled"). MulticastDNSModeQueryOnly resolves them
// and still gathers host candidates with their addresses, so nothing
// changes for a daemon peer, and a browser's checks reach our real
// addresses and show up as peer-reflexive candidates even when a name
// cannot be resolved. One API serves both kinds of peer: a daemon never
// sends .local candidates, so for it the mode only costs each peer
// connection four idle sockets. Facts of pion/ice v4.4.2 and pion/mdns
// v2.2.0 this relies on (ice's mdns.go, mdns's server.go):
//   - Each ICE agent opens its own mdns.Conn: 224.0.0.251:5353 and
//     [ff02::fb]:5353 through net.ListenUDP, which for a multicast address
//     sets SO_REUSEADDR and binds the wildcard (Go's net/sock_posix.go,
//     listenDatagram). grandcat/zeroconf binds 224.0.0.0:5353 the same
//     way, so both bind, and the kernel hands every multicast datagram to
//     every socket. Questions go out from a separate socket on an
//     ephemeral port, so answers sent back by unicast reach Pion and not
//     the zeroconf socket that shares 5353.
//   - The conn joins the group only on the interfaces ICE gathers on (the
//     filter), answers no names (QueryOnly registers none) and asks only
//     for A and AAAA records.
//   - If it cannot open or join anything, ICE logs it and goes on in
//     MulticastDNSModeDisabled: an mDNS failure never fails a connection.
//
// Message size. Pion webrtc v4.2.20 advertises a=max-message-size:1073741823
// unless told otherwise (defaultMaxSCTPMessageSize in constants.go, "chosen
// to match FireFox"); SetSCTPMaxMessageSize sets what it advertises. When
// sending it respects the remote's value: it hands the remote's
// a=max-message-size to the SCTP association (65535 when the remote gives
// none, sctpMaxMessageSizeUnsetValue), and pion/sctp v1.11.1 refuses a
// larger message with ErrOutboundPacketTooLarge (stream.go); session
// maxChunk reads the same number. It does not enforce its own value on
// receipt: DataChannel.readLoop grows its buffer while the message is
// below the limit, but pion/datachannel v1.6.2's ReadDataChannel returns
// n = 0 with io.ErrShortBuffer, so the check never trips. What bounds a
// message is the SCTP receive window, and DecodeControl and DecodeChunk,
// which refuse anything larger with too_large. Chromium advertises 262144
// and honours ours (RTCSctpTransport.maxMessageSize is the smaller of the
// two). https://www.rfc-editor.org/rfc/rfc8841#section-6 and
// https://github.com/pion/webrtc/blob/v4.2.20/constants.go
func NewAPI(cfg RTCConfig) *webrtc.API {
	var se webrtc.SettingEngine
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeQueryOnly)
	se.SetSCTPMaxMessageSize(MaxMessageBytes)
	// A dropped Wi-Fi shows as disconnected after a few seconds and failed
	// soon after, so the sender starts resuming instead of waiting half a
	// minute.
	se.SetICETimeouts(4*time.Second, 8*time.Second, 1*time.Second)
	// SCTP waits at least a second before it resends a lost packet (pion/sctp's
	// rtoMin), and a browser's socket drops packets under load: each drop
	// stalled a transfer to Chromium for 1.1 s. On a LAN round trips are a few
	// milliseconds, so half a second still never resends what is merely late.
	se.SetSCTPRTOMax(500 * time.Millisecond)
	if cfg.InterfaceFilter != nil {
		se.SetInterfaceFilter(cfg.InterfaceFilter)
	}
	se.SetIPFilter(func(ip net.IP) bool { return !ip.IsLinkLocalUnicast() })
	se.SetIncludeLoopbackCandidate(cfg.Loopback)
	if n, err := newBufferedNet(); err == nil {
		se.SetNet(n)
	}
	// What the benchmark measured (docs/performance.md): no SCTP checksum
	// where the peer offers the same (DTLS already protects every packet),
	// and a receive window that keeps a fast sender going.
	se.EnableSCTPZeroChecksum(true)
	se.SetSCTPMaxReceiveBufferSize(sctpReceiveBuffer)
	return webrtc.NewAPI(webrtc.WithSettingEngine(se))
}

// ErrIdentityChanged means a peer presented another certificate than the one
// its device ID or an earlier contact promised.
var ErrIdentityChanged = errors.New("the device's identity changed")

// errUnreadableSDP means a session description is not SDP at all, as
// opposed to SDP without the fingerprint it needs.
var errUnreadableSDP = errors.New("the session description does not parse")

// fingerprint is a certificate fingerprint as SDP gives it (RFC 8122).
type fingerprint struct {
	algo  string // "sha-256"
	value string // "AB:CD:..."
}

func (f fingerprint) String() string { return f.algo + " " + f.value }

// deviceID returns the device ID a sha-256 fingerprint is.
func (f fingerprint) deviceID() (identity.ID, error) {
	if !strings.EqualFold(f.algo, "sha-256") {
		return identity.ID{}, fmt.Errorf("the remote description's fingerprint is %s, not sha-256", f.algo)
	}
	return identity.FromFingerprint(f.algo, f.value)
}

// sdpFingerprint returns the fingerprint of a session description that
// Pion holds the remote's DTLS certificate to: the first at session level,
// else the one of the bundled media section, else the first media
// section's. Checking any other one (say the first sha-256 anywhere) would
// let a peer show one certificate to this check and another to DTLS.
func sdpFingerprint(sdpText string) (fingerprint, error) {
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(sdpText); err != nil {
		return fingerprint{}, fmt.Errorf("%w: %v", errUnreadableSDP, err)
	}
	value, ok := sd.Attribute("fingerprint")
	if !ok {
		bundle := ""
		if group, _ := sd.Attribute(sdp.AttrKeyGroup); strings.Contains(group, "BUNDLE") {
			if ids := strings.Split(group, " "); len(ids) >= 2 {
				bundle = ids[1]
			}
		}
		for _, md := range sd.MediaDescriptions {
			if mid, _ := md.Attribute("mid"); bundle != "" && mid != bundle {
				continue
			}
			if value, ok = md.Attribute("fingerprint"); ok {
				break
			}
		}
	}
	algo, hex, found := strings.Cut(value, " ")
	if !ok || !found || strings.Contains(hex, " ") {
		return fingerprint{}, errors.New("the remote description has no usable DTLS fingerprint")
	}
	return fingerprint{algo: strings.ToLower(algo), value: strings.ToUpper(hex)}, nil
}

// certFingerprint returns the sha-256 fingerprint of a DER certificate in
// SDP's form, and the digest.
func certFingerprint(der []byte) (string, [32]byte) {
	sum := sha256.Sum256(der)
	hex := make([]string, len(sum))
	for i, b := range sum {
		hex[i] = fmt.Sprintf("%02X", b)
	}
	return "sha-256 " + strings.Join(hex, ":"), sum
}

// session is one peer connection carrying one transfer: a control channel
// and a data channel. A path that stops carrying packets is first repaired
// in place with an ICE restart on the same session (restart.go); a
// transfer that resumes after the session failed gets a new session with a
// higher number.
type session struct {
	num  uint64
	pc   *webrtc.PeerConnection
	send func(signal.Message) error
	conn string

	mu         sync.Mutex
	remoteSet  bool
	candidates []webrtc.ICECandidateInit
	hold       bool             // keep local candidates until the offer is out
	held       []signal.Message // local candidates kept
	ctrl, data *webrtc.DataChannel
	ready      chan struct{} // both channels open
	readyOnce  sync.Once
	closed     chan struct{}
	closeOnce  sync.Once
	low        chan struct{} // data channel's buffered amount fell below the low mark
	stalled    chan struct{} // ICE went disconnected
	restarting bool          // an ICE restart offer is out, its answer not yet applied
}

func newSession(api *webrtc.API, cert webrtc.Certificate, conn string, num uint64, send func(signal.Message) error) (*session, error) {
	pc, err := api.NewPeerConnection(webrtc.Configuration{Certificates: []webrtc.Certificate{cert}})
	if err != nil {
		return nil, fmt.Errorf("creating peer connection: %w", err)
	}
	s := &session{
		num: num, pc: pc, send: send, conn: conn,
		ready: make(chan struct{}), closed: make(chan struct{}), low: make(chan struct{}, 1),
		stalled: make(chan struct{}, 1),
	}
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			return
		}
		init := c.ToJSON()
		m := signal.Message{Type: signal.TypeCandidate, Conn: conn, Session: num, Candidate: &signal.Candidate{
			Candidate: init.Candidate, SDPMid: init.SDPMid, SDPMLineIndex: init.SDPMLineIndex,
		}}
		s.mu.Lock()
		if s.hold {
			s.held = append(s.held, m)
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		s.send(m)
	})
	pc.OnICEConnectionStateChange(func(st webrtc.ICEConnectionState) {
		if st == webrtc.ICEConnectionStateDisconnected {
			select {
			case s.stalled <- struct{}{}:
			default:
			}
		}
	})
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		if st == webrtc.PeerConnectionStateFailed || st == webrtc.PeerConnectionStateClosed {
			s.close()
		}
	})
	return s, nil
}

// holdCandidates keeps local candidates back until release. Both sides call
// it before gathering starts: a candidate that overtook its offer would
// reach an answerer with no session for it and be dropped, and one that
// overtook its answer would reach an offerer not yet ready for it.
func (s *session) holdCandidates() {
	s.mu.Lock()
	s.hold = true
	s.mu.Unlock()
}

// release sends the candidates held back, and from now on sends each as it
// is found.
func (s *session) release() {
	s.mu.Lock()
	held := s.held
	s.hold, s.held = false, nil
	s.mu.Unlock()
	for _, m := range held {
		s.send(m)
	}
}

// addChannel records one of the two channels and marks the session ready
// when both are open.
func (s *session) addChannel(dc *webrtc.DataChannel) {
	s.mu.Lock()
	switch dc.Label() {
	case ControlLabel:
		s.ctrl = dc
	case DataLabel:
		s.data = dc
		dc.SetBufferedAmountLowThreshold(bufferLow)
		dc.OnBufferedAmountLow(func() {
			select {
			case s.low <- struct{}{}:
			default:
			}
		})
	default:
		s.mu.Unlock()
		dc.Close()
		return
	}
	s.mu.Unlock()
	dc.OnOpen(func() { s.checkReady() })
	dc.OnClose(func() { s.close() })
	s.checkReady()
}

func (s *session) checkReady() {
	s.mu.Lock()
	ok := s.ctrl != nil && s.data != nil &&
		s.ctrl.ReadyState() == webrtc.DataChannelStateOpen && s.data.ReadyState() == webrtc.DataChannelStateOpen
	s.mu.Unlock()
	if ok {
		s.readyOnce.Do(func() { close(s.ready) })
	}
}

// setRemote applies the remote description and any candidates that came
// before it.
func (s *session) setRemote(desc webrtc.SessionDescription) error {
	if err := s.pc.SetRemoteDescription(desc); err != nil {
		return fmt.Errorf("applying remote description: %w", err)
	}
	s.mu.Lock()
	s.remoteSet = true
	pending := s.candidates
	s.candidates = nil
	s.mu.Unlock()
	for _, c := range pending {
		s.pc.AddICECandidate(c)
	}
	return nil
}

func (s *session) addCandidate(c *signal.Candidate) {
	init := webrtc.ICECandidateInit{Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex}
	s.mu.Lock()
	if !s.remoteSet {
		if len(s.candidates) < 64 {
			s.candidates = append(s.candidates, init)
		}
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	s.pc.AddICECandidate(init)
}

// remoteCert returns the fingerprint and SHA-256 of the certificate the
// remote proved in the DTLS handshake. Data channels open only after it,
// so it is known once a channel carries a message.
func (s *session) remoteCert() (string, [32]byte, error) {
	var der []byte
	if sctp := s.pc.SCTP(); sctp != nil && sctp.Transport() != nil {
		der = sctp.Transport().GetRemoteCertificate()
	}
	if len(der) == 0 {
		return "", [32]byte{}, errors.New("the peer's certificate is not known yet")
	}
	fp, sum := certFingerprint(der)
	return fp, sum, nil
}

// What remoteHost returns when it has no IP address to give.
const (
	hostByName  = "name"    // the remote candidate is a <uuid>.local name
	hostUnknown = "unknown" // no candidate pair is selected yet
)

// remoteHost returns the network address the remote's packets come from:
// the remote end of the selected ICE candidate pair, as an IPv4 address or,
// since one host can hold a whole IPv6 prefix, an IPv6 /64 (the hub counts
// connections the same way). A browser's host candidate behind a <uuid>.local name keeps the
// name there (Pion v4.2.20 resolves it, but says to what only in
// unexported fields), and the sender chooses the name: every candidate
// known by a name gives the one host hostByName.
func remoteHost(pc *webrtc.PeerConnection) string {
	sctp := pc.SCTP()
	if sctp == nil || sctp.Transport() == nil || sctp.Transport().ICETransport() == nil {
		return hostUnknown
	}
	pair, err := sctp.Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil || pair.Remote == nil {
		return hostUnknown
	}
	return hostOf(pair.Remote.Address)
}

// hostOf returns the host a candidate's address counts as (remoteHost).
func hostOf(address string) string {
	ip, err := netip.ParseAddr(address)
	if err != nil {
		return hostByName
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is4() {
		return ip.String()
	}
	prefix, _ := ip.Prefix(64)
	return prefix.String()
}

// sendControl sends one control message.
func (s *session) sendControl(c Control) error {
	c.Text = clip(c.Text, maxTextBytes)
	b, err := jsonMarshal(c)
	if err != nil {
		return err
	}
	if err := s.ctrl.SendText(string(b)); err != nil {
		return fmt.Errorf("sending %s: %w", c.Type, err)
	}
	return nil
}

// maxChunk returns the largest chunk message the remote accepts, capped at
// MaxChunkBytes.
func (s *session) maxChunk() int {
	n := MaxChunkBytes
	if sctp := s.pc.SCTP(); sctp != nil {
		if m := int(sctp.GetCapabilities().MaxMessageSize); m > ChunkHeaderBytes && m < n {
			n = m
		}
	}
	return n
}

// closeAfter closes the session after d unless keep, if set, reports that
// it should stay. A session that closes sooner stops the timer: a pending
// timer would hold the peer connection, and Pion's buffers with it, in
// memory until it fired.
func (s *session) closeAfter(d time.Duration, keep func() bool) {
	timer := time.AfterFunc(d, func() {
		if keep == nil || !keep() {
			s.close()
		}
	})
	go func() {
		<-s.closed
		timer.Stop()
	}()
}

func (s *session) close() {
	s.closeOnce.Do(func() {
		close(s.closed)
		go s.pc.Close()
	})
}

// Backpressure marks for the data channel (bufferedAmount, as in the
// browser API): stop queueing above high, resume below low.
const (
	bufferHigh = 4 << 20
	bufferLow  = 1 << 20
)

// maxTextBytes is the longest text a control message may carry.
const maxTextBytes = 1024

// clip cuts s to at most max bytes, at a character boundary, marking the
// cut with an ellipsis: an error text that quotes a long path must not
// make the error itself too long to be taken.
func clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
