package transfer

import (
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/ferry-dev/ferry/daemon/identity"
	"github.com/ferry-dev/ferry/daemon/proto"
	"github.com/ferry-dev/ferry/daemon/signal"
	"github.com/pion/webrtc/v4"
)

// rsession is a receiving session: a peer connection the remote offered,
// bound to an incoming transfer once its first control message names one.
type rsession struct {
	*session
	// peer is the sender as its offer introduced it; handleOffer adds the
	// fingerprint DTLS proved before the session is bound.
	peer Peer
	key  string
	t    *incoming // set by the first offer message; guarded by session.mu
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

// rsKey names a receiving session by its sender and conn. The kind is part
// of it, so a guest that takes a daemon's ID cannot touch that daemon's
// sessions.
func rsKey(from signal.Peer, conn string) string {
	kind := "d/"
	if from.Kind == signal.KindGuest {
		kind = "g/"
	}
	return kind + from.ID + "/" + conn
}

func (m *Manager) receiverSession(from signal.Peer, conn string) *rsession {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rs[rsKey(from, conn)]
}

// offerer returns who sent an offer. A guest is known by its client ID; a
// daemon must be offering with the certificate of the device ID it claims.
func offerer(from signal.Peer, sdpText string) (Peer, error) {
	fp, err := sdpFingerprint(sdpText)
	if err != nil {
		return Peer{}, err
	}
	if from.Kind == signal.KindGuest {
		if !signal.ValidGuestID(from.ID) {
			return Peer{}, fmt.Errorf("%q is not a guest ID", from.ID)
		}
		return Peer{ID: from.ID, Name: from.Name, Guest: true}, nil
	}
	claimed, err := identity.ParseID(from.ID)
	if err != nil {
		return Peer{}, err
	}
	proven, err := fp.deviceID()
	if err != nil {
		return Peer{}, err
	}
	if proven != claimed {
		return Peer{}, fmt.Errorf("%w: the offer's DTLS fingerprint is %s, not the device ID %s it claims", ErrIdentityChanged, proven.Short(), claimed.Short())
	}
	return Peer{ID: claimed.String(), Name: from.Name}, nil
}

// answer handles an offer of a new session. A session number below the
// current one for the same conn is stale and dropped; the same one restarts
// ICE on the session (restart.go); a higher one replaces the old session
// (the sender reconnected).
func (m *Manager) answer(from signal.Peer, msg signal.Message) {
	log := m.cfg.Log.With("peer", from.ID, "kind", from.Kind, "conn", msg.Conn, "session", msg.Session)
	if from.Reply == nil {
		log.Warn("Dropped offer with no way to answer it")
		return
	}
	reply := func(r signal.Message) {
		r.Conn, r.Session = msg.Conn, msg.Session
		from.Reply(r)
	}
	peer, err := offerer(from, msg.SDP)
	if err != nil {
		refuse(reply, log, "Refused offer", err)
		return
	}
	key := rsKey(from, msg.Conn)
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	old := m.rs[key]
	if old != nil && old.num == msg.Session {
		m.mu.Unlock()
		if err := old.answerRestart(msg.SDP, reply); err != nil {
			refuse(reply, log, "Refused ICE restart", err)
			return
		}
		log.Debug("Answered ICE restart")
		return
	}
	if old != nil && old.num > msg.Session {
		m.mu.Unlock()
		log.Debug("Dropped stale offer", "current", old.num)
		return
	}
	if len(m.rs) >= 4*maxPending && old == nil {
		m.mu.Unlock()
		reply(signal.Message{Type: signal.TypeError, Code: proto.CodeBusy, Text: "too many connections; try again later"})
		return
	}
	s, err := newSession(m.cfg.API, m.cert, msg.Conn, msg.Session, from.Reply)
	if err != nil {
		m.mu.Unlock()
		log.Warn("Cannot answer offer", "err", err)
		return
	}
	rs := &rsession{session: s, peer: peer, key: key}
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

	// A peer of the protocol opens exactly its two channels, once each.
	var channels atomic.Int32
	s.pc.OnDataChannel(func(dc *webrtc.DataChannel) {
		if n := channels.Add(1); n > 2 {
			log.Info("Closed a session that opened a third data channel", "label", dc.Label())
			rs.close()
			return
		}
		if dc.Label() == ControlLabel {
			dc.OnMessage(func(dm webrtc.DataChannelMessage) { m.onControl(rs, dm) })
		}
		if dc.Label() == DataLabel {
			dc.OnMessage(func(dm webrtc.DataChannelMessage) { m.onChunk(rs, dm) })
		}
		rs.addChannel(dc)
	})
	// The answer goes out before any candidate, so an offerer never meets a
	// candidate for a session it has no answer for.
	s.holdCandidates()
	if err := s.setRemote(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: msg.SDP}); err != nil {
		log.Info("Bad offer", "err", err)
		reply(signal.Message{Type: signal.TypeError, Code: proto.CodeBadMessage, Text: err.Error()})
		rs.close()
		return
	}
	ans, err := s.pc.CreateAnswer(nil)
	if err == nil {
		err = s.pc.SetLocalDescription(ans)
	}
	if err != nil {
		log.Info("Cannot answer offer", "err", err)
		reply(signal.Message{Type: signal.TypeError, Code: proto.CodeBadMessage, Text: err.Error()})
		rs.close()
		return
	}
	reply(signal.Message{Type: signal.TypeAnswer, SDP: ans.SDP})
	s.release()
	// A session that never carries an offer is closed, so a peer cannot
	// hold connections open for free.
	rs.closeAfter(30*time.Second, func() bool { return rs.transfer() != nil })
}

// refuse answers an offer with an error: bad-message for one that does not
// parse or cannot be applied, identity for one that proves no identity or
// another's.
func refuse(reply func(signal.Message), log *slog.Logger, what string, err error) {
	code := proto.CodeIdentity
	if errors.Is(err, errUnreadableSDP) || errors.Is(err, errNotApplied) {
		code = proto.CodeBadMessage
	}
	log.Info(what, "code", code, "err", err)
	reply(signal.Message{Type: signal.TypeError, Code: code, Text: err.Error()})
}

// fail sends an error on the session's control channel and closes it shortly
// after, so the message has a chance to leave.
func (rs *rsession) fail(pe *proto.Error) {
	rs.sendControl(Control{Type: MsgError, Code: pe.Code, Text: pe.Text})
	rs.closeSoon()
}

func (rs *rsession) closeSoon() {
	rs.closeAfter(2*time.Second, nil)
}

func (m *Manager) onControl(rs *rsession, dm webrtc.DataChannelMessage) {
	if !dm.IsString {
		rs.fail(proto.Errorf(proto.CodeBadMessage, "binary message on the control channel"))
		return
	}
	c, err := DecodeControl(dm.Data)
	if err != nil {
		var pe *proto.Error
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
			rs.fail(proto.Errorf(proto.CodeBadMessage, "the first control message must be an offer, not %s", c.Type))
			return
		}
		m.handleOffer(rs, c)
		return
	}
	t.handle(rs, c)
}

func (m *Manager) onChunk(rs *rsession, dm webrtc.DataChannelMessage) {
	if dm.IsString {
		rs.fail(proto.Errorf(proto.CodeBadMessage, "text message on the data channel"))
		return
	}
	t := rs.transfer()
	if t == nil {
		rs.fail(proto.Errorf(proto.CodeBadMessage, "chunk before an offer"))
		return
	}
	t.chunk(rs, dm.Data)
}

// prove records the fingerprint of the certificate the sender proved in
// DTLS. A daemon's must be its device ID: Pion checked the certificate
// against the offer's fingerprint, and answer checked that against the ID;
// this holds even if those two checks ever read different fingerprints.
func (rs *rsession) prove() *proto.Error {
	fp, sum, err := rs.remoteCert()
	if err != nil {
		return proto.Errorf(proto.CodeIdentity, "%v", err)
	}
	if id, ok := rs.peer.Device(); ok && id != identity.ID(sum) {
		return proto.Errorf(proto.CodeIdentity, "the certificate in the handshake is not the one of device %s", id.Short())
	}
	rs.peer.Fingerprint = fp
	return nil
}

// handleOffer binds a session to the transfer its offer names: a new one, or
// one this daemon knows (the sender reconnected or this daemon restarted).
// A known transfer continues only with the sender that offered it: the same
// device or, for a guest, the same client ID with the same certificate,
// since a client ID is a claim anyone can make.
func (m *Manager) handleOffer(rs *rsession, c Control) {
	if pe := rs.prove(); pe != nil {
		rs.fail(pe)
		return
	}
	addr := remoteHost(rs.pc)
	m.mu.Lock()
	t := m.in[c.Transfer]
	if t != nil && !t.peer.same(rs.peer) {
		m.mu.Unlock()
		rs.fail(proto.Errorf(proto.CodeBadMessage, "transfer ID %s is in use by another device", c.Transfer))
		return
	}
	if t != nil && t.peer.Guest && t.peer.Fingerprint != rs.peer.Fingerprint {
		m.mu.Unlock()
		m.cfg.Log.Info("Refused a guest's offer with another certificate", "transfer", c.Transfer, "guest", rs.peer.ID)
		rs.fail(proto.Errorf(proto.CodeIdentityChanged, "transfer %s was offered with another certificate; offer the files again as a new transfer", c.Transfer))
		return
	}
	if t == nil {
		if pe := m.admit(rs.peer, addr); pe != nil {
			m.mu.Unlock()
			m.cfg.Log.Info("Refused an offer", "transfer", c.Transfer, "peer", rs.peer.label(), "addr", addr, "reason", pe.Text)
			rs.sendControl(Control{Type: MsgDecline, Code: pe.Code, Text: pe.Text})
			rs.closeSoon()
			return
		}
		t = newIncoming(m, c.Transfer, rs.peer, addr)
		m.in[c.Transfer] = t
	}
	m.mu.Unlock()
	rs.bind(t)
	t.offer(rs, c)
	m.notify()
}

// admit decides whether a new offer from peer, which came from the network
// address addr (remoteHost), may wait for the owner, and otherwise says
// which limit it met. Each sender has one offer waiting at most. Then,
// unless the owner trusts the sender: at most maxPendingPerCert from one
// certificate, since a guest's ID is free to choose; PendingPerAddr from
// one address, since certificates are free to make too (browsers that hide
// their address behind a name share one); and maxPending in all. Call with
// m.mu held.
func (m *Manager) admit(peer Peer, addr string) *proto.Error {
	var all, sameCert, sameAddr int
	for _, t := range m.in {
		if !t.waiting() {
			continue
		}
		if t.peer.same(peer) {
			return proto.Errorf(proto.CodeBusy, "an earlier offer from this device is still waiting for an answer")
		}
		all++
		if t.peer.Fingerprint == peer.Fingerprint {
			sameCert++
		}
		if t.addr == addr {
			sameAddr++
		}
	}
	switch {
	case m.cfg.Trusted(peer):
		return nil
	case sameCert >= maxPendingPerCert:
		return proto.Errorf(proto.CodeBusy, "too many offers from this sender are waiting for an answer (the limit is %d); try again later", maxPendingPerCert)
	case sameAddr >= m.cfg.PendingPerAddr && addr == hostByName:
		return proto.Errorf(proto.CodeBusy, "too many offers from browsers that hide their network address are waiting for an answer (the limit is %d); try again later", m.cfg.PendingPerAddr)
	case sameAddr >= m.cfg.PendingPerAddr:
		return proto.Errorf(proto.CodeBusy, "too many offers from your network address are waiting for an answer (the limit is %d); try again later", m.cfg.PendingPerAddr)
	case all >= maxPending:
		return proto.Errorf(proto.CodeBusy, "too many offers are waiting for an answer (the limit is %d); try again later", maxPending)
	}
	return nil
}
