// Package api is the contract between a ferry daemon and its owner's
// clients (the CLI, the dashboard): the JSON types of every request and
// answer of the local API, and a Go client for it. The routes themselves are
// served by package web.
//
// It imports nothing else from ferry, so a client needs nothing of the
// daemon's engine to speak to it, and the engine's types can change without
// changing what clients see.
package api

import "time"

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

// Kinds of peer.
const (
	KindDaemon = "daemon" // a computer running ferry
	KindGuest  = "guest"  // a browser on a daemon's guest page
)

// Transfer is a snapshot of one transfer.
type Transfer struct {
	ID        string    `json:"id"`
	Direction string    `json:"direction"` // "in" or "out"
	Peer      string    `json:"peer,omitempty"`
	PeerName  string    `json:"peerName,omitempty"`
	PeerKind  string    `json:"peerKind,omitempty"`
	Addr      string    `json:"addr,omitempty"`
	State     State     `json:"state"`
	Files     int       `json:"files"`
	Bytes     int64     `json:"bytes"`
	Done      int64     `json:"done"` // bytes the receiver holds
	Sent      int64     `json:"sent"` // bytes put on the wire, resends included (out only)
	Verified  int       `json:"verified"`
	Items     []string  `json:"items,omitempty"` // up to 20 names: as saved here (in) once known, as sent (out)
	Code      string    `json:"code,omitempty"`
	Error     string    `json:"error,omitempty"`
	Resumed   []int64   `json:"resumed,omitempty"`   // byte positions each resume started from
	File      string    `json:"file,omitempty"`      // the file in progress
	FileDone  int64     `json:"fileDone,omitempty"`  // bytes of it the receiver holds
	FileBytes int64     `json:"fileBytes,omitempty"` // its size
	Started   time.Time `json:"started"`
	Updated   time.Time `json:"updated"`

	// Tops counts the top-level items: the files and folders the sender
	// picked.
	Tops int `json:"tops,omitempty"`
	// Saved says, for an outgoing transfer, where the receiver saved each
	// of the first 20 top-level items, as it reported them.
	Saved []Placed `json:"saved,omitempty"`
	// Held is, for an unfinished incoming transfer, the bytes its .part
	// files hold in the downloads folder ('ferry clean' drops them).
	Held int64 `json:"held,omitempty"`
}

// Placed is one top-level item of an outgoing transfer: its name as sent,
// and the name the receiver saved it under, relative to the receiver's
// downloads folder. As differs from Name when the name was taken there
// (" (1)" is added). It is empty until the receiver has reported a file of
// the item, and stays empty for an empty folder and for files the receiver
// verified before the sending daemon restarted.
type Placed struct {
	Name string `json:"name"`
	As   string `json:"as,omitempty"`
	Dir  bool   `json:"dir,omitempty"`
}

// Entry is one file or folder of a transfer, as the sender listed it.
type Entry struct {
	Path string `json:"path"` // relative, with "/" between folders
	Size int64  `json:"size,omitempty"`
	Dir  bool   `json:"dir,omitempty"`
}

// Status describes the daemon for `ferry status`.
type Status struct {
	Name      string   `json:"name"`
	ID        string   `json:"id"`
	ShortID   string   `json:"shortId"`
	Version   string   `json:"version"`
	Addresses []string `json:"addresses"`
	Port      int      `json:"port"`
	// Phone is the address a phone on the network opens, "" if there is
	// none another device can reach.
	Phone string `json:"phone,omitempty"`
	// HTTPSPort is the port that serves the same pages over HTTPS, 0 when
	// the HTTPS mode is off; PhoneHTTPS is Phone's https:// twin.
	HTTPSPort  int    `json:"httpsPort,omitempty"`
	PhoneHTTPS string `json:"phoneHttps,omitempty"`
	// Fingerprint is the SHA-256 of the device's certificate in the form
	// browsers show it ("AB:CD:..."): the same hash as ID, so a person can
	// check a browser's certificate details against it.
	Fingerprint string `json:"fingerprint"`
	Downloads   string `json:"downloads"`
	Accept      string `json:"accept"`
	// RunningAs says how the daemon runs: "service" (started by the OS
	// service manager) or "foreground" (ferry run in a terminal).
	RunningAs string     `json:"runningAs"`
	Transfers []Transfer `json:"transfers"`
}

// Peer is a nearby daemon as `ferry peers` shows it.
type Peer struct {
	ID        string    `json:"id"`
	ShortID   string    `json:"shortId"`
	Name      string    `json:"name"`
	Addrs     []string  `json:"addrs"`
	Port      int       `json:"port"`
	Version   int       `json:"version"`
	FirstSeen time.Time `json:"firstSeen"`
	LastSeen  time.Time `json:"lastSeen"`
	Manual    bool      `json:"manual,omitempty"` // added by address, kept without mDNS
	// Address is where the daemon is reached: empty when every address
	// answered with another device's certificate.
	Address string   `json:"address,omitempty"`
	Flagged []string `json:"flagged,omitempty"`
	Trusted bool     `json:"trusted"`
}

// Trust is the answer to trust and untrust: the device and the code both
// owners compare.
type Trust struct {
	ID      string `json:"id"`
	ShortID string `json:"shortId"`
	Name    string `json:"name"`
	Code    string `json:"code,omitempty"`
}

// Member is someone in the nearby room or a code room: a daemon or a guest,
// the daemon it is connected to, and the code rooms it is in.
type Member struct {
	ID    string   `json:"id"`
	Name  string   `json:"name"`
	Kind  string   `json:"kind"`
	Home  string   `json:"home"`
	Rooms []string `json:"rooms,omitempty"`
}

// Room is a code room with its join links, one per address of this device.
type Room struct {
	Code    string        `json:"code"`
	Members []Member      `json:"members"`
	Joined  bool          `json:"joined"`              // this daemon is in it
	Expires time.Duration `json:"expiresIn,omitempty"` // left of its time while empty
	Link    string        `json:"link"`
	Links   []string      `json:"links"`
}

// RoomsView is the answer to GET /api/rooms: everyone in the nearby room,
// and the code rooms.
type RoomsView struct {
	Nearby []Member `json:"nearby"`
	Rooms  []Room   `json:"rooms"`
}

// RoomSend is the answer to a send to a room: a transfer per daemon in it,
// and the members that could not be sent to.
type RoomSend struct {
	Transfers []RoomTransfer `json:"transfers"`
	Skipped   []RoomTransfer `json:"skipped"`
}

// RoomTransfer is one member of a send to a room.
type RoomTransfer struct {
	Peer  string `json:"peer"`
	Name  string `json:"name"`
	ID    string `json:"id,omitempty"`
	Error string `json:"error,omitempty"`
}

// SendRequest is the body of POST /api/send: to one peer, or to every
// daemon in a code room.
type SendRequest struct {
	To    string   `json:"to,omitempty"`
	Room  string   `json:"room,omitempty"`
	Paths []string `json:"paths,omitempty"`
	// Upload, instead of Paths, sends what the dashboard uploaded.
	Upload string `json:"upload,omitempty"`
}

// Started is the answer to a send to one peer.
type Started struct {
	ID string `json:"id"`
}

// RoomRequest is the body of join and leave.
type RoomRequest struct {
	Room string `json:"room"`
}

// PeerRequest is the body of forget, trust, untrust and connect: an
// address, or a device name or ID.
type PeerRequest struct {
	Peer string `json:"peer"`
}

// Error is the body of every error answer.
type Error struct {
	Error string `json:"error"`
}

// Message is a short text or link sent to or received from a device or a
// browser guest.
type Message struct {
	ID        string    `json:"id"`
	Direction string    `json:"direction"` // "in" or "out"
	Peer      string    `json:"peer"`      // the other side's device or guest ID
	PeerName  string    `json:"peerName"`
	PeerKind  string    `json:"peerKind"` // KindDaemon or KindGuest
	Text      string    `json:"text"`
	Time      time.Time `json:"time"`
	// Error says why an outgoing message did not leave, if it did not.
	Error string `json:"error,omitempty"`
}

// MessageRequest is the body of POST /api/messages.
type MessageRequest struct {
	To   string `json:"to"` // a device or guest ID
	Text string `json:"text"`
}

// Settings are what the owner can change from the dashboard; they are
// written to the data folder's config.json.
type Settings struct {
	Name      string `json:"name"`
	Downloads string `json:"downloads"`
	Accept    string `json:"accept"` // none, trusted or all
	Port      int    `json:"port"`
	// HTTPS also serves the pages over HTTPS, on HTTPSPort; an HTTPSPort
	// of 0 is the port after Port.
	HTTPS     bool `json:"https"`
	HTTPSPort int  `json:"httpsPort,omitempty"`
}

// SettingsSaved is the answer to a change of settings: what is saved, and
// which of the changes take effect only when the daemon restarts.
type SettingsSaved struct {
	Settings Settings `json:"settings"`
	Restart  []string `json:"restart,omitempty"` // names of fields, as in Settings' JSON
}

// Upload is a batch of files the dashboard streams to the daemon to send:
// the daemon keeps them until the transfers that use them end.
type Upload struct {
	ID    string   `json:"id"`
	Items []string `json:"items"` // top-level names received so far
	Bytes int64    `json:"bytes"`
}

// Snapshot is the first event of the event stream, and the state to start
// from after every reconnect.
type Snapshot struct {
	Version int `json:"version"` // EventsVersion
	// Boot changes every time the daemon starts, so a page can tell a
	// restart from a lost connection.
	Boot      string     `json:"boot"`
	Status    Status     `json:"status"`
	Peers     []Peer     `json:"peers"`
	Rooms     RoomsView  `json:"rooms"`
	Transfers []Transfer `json:"transfers"`
	Messages  []Message  `json:"messages"`
	Settings  Settings   `json:"settings"`
}

// EventsVersion is the version of the event stream's format, sent with
// every snapshot as the stream's "version" field.
const EventsVersion = 1
