package api

import "time"

// PairState is where a pairing stands (docs/protocol.md, "Pairing without
// a hub").
type PairState string

// Pairing states.
const (
	PairWaiting    PairState = "waiting"    // an offer waits for its answer
	PairConnecting PairState = "connecting" // both texts are known; the connection is forming
	PairPaired     PairState = "paired"     // the ferry-hub channel is open; the peer is a guest
	PairClosed     PairState = "closed"     // the paired connection ended
	PairExpired    PairState = "expired"    // an offer got no answer in time
	PairFailed     PairState = "failed"     // the connection did not form
)

// Final reports whether the pairing has ended.
func (s PairState) Final() bool {
	return s == PairClosed || s == PairExpired || s == PairFailed
}

// Pairing is one pairing of this daemon with a device it reaches without a
// common hub.
type Pairing struct {
	ID string `json:"id"`
	// Role is "offer" when this daemon made the offer, "answer" when it
	// answered one.
	Role  string    `json:"role"`
	State PairState `json:"state"`
	// Text is this daemon's pairing text, for the other side: the offer,
	// or the answer.
	Text string `json:"text"`
	// Peer is the other side, once its text is known.
	Peer    *PairPeer `json:"peer,omitempty"`
	Error   string    `json:"error,omitempty"`
	Expires time.Time `json:"expires"`
}

// PairPeer is the other side of a pairing as its text names it.
type PairPeer struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Kind string `json:"kind"` // "guest" or "daemon"
}

// PairRequest carries a pairing text: an answer for a pending offer, or an
// offer to answer.
type PairRequest struct {
	Text string `json:"text"`
}
