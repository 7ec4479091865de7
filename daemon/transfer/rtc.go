package transfer

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/ferry-dev/ferry/daemon/identity"
	"github.com/ferry-dev/ferry/daemon/signal"
	"github.com/pion/ice/v4"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// RTCConfig is the daemon-to-daemon WebRTC profile.
type RTCConfig struct {
	// Interfaces, when set, are the only network interfaces ICE gathers
	// on. Otherwise every interface but loopback and virtual ones is used.
	Interfaces []string
}

// virtualPrefixes name interfaces that never lead to another device on the
// LAN: container bridges, VM networks and VPN tunnels.
var virtualPrefixes = []string{"docker", "br-", "veth", "virbr", "vmnet", "vboxnet", "tun", "tap", "utun", "wg", "zt", "tailscale", "lxc", "cni", "flannel", "podman"}

// NewAPI builds the Pion API for daemon-to-daemon connections: host
// candidates only, no mDNS candidates, no STUN, virtual and link-local
// interfaces left out.
func NewAPI(cfg RTCConfig) *webrtc.API {
	var se webrtc.SettingEngine
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	// A dropped Wi-Fi shows as disconnected after a few seconds and failed
	// soon after, so the sender starts resuming instead of waiting half a
	// minute.
	se.SetICETimeouts(4*time.Second, 8*time.Second, 1*time.Second)
	allowed := make(map[string]bool)
	for _, name := range cfg.Interfaces {
		allowed[name] = true
	}
	se.SetInterfaceFilter(func(name string) bool {
		if len(allowed) > 0 {
			return allowed[name]
		}
		for _, p := range virtualPrefixes {
			if strings.HasPrefix(name, p) {
				return false
			}
		}
		return true
	})
	se.SetIPFilter(func(ip net.IP) bool { return !ip.IsLinkLocalUnicast() })
	if ifaceIsLoopback(cfg.Interfaces) {
		se.SetIncludeLoopbackCandidate(true)
	}
	return webrtc.NewAPI(webrtc.WithSettingEngine(se))
}

func ifaceIsLoopback(names []string) bool {
	for _, name := range names {
		if ifi, err := net.InterfaceByName(name); err == nil && ifi.Flags&net.FlagLoopback != 0 {
			return true
		}
	}
	return false
}

// ErrIdentityChanged means a peer presented another certificate than the one
// its device ID or an earlier contact promised.
var ErrIdentityChanged = errors.New("the device's identity changed")

// remoteID returns the device ID a session description proves: its DTLS
// fingerprint (RFC 8122), at session or media level.
func remoteID(sdpText string) (identity.ID, error) {
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(sdpText); err != nil {
		return identity.ID{}, fmt.Errorf("reading remote description: %w", err)
	}
	attrs := sd.Attributes
	for _, md := range sd.MediaDescriptions {
		attrs = append(attrs, md.Attributes...)
	}
	for _, a := range attrs {
		if a.Key != "fingerprint" {
			continue
		}
		algo, value, ok := strings.Cut(a.Value, " ")
		if ok && strings.EqualFold(algo, "sha-256") {
			return identity.FromFingerprint(algo, value)
		}
	}
	return identity.ID{}, errors.New("remote description has no sha-256 fingerprint")
}

// session is one peer connection carrying one transfer: a control channel
// and a data channel. A transfer that resumes gets a new session with a
// higher number.
type session struct {
	num  uint64
	pc   *webrtc.PeerConnection
	send func(signal.Message) error
	conn string

	mu         sync.Mutex
	remoteSet  bool
	candidates []webrtc.ICECandidateInit
	ctrl, data *webrtc.DataChannel
	ready      chan struct{} // both channels open
	readyOnce  sync.Once
	closed     chan struct{}
	closeOnce  sync.Once
	low        chan struct{} // data channel's buffered amount fell below the low mark
}

func newSession(api *webrtc.API, cert webrtc.Certificate, conn string, num uint64, send func(signal.Message) error) (*session, error) {
	pc, err := api.NewPeerConnection(webrtc.Configuration{Certificates: []webrtc.Certificate{cert}})
	if err != nil {
		return nil, fmt.Errorf("creating peer connection: %w", err)
	}
	s := &session{
		num: num, pc: pc, send: send, conn: conn,
		ready: make(chan struct{}), closed: make(chan struct{}), low: make(chan struct{}, 1),
	}
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			return
		}
		init := c.ToJSON()
		s.send(signal.Message{Type: signal.TypeCandidate, Conn: conn, Session: num, Candidate: &signal.Candidate{
			Candidate: init.Candidate, SDPMid: init.SDPMid, SDPMLineIndex: init.SDPMLineIndex,
		}})
	})
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		if st == webrtc.PeerConnectionStateFailed || st == webrtc.PeerConnectionStateClosed {
			s.close()
		}
	})
	return s, nil
}

// setChannels records the two channels and marks the session ready when both
// are open.
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

// sendControl sends one control message.
func (s *session) sendControl(c Control) error {
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
