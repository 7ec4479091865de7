package transfer

import (
	"errors"
	"fmt"
	"time"

	"github.com/ferry-dev/ferry/daemon/identity"
	"github.com/ferry-dev/ferry/daemon/signal"
	"github.com/pion/webrtc/v4"
)

// rsession is a receiving session: a peer connection the remote offered,
// bound to an incoming transfer once its first control message names one.
type rsession struct {
	*session
	peer     identity.ID
	peerName string
	key      string
	t        *incoming // set by the first offer message; guarded by session.mu
}

func (rs *rsession) transfer() *incoming {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.t
}

func (rs *rsession) bind(t *incoming) {
	rs.mu.Lock()
	rs.t = t
	rs.mu.Unlock()
}

func (m *Manager) receiverSession(peerID, conn string) *rsession {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rs[peerID+"/"+conn]
}

// answer handles an offer of a new session. A session number not above the
// current one for the same conn is stale and dropped; a higher one replaces
// the old session (the sender reconnected).
func (m *Manager) answer(from signal.Peer, msg signal.Message) {
	log := m.cfg.Log.With("peer", from.ID, "conn", msg.Conn, "session", msg.Session)
	reply := func(r signal.Message) {
		r.Conn, r.Session = msg.Conn, msg.Session
		m.cfg.Hub.Send(from.ID, r)
	}
	claimed, err := identity.ParseID(from.ID)
	if err != nil {
		reply(signal.Message{Type: signal.TypeError, Code: signal.CodeIdentity, Text: err.Error()})
		return
	}
	proven, err := remoteID(msg.SDP)
	if err == nil && proven != claimed {
		err = fmt.Errorf("%w: the offer's DTLS fingerprint is %s, not the device ID %s it claims", ErrIdentityChanged, proven.Short(), claimed.Short())
	}
	if err != nil {
		log.Info("Refused offer", "err", err)
		reply(signal.Message{Type: signal.TypeError, Code: signal.CodeIdentity, Text: err.Error()})
		return
	}
	key := from.ID + "/" + msg.Conn
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	old := m.rs[key]
	if old != nil && old.num >= msg.Session {
		m.mu.Unlock()
		log.Debug("Dropped stale offer", "current", old.num)
		return
	}
	if len(m.rs) >= 4*maxPending && old == nil {
		m.mu.Unlock()
		reply(signal.Message{Type: signal.TypeError, Code: signal.CodeBusy, Text: "too many connections; try again later"})
		return
	}
	s, err := newSession(m.cfg.API, m.cert, msg.Conn, msg.Session, func(r signal.Message) error {
		return m.cfg.Hub.Send(from.ID, r)
	})
	if err != nil {
		m.mu.Unlock()
		log.Warn("Cannot answer offer", "err", err)
		return
	}
	rs := &rsession{session: s, peer: claimed, peerName: from.Name, key: key}
	m.rs[key] = rs
	m.mu.Unlock()
	if old != nil {
		old.close()
	}
	go func() {
		<-rs.closed
		m.mu.Lock()
		if m.rs[key] == rs {
			delete(m.rs, key)
		}
		m.mu.Unlock()
		if t := rs.transfer(); t != nil {
			t.detach(rs)
		}
	}()

	s.pc.OnDataChannel(func(dc *webrtc.DataChannel) {
		if dc.Label() == ControlLabel {
			dc.OnMessage(func(dm webrtc.DataChannelMessage) { m.onControl(rs, dm) })
		}
		if dc.Label() == DataLabel {
			dc.OnMessage(func(dm webrtc.DataChannelMessage) { m.onChunk(rs, dm) })
		}
		rs.addChannel(dc)
	})
	if err := s.setRemote(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: msg.SDP}); err != nil {
		log.Info("Bad offer", "err", err)
		reply(signal.Message{Type: signal.TypeError, Code: signal.CodeBadMessage, Text: err.Error()})
		rs.close()
		return
	}
	ans, err := s.pc.CreateAnswer(nil)
	if err == nil {
		err = s.pc.SetLocalDescription(ans)
	}
	if err != nil {
		log.Info("Cannot answer offer", "err", err)
		reply(signal.Message{Type: signal.TypeError, Code: signal.CodeBadMessage, Text: err.Error()})
		rs.close()
		return
	}
	reply(signal.Message{Type: signal.TypeAnswer, SDP: ans.SDP})
	// A session that never carries an offer is closed, so a peer cannot
	// hold connections open for free.
	time.AfterFunc(30*time.Second, func() {
		if rs.transfer() == nil {
			rs.close()
		}
	})
}

// fail sends an error on the session's control channel and closes it shortly
// after, so the message has a chance to leave.
func (rs *rsession) fail(pe *ProtoError) {
	rs.sendControl(Control{Type: MsgError, Code: pe.Code, Text: pe.Text})
	rs.closeSoon()
}

func (rs *rsession) closeSoon() {
	time.AfterFunc(2*time.Second, rs.close)
}

func (m *Manager) onControl(rs *rsession, dm webrtc.DataChannelMessage) {
	if !dm.IsString {
		rs.fail(protoErr(CodeBadMessage, "binary message on the control channel"))
		return
	}
	c, err := DecodeControl(dm.Data)
	if err != nil {
		var pe *ProtoError
		errors.As(err, &pe)
		if t := rs.transfer(); t != nil {
			t.failWith(pe)
		}
		rs.fail(pe)
		return
	}
	t := rs.transfer()
	if t == nil {
		if c.Type != MsgOffer {
			rs.fail(protoErr(CodeBadMessage, "the first control message must be an offer, not %s", c.Type))
			return
		}
		m.handleOffer(rs, c)
		return
	}
	t.handle(rs, c)
}

func (m *Manager) onChunk(rs *rsession, dm webrtc.DataChannelMessage) {
	if dm.IsString {
		rs.fail(protoErr(CodeBadMessage, "text message on the data channel"))
		return
	}
	t := rs.transfer()
	if t == nil {
		rs.fail(protoErr(CodeBadMessage, "chunk before an offer"))
		return
	}
	t.chunk(rs, dm.Data)
}

// handleOffer binds a session to the transfer its offer names: a new one, or
// one this daemon knows (the sender reconnected or this daemon restarted).
func (m *Manager) handleOffer(rs *rsession, c Control) {
	m.mu.Lock()
	t := m.in[c.Transfer]
	if t != nil && t.peer != rs.peer {
		m.mu.Unlock()
		rs.fail(protoErr(CodeBadMessage, "transfer ID %s is in use by another device", c.Transfer))
		return
	}
	if t == nil {
		pending := 0
		for _, other := range m.in {
			if other.waiting() {
				pending++
				if other.peer == rs.peer {
					m.mu.Unlock()
					rs.sendControl(Control{Type: MsgDecline, Code: CodeBusy, Text: "an earlier offer from this device is still waiting for an answer"})
					rs.closeSoon()
					return
				}
			}
		}
		if pending >= maxPending {
			m.mu.Unlock()
			rs.sendControl(Control{Type: MsgDecline, Code: CodeBusy, Text: "too many offers are waiting for an answer; try again later"})
			rs.closeSoon()
			return
		}
		t = newIncoming(m, c.Transfer, rs.peer, rs.peerName)
		m.in[c.Transfer] = t
	}
	m.mu.Unlock()
	rs.bind(t)
	t.offer(rs, c)
	m.notify()
}
