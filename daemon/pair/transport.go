package pair

import (
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/ferry-dev/ferry/daemon/proto"
	"github.com/ferry-dev/ferry/daemon/signal"
	"github.com/pion/webrtc/v4"
)

// HubLabel is the label of the negotiated data channel (id 0) that
// carries the hub protocol between the two sides of a pairing.
const HubLabel = "ferry-hub"

// hubChannel creates the negotiated ferry-hub channel on pc, as both
// sides do before the offer and the answer.
func hubChannel(pc *webrtc.PeerConnection) (*webrtc.DataChannel, error) {
	negotiated, ordered, id := true, true, uint16(0)
	return pc.CreateDataChannel(HubLabel, &webrtc.DataChannelInit{Negotiated: &negotiated, ID: &id, Ordered: &ordered})
}

// maxBuffered is how much may wait unsent on the channel before the peer
// counts as not reading; signaling messages are small.
const maxBuffered = 1 << 20

// channel is a signal.Transport over a paired data channel: each string
// message one hub message. It has no pings: ICE consent freshness (RFC
// 7675) fails the peer connection when the other side goes, and that
// ends the transport.
type channel struct {
	pc   *webrtc.PeerConnection
	dc   *webrtc.DataChannel
	in   chan incoming
	once sync.Once
	done chan struct{}
}

type incoming struct {
	b   []byte
	err error
}

// newChannel wraps dc before it opens, so no message is missed.
func newChannel(pc *webrtc.PeerConnection, dc *webrtc.DataChannel) *channel {
	t := &channel{pc: pc, dc: dc, in: make(chan incoming, 16), done: make(chan struct{})}
	dc.OnMessage(func(m webrtc.DataChannelMessage) {
		in := incoming{b: m.Data}
		if !m.IsString {
			in = incoming{err: proto.Errorf(proto.CodeBadMessage, "binary messages are not signaling messages")}
		}
		// Waiting here holds up Pion's reading, and so the peer: the
		// same backpressure a WebSocket's reader gives.
		select {
		case t.in <- in:
		case <-t.done:
		}
	})
	dc.OnClose(t.end)
	return t
}

// end stops the transport: the channel or the peer connection is gone.
func (t *channel) end() { t.once.Do(func() { close(t.done) }) }

func (t *channel) ReadMessage() ([]byte, error) {
	select {
	case in := <-t.in:
		return in.b, in.err
	case <-t.done:
		return nil, io.EOF
	}
}

func (t *channel) WriteMessage(b []byte) error {
	if t.dc.BufferedAmount() > maxBuffered {
		return errors.New("the paired peer does not read its messages")
	}
	return t.dc.SendText(string(b))
}

// Close ends the channel and the peer connection. After a refusal it
// first gives the error message a moment to leave.
func (t *channel) Close(code string) {
	t.end()
	go func() {
		if code != "" {
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for n := 0; n < 50 && t.dc.BufferedAmount() > 0; n++ {
				<-tick.C
			}
		}
		t.dc.Close()
		t.pc.Close()
	}()
}

// RemoteAddr is the remote address of the selected candidate pair, or an
// unspecified one before ICE selects a pair.
func (t *channel) RemoteAddr() net.Addr {
	if sctp := t.pc.SCTP(); sctp != nil {
		if pair, err := sctp.Transport().ICETransport().GetSelectedCandidatePair(); err == nil && pair != nil {
			return addr(net.JoinHostPort(pair.Remote.Address, strconv.Itoa(int(pair.Remote.Port))))
		}
	}
	return addr("0.0.0.0:0")
}

type addr string

func (a addr) Network() string { return "udp" }
func (a addr) String() string  { return string(a) }

var _ signal.Transport = (*channel)(nil)
