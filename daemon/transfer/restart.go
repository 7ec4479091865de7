package transfer

import (
	"errors"
	"fmt"

	"github.com/ferry-dev/ferry/daemon/proto"
	"github.com/ferry-dev/ferry/daemon/signal"
	"github.com/pion/webrtc/v4"
)

// ICE restart. When a session's path stops carrying packets while both
// ends are still there (a phone that moved to another access point, a
// firewall or NAT that dropped the flow), the offerer gathers candidates
// anew, on new sockets, and offers again on the same session number; the
// answerer answers on the peer connection it has. DTLS and SCTP carry on
// over the new path, so the transfer goes on where it was, with nothing to
// resume. If ICE has not come back when it fails (SetICETimeouts), the
// session closes and the sender makes a new one (outgoing.run).

// errNotApplied means a well-formed offer could not be applied to the
// session it names.
var errNotApplied = errors.New("the offer cannot be applied")

// restartICE sends an offer with fresh ICE credentials for this session.
// It does nothing while an earlier restart waits for its answer, or when
// ICE is no longer disconnected.
func (s *session) restartICE() error {
	if s.pc.ICEConnectionState() != webrtc.ICEConnectionStateDisconnected {
		return nil
	}
	s.mu.Lock()
	if s.restarting {
		s.mu.Unlock()
		return nil
	}
	s.restarting = true
	s.remoteSet = false // the answerer's new candidates wait for its answer
	s.mu.Unlock()
	s.holdCandidates()
	offer, err := s.pc.CreateOffer(&webrtc.OfferOptions{ICERestart: true})
	if err == nil {
		err = s.pc.SetLocalDescription(offer)
	}
	if err != nil {
		return fmt.Errorf("restarting ICE: %w", err)
	}
	if err := s.send(signal.Message{Type: signal.TypeOffer, Conn: s.conn, Session: s.num, SDP: offer.SDP}); err != nil {
		return err
	}
	s.release()
	return nil
}

func (s *session) isRestarting() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.restarting
}

// restartAnswered applies the answer to an ICE restart. The answerer must
// be the certificate DTLS proved at the start of the session: a restart
// moves packets to a new path, never to another peer.
func (s *session) restartAnswered(sdpText, proved string) error {
	s.mu.Lock()
	waiting := s.restarting
	s.restarting = false
	s.mu.Unlock()
	if !waiting {
		return nil // an answer this session already has
	}
	fp, err := sdpFingerprint(sdpText)
	if err != nil {
		return err
	}
	if fp.String() != proved {
		return &endError{StateFailed, proto.CodeIdentityChanged, "the answer to an ICE restart names another certificate than the session's"}
	}
	return s.setRemote(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdpText})
}

// answerRestart answers an offer that restarts ICE on this receiving
// session. The offer must keep the fingerprint of the session's first
// offer. The answer goes out before any of the new candidates.
func (s *session) answerRestart(sdpText string, reply func(signal.Message)) error {
	before := s.pc.RemoteDescription()
	if before == nil {
		return fmt.Errorf("%w: an ICE restart for a session that has no offer", errNotApplied)
	}
	was, err := sdpFingerprint(before.SDP)
	if err != nil {
		return err
	}
	fp, err := sdpFingerprint(sdpText)
	if err != nil {
		return err
	}
	if fp != was {
		return fmt.Errorf("%w: an ICE restart offer names another certificate than the session's", ErrIdentityChanged)
	}
	s.holdCandidates()
	err = s.setRemote(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdpText})
	var ans webrtc.SessionDescription
	if err == nil {
		ans, err = s.pc.CreateAnswer(nil)
	}
	if err == nil {
		err = s.pc.SetLocalDescription(ans)
	}
	if err != nil {
		return fmt.Errorf("%w: answering an ICE restart: %v", errNotApplied, err)
	}
	reply(signal.Message{Type: signal.TypeAnswer, SDP: ans.SDP})
	s.release()
	return nil
}

// signalConnected applies a signaling message that arrives once the session
// is up: the receiver's new candidates, and the answer to an ICE restart or
// its refusal, after which the sender makes a new session.
func (o *outgoing) signalConnected(s *session, msg signal.Message) error {
	if msg.Session != s.num {
		return nil
	}
	switch msg.Type {
	case signal.TypeCandidate:
		s.addCandidate(msg.Candidate)
	case signal.TypeAnswer:
		o.mu.Lock()
		proved := o.fingerprint
		o.mu.Unlock()
		return s.restartAnswered(msg.SDP, proved)
	case signal.TypeError:
		if s.isRestarting() {
			return fmt.Errorf("%s: %s", o.label, msg.Text)
		}
	}
	return nil
}
