package signal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Version is the signaling protocol version. A peer speaking another version
// is refused with code "version".
const Version = 1

// MaxMessageBytes is the largest signaling message accepted.
const MaxMessageBytes = 64 << 10

// Message types.
const (
	TypeHello     = "hello"
	TypeWelcome   = "welcome"
	TypeOffer     = "offer"
	TypeAnswer    = "answer"
	TypeCandidate = "candidate"
	TypeBye       = "bye"
	TypeError     = "error"

	// Mesh and guest messages.
	TypePresence = "presence" // who is connected to a daemon, and the rooms it knows
	TypeCreate   = "create"   // a guest asks its daemon for a new code room
	TypeJoin     = "join"     // a guest joins a code room
	TypeLeave    = "leave"    // a guest leaves a code room
	TypeJoined   = "joined"   // the answer to create and join
)

// Kinds of connection, named in hello.
const (
	KindPeer  = ""      // a daemon setting up transfers with this one
	KindMesh  = "mesh"  // a daemon linking its hub to this one
	KindGuest = "guest" // a browser on this daemon's guest page
	KindProbe = "probe" // asks only for the welcome, then hangs up
)

// Member kinds in presence.
const (
	MemberDaemon = "daemon"
	MemberGuest  = "guest"
)

// Error codes sent in TypeError messages.
const (
	CodeBadMessage  = "bad-message"
	CodeUnknownType = "unknown-type"
	CodeTooLarge    = "too-large"
	CodeVersion     = "version"
	CodeIdentity    = "identity"
	CodeBusy        = "busy"
	CodeNoPeer      = "no-peer"   // addressed to nobody in the mesh
	CodeNoRoom      = "no-room"   // no such code room
	CodeRoomFull    = "room-full" // the room has its limit of members
	CodeTooMany     = "too-many"  // the daemon has its limit of guests or links
)

// Message is one signaling message. Which fields are set depends on Type.
type Message struct {
	V         int        `json:"v"`
	Type      string     `json:"type"`
	From      string     `json:"from,omitempty"`
	Name      string     `json:"name,omitempty"`
	Conn      string     `json:"conn,omitempty"`
	Session   uint64     `json:"session,omitempty"`
	SDP       string     `json:"sdp,omitempty"`
	Candidate *Candidate `json:"candidate,omitempty"`
	Code      string     `json:"code,omitempty"`
	Text      string     `json:"text,omitempty"`
	Kind      string     `json:"kind,omitempty"`
	Port      int        `json:"port,omitempty"`
	To        string     `json:"to,omitempty"`
	Room      string     `json:"room,omitempty"`
	Members   []Member   `json:"members,omitempty"`
	Rooms     []Room     `json:"rooms,omitempty"`
}

// Member is a peer in presence: a daemon or a guest, the daemon it is
// connected to, and the code rooms it is in.
type Member struct {
	ID    string   `json:"id"`
	Name  string   `json:"name"`
	Kind  string   `json:"kind"`
	Home  string   `json:"home"`
	Rooms []string `json:"rooms,omitempty"`
}

// Room is a code room a daemon knows, and for how many seconds it has been
// empty (0 while somebody is in it).
type Room struct {
	Code string `json:"code"`
	Idle int64  `json:"idle"`
}

// Candidate is an ICE candidate as the browser API spells it.
type Candidate struct {
	Candidate     string  `json:"candidate"`
	SDPMid        *string `json:"sdpMid,omitempty"`
	SDPMLineIndex *uint16 `json:"sdpMLineIndex,omitempty"`
}

// ProtocolError is a message that was refused, with the code to send back.
type ProtocolError struct {
	Code string
	Text string
}

func (e *ProtocolError) Error() string { return e.Code + ": " + e.Text }

func perr(code, format string, args ...any) error {
	return &ProtocolError{Code: code, Text: fmt.Sprintf(format, args...)}
}

// Limits on fields, well above what honest peers send.
const (
	maxNameBytes = 256
	maxIDBytes   = 64
	maxSDPBytes  = 48 << 10
	maxCandBytes = 1024
	maxTextBytes = 1024
	// MaxMembers is the most members one presence message lists.
	MaxMembers = 300
	// MaxRooms is the most code rooms one presence message lists, and so
	// the most the mesh holds at once.
	MaxRooms = 256
	// MaxMemberRooms is the most code rooms one member is in at once.
	MaxMemberRooms = 16
)

// Decode parses and validates one message.
func Decode(b []byte) (Message, error) {
	var m Message
	if len(b) > MaxMessageBytes {
		return m, perr(CodeTooLarge, "message is %d bytes (the limit is %d)", len(b), MaxMessageBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&m); err != nil {
		return Message{}, perr(CodeBadMessage, "malformed JSON: %v", err)
	}
	if dec.More() {
		return Message{}, perr(CodeBadMessage, "malformed JSON: data after the message")
	}
	return m, m.Validate()
}

// Validate checks the fields a message of its type needs.
func (m *Message) Validate() error {
	if m.V != Version {
		return perr(CodeVersion, "protocol version %d is not supported (this peer speaks %d)", m.V, Version)
	}
	switch {
	case len(m.From) > maxIDBytes, len(m.Conn) > maxIDBytes, len(m.To) > maxIDBytes:
		return perr(CodeBadMessage, "from, to or conn is longer than %d bytes", maxIDBytes)
	case len(m.Name) > maxNameBytes:
		return perr(CodeBadMessage, "name is longer than %d bytes", maxNameBytes)
	case len(m.SDP) > maxSDPBytes:
		return perr(CodeTooLarge, "sdp is longer than %d bytes", maxSDPBytes)
	case len(m.Text) > maxTextBytes || len(m.Code) > maxIDBytes:
		return perr(CodeBadMessage, "error text is too long")
	case m.Port < 0 || m.Port > 65535:
		return perr(CodeBadMessage, "port %d is out of range", m.Port)
	}
	switch m.Type {
	case TypeHello, TypeWelcome:
		if m.From == "" {
			return perr(CodeBadMessage, "%s needs from", m.Type)
		}
		switch m.Kind {
		case KindPeer, KindMesh, KindProbe:
		case KindGuest:
			if !ValidGuestID(m.From) {
				return perr(CodeBadMessage, "a guest ID is 8 to 64 letters, digits, '-' or '_'")
			}
		default:
			return perr(CodeBadMessage, "unknown kind of connection %q", m.Kind)
		}
	case TypePresence:
		return m.validatePresence()
	case TypeCreate:
	case TypeJoin, TypeLeave, TypeJoined:
		if !ValidRoomCode(m.Room) {
			return perr(CodeBadMessage, "%s needs a room code of %d characters from %s", m.Type, RoomCodeLen, RoomAlphabet)
		}
	case TypeOffer, TypeAnswer:
		if m.Conn == "" || m.Session == 0 || m.SDP == "" {
			return perr(CodeBadMessage, "%s needs conn, session and sdp", m.Type)
		}
	case TypeCandidate:
		if m.Conn == "" || m.Session == 0 || m.Candidate == nil {
			return perr(CodeBadMessage, "candidate needs conn, session and candidate")
		}
		if len(m.Candidate.Candidate) > maxCandBytes {
			return perr(CodeTooLarge, "candidate is longer than %d bytes", maxCandBytes)
		}
	case TypeBye:
		if m.Conn == "" {
			return perr(CodeBadMessage, "bye needs conn")
		}
	case TypeError:
		if m.Code == "" {
			return perr(CodeBadMessage, "error needs code")
		}
	case "":
		return perr(CodeBadMessage, "message has no type")
	default:
		return perr(CodeUnknownType, "unknown message type %q", m.Type)
	}
	return nil
}

func (m *Message) validatePresence() error {
	if len(m.Members) > MaxMembers || len(m.Rooms) > MaxRooms {
		return perr(CodeTooLarge, "presence lists more than %d members or %d rooms", MaxMembers, MaxRooms)
	}
	for _, p := range m.Members {
		switch {
		case p.ID == "" || len(p.ID) > maxIDBytes || p.Home == "" || len(p.Home) > maxIDBytes:
			return perr(CodeBadMessage, "a member needs an id and a home of at most %d bytes", maxIDBytes)
		case len(p.Name) > maxNameBytes:
			return perr(CodeBadMessage, "member name is longer than %d bytes", maxNameBytes)
		case p.Kind != MemberDaemon && p.Kind != MemberGuest:
			return perr(CodeBadMessage, "unknown member kind %q", p.Kind)
		case len(p.Rooms) > MaxMemberRooms:
			return perr(CodeTooLarge, "a member is in more than %d rooms", MaxMemberRooms)
		}
		for _, r := range p.Rooms {
			if !ValidRoomCode(r) {
				return perr(CodeBadMessage, "bad room code %q", r)
			}
		}
	}
	for _, r := range m.Rooms {
		if !ValidRoomCode(r.Code) || r.Idle < 0 {
			return perr(CodeBadMessage, "bad room %q", r.Code)
		}
	}
	return nil
}

// ValidGuestID reports whether id can name a guest: 8 to 64 ASCII letters,
// digits, '-' or '_'.
func ValidGuestID(id string) bool {
	if len(id) < 8 || len(id) > maxIDBytes {
		return false
	}
	for _, c := range []byte(id) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// CodeOf returns the protocol error code of err, or "" if it has none.
func CodeOf(err error) string {
	var pe *ProtocolError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}
