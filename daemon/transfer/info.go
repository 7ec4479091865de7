package transfer

import (
	"strings"
	"time"

	"github.com/ferry-dev/ferry/daemon/identity"
)

// State is where a transfer stands.
type State string

// Transfer states. docs/protocol.md draws the state machines.
const (
	StateConnecting  State = "connecting"  // out: reaching the peer
	StatePending     State = "pending"     // waiting for the receiver's owner
	StateActive      State = "active"      // bytes are moving
	StateInterrupted State = "interrupted" // connection lost; resuming
	StateDone        State = "done"        // every file arrived and was verified
	StateDeclined    State = "declined"
	StateExpired     State = "expired"
	StateCancelled   State = "cancelled"
	StateFailed      State = "failed"
)

// Final reports whether the state is terminal.
func (s State) Final() bool {
	switch s {
	case StateDone, StateDeclined, StateExpired, StateCancelled, StateFailed:
		return true
	}
	return false
}

// Kinds of peer, as Info.PeerKind gives them.
const (
	KindDaemon = "daemon" // a computer running ferry, known by its device ID
	KindGuest  = "guest"  // a browser on a daemon's guest page
)

// Info is a snapshot of one transfer.
type Info struct {
	ID        string `json:"id"`
	Direction string `json:"direction"` // "in" or "out"
	Peer      string `json:"peer,omitempty"`
	PeerName  string `json:"peerName,omitempty"`
	PeerKind  string `json:"peerKind,omitempty"` // KindDaemon or KindGuest
	Addr      string `json:"addr,omitempty"`
	State     State  `json:"state"`
	Files     int    `json:"files"`
	Bytes     int64  `json:"bytes"`
	Done      int64  `json:"done"` // bytes the receiver holds
	Sent      int64  `json:"sent"` // bytes put on the wire, resends included (out only)
	// Arrived is, for an incoming transfer, the chunk bytes it took from
	// the wire itself since this daemon began or restored it.
	Arrived  int64    `json:"arrived,omitempty"`
	Verified int      `json:"verified"`
	Items    []string `json:"items,omitempty"` // up to 20 names: as saved here (in) once known, as sent (out)
	Code     string   `json:"code,omitempty"`
	Error    string   `json:"error,omitempty"`
	Resumed  []int64  `json:"resumed,omitempty"` // byte positions each resume started from
	// File is the file the receiver is writing now (its path in the
	// manifest), FileDone of its FileBytes held; empty before the first
	// byte and after the last.
	File      string    `json:"file,omitempty"`
	FileDone  int64     `json:"fileDone,omitempty"`
	FileBytes int64     `json:"fileBytes,omitempty"`
	Started   time.Time `json:"started"`
	Updated   time.Time `json:"updated"`

	// Tops counts the top-level entries: the files and folders the
	// sender picked.
	Tops int `json:"tops,omitempty"`
	// Saved is, for an outgoing transfer, where the receiver saved the
	// first top-level items.
	Saved []Placed `json:"saved,omitempty"`
	// Held is, for an unfinished incoming transfer, the bytes its part
	// files hold: what it keeps in the downloads folder to resume.
	Held int64 `json:"held,omitempty"`
}

// atPosition fills in File, FileDone and FileBytes for a transfer whose
// receiver holds done bytes: files arrive in manifest order, so the file in
// progress is the one the position falls in.
func (in *Info) atPosition(entries []Entry, done int64) {
	if done <= 0 || in.State.Final() {
		return
	}
	for _, e := range entries {
		if e.Dir {
			continue
		}
		if done < e.Size {
			in.File, in.FileDone, in.FileBytes = e.Path, done, e.Size
			return
		}
		done -= e.Size
	}
}

// kept is what an ended transfer keeps of its manifest for Info: the count
// of files and the first names, each cut short. The manifest and every
// file's state are let go, so an ended transfer costs the same whatever it
// offered.
type kept struct {
	files int
	items []string
	tops  int
	saved []Placed // outgoing only
}

// maxItemBytes is the longest name an ended transfer keeps in Info.Items.
const maxItemBytes = 256

func keep(files int, items []string) *kept {
	k := &kept{files: files, items: make([]string, len(items))}
	for i, name := range items {
		k.items[i] = strings.Clone(clip(name, maxItemBytes))
	}
	return k
}

// Peer is the other side of an incoming transfer, as the owner's accept
// policy sees it.
type Peer struct {
	// ID is a daemon's device ID (52 base32 characters) or the client ID a
	// guest chose.
	ID   string
	Name string
	// Guest is set for a browser guest. Anyone can claim a client ID, so a
	// guest is known by it and by the certificate of its session, and is
	// never trusted as a device, whatever its ID looks like.
	Guest bool
	// Fingerprint is the SHA-256 of the certificate the peer proved in the
	// DTLS handshake, as SDP writes it ("sha-256 AB:CD:..."): for a daemon
	// its device ID in another form; for a guest what ties its sessions to
	// one transfer.
	Fingerprint string
}

// Device returns the device ID of a daemon; ok is false for a guest.
func (p Peer) Device() (id identity.ID, ok bool) {
	if p.Guest {
		return identity.ID{}, false
	}
	id, err := identity.ParseID(p.ID)
	return id, err == nil
}

// Kind returns KindGuest or KindDaemon.
func (p Peer) Kind() string {
	if p.Guest {
		return KindGuest
	}
	return KindDaemon
}

// same reports whether p and q are the same sender: a guest never matches a
// daemon, even with the same ID.
func (p Peer) same(q Peer) bool { return p.ID == q.ID && p.Guest == q.Guest }

// label names the peer briefly in logs and messages.
func (p Peer) label() string {
	if id, ok := p.Device(); ok {
		return id.Short()
	}
	return p.ID
}
