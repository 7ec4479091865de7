package transfer

import (
	"net"

	"github.com/pion/transport/v4"
	"github.com/pion/transport/v4/stdnet"
)

// socketBuffer is the kernel buffer asked for each UDP socket, both ways.
// With the default (about 200 KiB on Linux) a burst of SCTP packets
// overflows the receiver's socket and each dropped datagram costs a
// retransmission; the kernel caps the size at net.core.rmem_max and
// wmem_max, which an administrator may raise.
const socketBuffer = 4 << 20

// bufferedNet is the network layer Pion uses, with large socket buffers on
// every UDP socket it opens.
type bufferedNet struct {
	*stdnet.Net
}

func newBufferedNet() (transport.Net, error) {
	n, err := stdnet.NewNet()
	if err != nil {
		return nil, err
	}
	return bufferedNet{n}, nil
}

func (n bufferedNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	if u, ok := c.(*net.UDPConn); ok {
		// Best effort: a smaller buffer than asked still works.
		u.SetReadBuffer(socketBuffer)
		u.SetWriteBuffer(socketBuffer)
	}
	return c, nil
}
