package transfer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ferry-dev/ferry/daemon/identity"
	"github.com/ferry-dev/ferry/daemon/proto"
	"github.com/ferry-dev/ferry/daemon/signal"
	"github.com/pion/webrtc/v4"
)

// outgoing is a transfer this daemon sends.
type outgoing struct {
	m      *Manager
	id     string
	route  Route
	addr   string // the hub's address, "" through the mesh; the one last reached, guarded by mu
	label  string // the peer or its address, for people
	total  int64
	ctx    context.Context
	cancel context.CancelFunc

	// entries and local, and finals below, are set until the transfer
	// ends, when kept takes their place. run reads them without mu: only
	// run ends the transfer (end).
	entries []Entry
	local   []string

	mu           sync.Mutex
	kept         *kept
	state        State
	code, err    string
	peer         string // the peer's ID, once known
	peerName     string
	peerKind     string
	fingerprint  string // of the certificate the peer proved in the first session
	done         int64
	sent         int64
	verified     int
	finals       []string
	resumed      []int64
	started      time.Time
	updated      time.Time
	lastProgress time.Time
	cancelled    bool
	restored     bool // loaded from disk, waiting for Manager.Run to start it
	// resuming is set on a transfer taken up after a restart: not reaching
	// the peer at first is then a lost connection, retried like one.
	resuming bool
	// savedAddr and savedPeer are the address and device last saved for
	// a restart (save), so that a move is saved again.
	savedAddr, savedPeer string
	// linksDone hears of each file a browser finished downloading, once
	// the receiver fetched instead (outgoing_links.go).
	linksDone chan struct{}
}

// endError ends a transfer for good, with a state and a code.
type endError struct {
	state State
	code  string
	text  string
}

func (e *endError) Error() string { return e.text }

// errLost means the session broke; the sender reconnects.
var errLost = errors.New("connection lost")

func newOutgoing(m *Manager, r Route, entries []Entry, local []string) *outgoing {
	ctx, cancel := context.WithCancel(context.Background())
	now := time.Now()
	addr, peer, kind, label := r.describe()
	o := &outgoing{m: m, id: newTransferID(), route: r, addr: addr, label: label, peer: peer, peerKind: kind,
		entries: entries, local: local,
		ctx: ctx, cancel: cancel, state: StateConnecting, started: now, updated: now, finals: make([]string, len(entries)),
		// Starting counts as progress: a connection lost before the first
		// byte (while the receiver's owner decides) is resumed too.
		lastProgress: now}
	for _, e := range entries {
		o.total += e.Size
	}
	return o
}

func (o *outgoing) info() Info {
	o.mu.Lock()
	defer o.mu.Unlock()
	in := Info{ID: o.id, Direction: "out", Addr: o.addr, State: o.state, Bytes: o.total, Done: o.done,
		Sent: o.sent, Verified: o.verified, Code: o.code, Error: o.err, Resumed: append([]int64(nil), o.resumed...),
		Peer: o.peer, PeerName: o.peerName, PeerKind: o.peerKind, Started: o.started, Updated: o.updated}
	if o.kept != nil {
		in.Files, in.Items = o.kept.files, slices.Clone(o.kept.items)
		in.Tops, in.Saved = o.kept.tops, slices.Clone(o.kept.saved)
		return in
	}
	in.Files, in.Items = o.summary()
	in.Tops, in.Saved = countTops(o.entries), placedItems(o.entries, o.finals)
	in.atPosition(o.entries, o.done)
	return in
}

// summary returns the count of files and the first 20 names, as this
// daemon sends them: where the receiver saved them is Info.Saved. Call
// with o.mu held.
func (o *outgoing) summary() (files int, items []string) {
	for _, e := range o.entries {
		if !e.Dir {
			files++
		}
		if len(items) < 20 {
			items = append(items, e.Path)
		}
	}
	return files, items
}

// endedAt returns when the transfer ended; ok is false while it has not.
// Call with m.mu held; it takes o.mu.
func (o *outgoing) endedAt() (at time.Time, ok bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.updated, o.state.Final()
}

// end moves the transfer to a final state, lets go of its manifest,
// keeping what Info shows, and tells watchers. Only run calls it, between
// attempts, and loadOutgoing; a stream that outlives its attempt holds its
// own references to the manifest.
func (o *outgoing) end(state State, code, text string) {
	o.mu.Lock()
	o.state, o.code, o.err = state, code, text
	o.updated = time.Now()
	o.kept = keep(o.summary())
	o.kept.tops, o.kept.saved = countTops(o.entries), keepPlaced(placedItems(o.entries, o.finals))
	o.entries, o.local, o.finals = nil, nil, nil
	o.mu.Unlock()
	o.m.ended.Store(true)
	o.m.notify()
}

func (o *outgoing) set(f func()) {
	o.mu.Lock()
	f()
	o.updated = time.Now()
	o.mu.Unlock()
	o.m.notify()
}

func (o *outgoing) stop() { o.cancel() }

func (o *outgoing) cancelByOwner() error {
	o.mu.Lock()
	final := o.state.Final()
	o.cancelled = true
	o.mu.Unlock()
	if final {
		return fmt.Errorf("transfer %s has already ended", o.id)
	}
	o.cancel()
	return nil
}

// run drives the transfer to an end: it connects, and after a lost
// connection reconnects with backoff for as long as ResumeFor allows since
// the last progress.
func (o *outgoing) run() {
	log := o.m.cfg.Log.With("transfer", o.id, "to", o.label)
	backoff := 250 * time.Millisecond
	var connected bool
	// Sessions are numbered from the clock, so that after a restart of
	// this daemon the receiver takes the new session as newer than any it
	// saw; milliseconds stay exact in JavaScript numbers.
	for session := uint64(time.Now().UnixMilli()); ; session++ {
		err := o.attempt(session, &connected)
		if err == nil {
			o.end(StateDone, "", "")
			o.forget()
			log.Info("Transfer finished", "bytes", o.total, "sent", o.info().Sent)
			return
		}
		var ee *endError
		switch {
		case o.ctx.Err() != nil:
			o.mu.Lock()
			byOwner := o.cancelled
			o.mu.Unlock()
			if byOwner {
				ee = &endError{StateCancelled, proto.CodeCancelled, "you cancelled the transfer"}
			} else {
				ee = &endError{StateInterrupted, "", "the daemon stopped"}
			}
		case errors.As(err, &ee):
		case !connected && !o.resuming:
			ee = &endError{StateFailed, "", fmt.Sprintf("cannot reach %s: %v", o.label, err)}
		default:
			o.mu.Lock()
			since := o.lastProgress
			o.mu.Unlock()
			if time.Since(since) > o.m.cfg.ResumeFor {
				ee = &endError{StateFailed, "", fmt.Sprintf("lost the connection to %s and could not resume within %s: %v", o.label, o.m.cfg.ResumeFor, err)}
			}
		}
		if ee != nil {
			if ee.state.Final() {
				o.end(ee.state, ee.code, ee.text)
				o.forget()
			} else {
				o.set(func() { o.state, o.code, o.err = ee.state, ee.code, ee.text })
			}
			log.Info("Transfer ended", "state", ee.state, "code", ee.code, "reason", ee.text)
			return
		}
		log.Info("Connection lost; resuming", "err", err, "in", backoff)
		o.set(func() { o.state = StateInterrupted })
		select {
		case <-time.After(backoff):
		case <-o.ctx.Done():
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// attempt runs one session: connect, offer, and send from where the
// receiver says. It returns nil when the receiver reports every file done.
func (o *outgoing) attempt(num uint64, connected *bool) error {
	ctx, cancel := context.WithCancel(o.ctx)
	defer cancel()
	sig, err := o.open(ctx, *connected || o.resuming)
	if err != nil {
		return err
	}
	defer sig.close()
	s, err := newSession(o.m.cfg.API, o.m.cert, o.id, num, sig.send)
	if err != nil {
		return err
	}
	defer s.close()
	s.holdCandidates()
	ctrlIn := make(chan Control, 64)
	for _, label := range []string{ControlLabel, DataLabel} {
		dc, err := s.pc.CreateDataChannel(label, nil)
		if err != nil {
			return fmt.Errorf("creating data channel: %w", err)
		}
		if label == ControlLabel {
			dc.OnMessage(func(dm webrtc.DataChannelMessage) {
				c, err := DecodeControl(dm.Data)
				if err != nil || !dm.IsString {
					c = Control{Type: MsgError, Code: proto.CodeBadMessage, Text: fmt.Sprintf("the receiver sent a bad control message: %v", err)}
				}
				select {
				case ctrlIn <- c:
				case <-s.closed:
				}
			})
		}
		s.addChannel(dc)
	}
	offer, err := s.pc.CreateOffer(nil)
	if err == nil {
		err = s.pc.SetLocalDescription(offer)
	}
	if err != nil {
		return fmt.Errorf("creating offer: %w", err)
	}
	if err := sig.send(signal.Message{Type: signal.TypeOffer, Conn: o.id, Session: num, SDP: offer.SDP}); err != nil {
		return err
	}
	s.release()
	if err := o.connect(ctx, s, sig); err != nil {
		return err
	}
	if err := o.proveCert(s); err != nil {
		return err
	}
	*connected = true
	o.saveIfMoved()
	if err := o.sendOffer(s); err != nil {
		return errLost
	}
	return o.converse(ctx, s, sig.in, ctrlIn)
}

// connect waits for the answer, checks the receiver's identity, and waits
// for both channels to open.
func (o *outgoing) connect(ctx context.Context, s *session, sig *signaling) error {
	timeout := time.NewTimer(30 * time.Second)
	defer timeout.Stop()
	for {
		select {
		case <-s.ready:
			return nil
		case <-s.closed:
			return errLost
		case <-timeout.C:
			return errors.New("timed out setting up the connection")
		case <-ctx.Done():
			return ctx.Err()
		case msg, ok := <-sig.in:
			if !ok {
				return errLost
			}
			if err := o.signal(s, sig, msg); err != nil {
				return err
			}
		}
	}
}

// signal applies a signaling message for this session.
func (o *outgoing) signal(s *session, sig *signaling, msg signal.Message) error {
	if msg.Type == signal.TypeError {
		if msg.Code == proto.CodeIdentity {
			return &endError{StateFailed, msg.Code, fmt.Sprintf("%s refused this device's identity: %s", o.label, msg.Text)}
		}
		return fmt.Errorf("%s: %s", o.label, msg.Text)
	}
	if msg.Session != s.num {
		return nil // stale
	}
	switch msg.Type {
	case signal.TypeAnswer:
		fp, err := sdpFingerprint(msg.SDP)
		if err != nil {
			return err
		}
		if err := sig.verify(o, fp); err != nil {
			return err
		}
		if err := s.setRemote(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: msg.SDP}); err != nil {
			return err
		}
	case signal.TypeCandidate:
		s.addCandidate(msg.Candidate)
	}
	return nil
}

// proveCert checks the certificate the receiver proved in DTLS: a device
// must hold its device ID's, and every session of one transfer must reach
// the same certificate, so a guest ID that someone else takes up meanwhile
// does not receive the rest of the files.
func (o *outgoing) proveCert(s *session) error {
	fp, sum, err := s.remoteCert()
	if err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if id, err := identity.ParseID(o.peer); err == nil && id != identity.ID(sum) {
		return &endError{StateFailed, proto.CodeIdentityMismatch, fmt.Sprintf("%s proved another certificate in the handshake than its answer announced", o.label)}
	}
	if o.fingerprint != "" && o.fingerprint != fp {
		return &endError{StateFailed, proto.CodeIdentityChanged, fmt.Sprintf("%v: %s reconnected with another certificate; send again to start over", ErrIdentityChanged, o.label)}
	}
	o.fingerprint = fp
	return nil
}

// converse answers the receiver's control messages until the transfer ends
// or the session breaks.
func (o *outgoing) converse(ctx context.Context, s *session, sig <-chan signal.Message, ctrlIn <-chan Control) error {
	o.set(func() {
		if o.state == StateConnecting {
			o.state = StatePending
		}
	})
	streamErr := make(chan error, 1)
	streaming := false
	closed := s.closed
	var serving *linkWait // set once the receiver fetches instead (outgoing_links.go)
	defer func() {
		if serving != nil {
			serving.stop()
		}
	}()
	for {
		var linksDone, linksIdle <-chan struct{}
		if serving != nil {
			linksDone, linksIdle = o.linksDone, serving.idle
		}
		select {
		case <-linksDone:
			if n, _ := o.m.links.pending(o); n == 0 {
				return nil
			}
		case <-linksIdle:
			return &endError{StateExpired, proto.CodeExpired, fmt.Sprintf("the browser did not download the files within %s of the last request", LinkTTL)}
		case <-ctx.Done():
			o.mu.Lock()
			byOwner := o.cancelled
			o.mu.Unlock()
			if byOwner {
				s.sendControl(Control{Type: MsgCancel, Code: proto.CodeCancelled, Text: "the sender cancelled the transfer"})
				drainBuffered(s)
			}
			return ctx.Err()
		case <-closed:
			return errLost
		case msg, ok := <-sig:
			if !ok && serving != nil {
				sig = nil // the browser downloads on its own now
				continue
			}
			if !ok {
				// The hub connection dropped: the receiving daemon
				// stopped or died, and its side of the session with it.
				// Resume now rather than when ICE gives up.
				return errLost
			}
			if err := o.signalConnected(s, msg); err != nil {
				return err
			}
		case <-s.stalled:
			if sig != nil {
				o.m.cfg.Log.Debug("Restarting ICE", "transfer", o.id, "session", s.num)
				if err := s.restartICE(); err != nil {
					return errLost
				}
			}
		case err := <-streamErr:
			if ee := (*endError)(nil); errors.As(err, &ee) {
				// The receiver must not keep what it holds of files this
				// daemon cannot send as they were.
				s.sendControl(Control{Type: MsgError, Code: ee.code, Text: ee.text})
				drainBuffered(s)
			}
			if err != nil {
				return err
			}
		case c := <-ctrlIn:
			switch c.Type {
			case MsgFetch:
				if streaming || serving != nil {
					return &endError{StateFailed, proto.CodeBadMessage, "the receiver asked for links after it accepted"}
				}
				var err error
				if serving, err = o.serveLinks(ctx, s, streamErr); err != nil {
					return err
				}
				streaming, closed = true, nil
			case MsgAccept:
				if streaming {
					return &endError{StateFailed, proto.CodeBadMessage, "the receiver accepted twice"}
				}
				if c.File > len(o.entries) {
					return &endError{StateFailed, proto.CodeBadMessage, "the receiver asked to resume past the end"}
				}
				if c.SHA256 != "" && !sha256Pattern.MatchString(c.SHA256) {
					return &endError{StateFailed, proto.CodeBadMessage, "accept: sha256 must be 64 lowercase hex digits"}
				}
				streaming = true
				start := o.position(c.File, c.Offset)
				o.set(func() {
					if o.state == StateInterrupted || o.sent > 0 || start > 0 {
						o.resumed = append(o.resumed, start)
					}
					o.state, o.done, o.lastProgress = StateActive, start, time.Now()
				})
				// The stream may outlive this session by a chunk, and the
				// transfer, once ended, lets go of its manifest: it gets
				// its own references.
				entries, local := o.entries, o.local
				go func() { streamErr <- o.stream(ctx, s, entries, local, c.File, c.Offset, c.SHA256) }()
			case MsgProgress:
				o.set(func() { o.done, o.lastProgress = c.Received, time.Now() })
			case MsgFileOK:
				if c.File < len(o.finals) {
					o.set(func() { o.verified++; o.finals[c.File] = c.Path; o.lastProgress = time.Now() })
				}
			case MsgDone:
				o.set(func() { o.done = o.total })
				return nil
			case MsgDecline:
				st := StateDeclined
				if c.Code == proto.CodeExpired {
					st = StateExpired
				}
				return &endError{st, c.Code, c.Text}
			case MsgCancel:
				return &endError{StateCancelled, c.Code, c.Text}
			case MsgError:
				return &endError{StateFailed, c.Code, c.Text}
			default:
				return &endError{StateFailed, proto.CodeBadMessage, fmt.Sprintf("the receiver sent an unexpected %s", c.Type)}
			}
		}
	}
}
