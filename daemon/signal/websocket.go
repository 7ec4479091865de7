package signal

import (
	"errors"
	"net"
	"sync"
	"time"

	"github.com/ferry-dev/ferry/daemon/proto"
	"github.com/gorilla/websocket"
)

const (
	writeWait  = 10 * time.Second
	pingPeriod = 20 * time.Second
	readWait   = 3 * pingPeriod
)

// wsTransport is a Conn's WebSocket: text frames, a read limit, and pings
// that close a connection whose peer stopped answering.
type wsTransport struct {
	ws   *websocket.Conn
	mu   sync.Mutex // one control frame at a time
	done chan struct{}
}

// newConn returns a Conn over ws, which it pings until closed.
func newConn(ws *websocket.Conn) *Conn {
	t := &wsTransport{ws: ws, done: make(chan struct{})}
	// One byte of slack so an oversized message is reported as too large by
	// Decode instead of as a broken socket.
	ws.SetReadLimit(MaxMessageBytes + 1024)
	ws.SetReadDeadline(time.Now().Add(readWait))
	ws.SetPongHandler(func(string) error {
		return ws.SetReadDeadline(time.Now().Add(readWait))
	})
	c := NewConn(t)
	go t.ping(c)
	return c
}

func (t *wsTransport) ping(c *Conn) {
	tick := time.NewTicker(pingPeriod)
	defer tick.Stop()
	for {
		select {
		case <-t.done:
			return
		case <-tick.C:
			t.mu.Lock()
			err := t.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait))
			t.mu.Unlock()
			if err != nil {
				c.Close()
				return
			}
		}
	}
}

func (t *wsTransport) ReadMessage() ([]byte, error) {
	kind, b, err := t.ws.ReadMessage()
	if errors.Is(err, websocket.ErrReadLimit) {
		return nil, proto.Errorf(proto.CodeTooLarge, "message is larger than %d bytes", MaxMessageBytes)
	}
	if err != nil {
		return nil, err
	}
	t.ws.SetReadDeadline(time.Now().Add(readWait))
	if kind != websocket.TextMessage {
		return nil, proto.Errorf(proto.CodeBadMessage, "binary frames are not signaling messages")
	}
	return b, nil
}

func (t *wsTransport) WriteMessage(b []byte) error {
	t.ws.SetWriteDeadline(time.Now().Add(writeWait))
	return t.ws.WriteMessage(websocket.TextMessage, b)
}

func (t *wsTransport) Close(code string) {
	close(t.done)
	t.mu.Lock()
	t.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(closeCode(code), code), time.Now().Add(time.Second))
	t.mu.Unlock()
	t.ws.Close()
}

func (t *wsTransport) RemoteAddr() net.Addr { return t.ws.RemoteAddr() }

// closeCode is the WebSocket close code for a refusal with a wire code,
// or for a normal end ("").
func closeCode(code string) int {
	switch code {
	case "":
		return websocket.CloseNormalClosure
	case proto.CodeTooLarge:
		return websocket.CloseMessageTooBig
	case proto.CodeBusy, proto.CodeTooMany:
		return websocket.CloseTryAgainLater
	}
	return websocket.ClosePolicyViolation
}
