package signal

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/ferry-dev/ferry/daemon/proto"
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
	TypeText     = "text"     // a short note or link for a daemon or a guest, routed like offer
	TypePing     = "ping"     // a guest asks whether its connection is alive
	TypePong     = "pong"     // the daemon's answer to ping
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

// Message is one signaling message. Which fields are set depends on Type.
type Message struct {
	V         int        `json:"v"`
	Type      string     `json:"type"`
	From      string     `json:"from,omitempty"`
	Name      string     `json:"name,omitempty"`
	Conn      string     `json:"conn,omitempty"`
	ID        string     `json:"id,omitempty"` // a text message's, chosen by its sender; see TypeText
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
	// Cert and Sig, in a daemon's hello, prove the device ID it claims:
	// its certificate and its signature of the hub's challenge, base64.
	Cert string `json:"cert,omitempty"`
	Sig  string `json:"sig,omitempty"`
}

// Member is a peer in presence: a daemon or a guest, the daemon it is
// connected to, and the code rooms it is in. Between daemons a room is
// named by the member's proof (MemberProof); to a guest, by its code, and
// only for the rooms the guest is in itself.
type Member struct {
	ID    string   `json:"id"`
	Name  string   `json:"name"`
	Kind  string   `json:"kind"`
	Home  string   `json:"home"`
	Rooms []string `json:"rooms,omitempty"`
}

// Room is a code room a daemon knows, and for how many seconds it has been
// empty (0 while somebody is in it). Between daemons Code is the room's tag
// (RoomTag), never its code.
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

// Limits on fields, well above what honest peers send.
const (
	maxNameBytes = 256
	maxIDBytes   = 64
	maxSDPBytes  = 48 << 10
	maxCandBytes = 1024
	maxCertBytes = 4096 // base64
	maxSigBytes  = 256  // base64
	maxErrorText = 1024 // the text of any message but a text message
	// MaxTextBytes is the longest text of a text message, in bytes.
	MaxTextBytes = 4096
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
		return m, proto.Errorf(proto.CodeTooLarge, "message is %d bytes (the limit is %d)", len(b), MaxMessageBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&m); err != nil {
		return Message{}, proto.Errorf(proto.CodeBadMessage, "malformed JSON: %v", err)
	}
	if dec.More() {
		return Message{}, proto.Errorf(proto.CodeBadMessage, "malformed JSON: data after the message")
	}
	return m, m.Validate()
}

// Validate checks the fields a message of its type needs.
func (m *Message) Validate() error {
	if m.V != Version {
		return proto.Errorf(proto.CodeVersion, "protocol version %d is not supported (this peer speaks %d)", m.V, Version)
	}
	switch {
	case len(m.From) > maxIDBytes, len(m.Conn) > maxIDBytes, len(m.To) > maxIDBytes, len(m.ID) > maxIDBytes:
		return proto.Errorf(proto.CodeBadMessage, "from, to, conn or id is longer than %d bytes", maxIDBytes)
	case len(m.Name) > maxNameBytes:
		return proto.Errorf(proto.CodeBadMessage, "name is longer than %d bytes", maxNameBytes)
	case len(m.SDP) > maxSDPBytes:
		return proto.Errorf(proto.CodeTooLarge, "sdp is longer than %d bytes", maxSDPBytes)
	case m.Type != TypeText && len(m.Text) > maxErrorText, len(m.Code) > maxIDBytes:
		return proto.Errorf(proto.CodeBadMessage, "error text is too long")
	case len(m.Cert) > maxCertBytes || len(m.Sig) > maxSigBytes:
		return proto.Errorf(proto.CodeBadMessage, "cert or sig is too long")
	case m.Port < 0 || m.Port > 65535:
		return proto.Errorf(proto.CodeBadMessage, "port %d is out of range", m.Port)
	}
	switch m.Type {
	case TypeHello, TypeWelcome:
		if m.From == "" {
			return proto.Errorf(proto.CodeBadMessage, "%s needs from", m.Type)
		}
		switch m.Kind {
		case KindPeer, KindMesh, KindProbe:
		case KindGuest:
			if !ValidGuestID(m.From) {
				return proto.Errorf(proto.CodeBadMessage, "a guest ID is 8 to 64 letters, digits, '-' or '_'")
			}
		default:
			return proto.Errorf(proto.CodeBadMessage, "unknown kind of connection %q", m.Kind)
		}
	case TypePresence:
		return m.validatePresence()
	case TypeCreate, TypePing, TypePong:
	case TypeText:
		return m.validateText()
	case TypeJoin, TypeLeave, TypeJoined:
		if !ValidRoomCode(m.Room) {
			return proto.Errorf(proto.CodeBadMessage, "%s needs a room code of %d characters from %s", m.Type, RoomCodeLen, RoomAlphabet)
		}
	case TypeOffer, TypeAnswer:
		if m.Conn == "" || m.Session == 0 || m.SDP == "" {
			return proto.Errorf(proto.CodeBadMessage, "%s needs conn, session and sdp", m.Type)
		}
	case TypeCandidate:
		if m.Conn == "" || m.Session == 0 || m.Candidate == nil {
			return proto.Errorf(proto.CodeBadMessage, "candidate needs conn, session and candidate")
		}
		if len(m.Candidate.Candidate) > maxCandBytes {
			return proto.Errorf(proto.CodeTooLarge, "candidate is longer than %d bytes", maxCandBytes)
		}
	case TypeBye:
		if m.Conn == "" {
			return proto.Errorf(proto.CodeBadMessage, "bye needs conn")
		}
	case TypeError:
		if m.Code == "" {
			return proto.Errorf(proto.CodeBadMessage, "error needs code")
		}
	case "":
		return proto.Errorf(proto.CodeBadMessage, "message has no type")
	default:
		return proto.Errorf(proto.CodeUnknownType, "unknown message type %q", m.Type)
	}
	return nil
}

func (m *Message) validatePresence() error {
	if len(m.Members) > MaxMembers || len(m.Rooms) > MaxRooms {
		return proto.Errorf(proto.CodeTooLarge, "presence lists more than %d members or %d rooms", MaxMembers, MaxRooms)
	}
	for _, p := range m.Members {
		switch {
		case p.ID == "" || len(p.ID) > maxIDBytes || p.Home == "" || len(p.Home) > maxIDBytes:
			return proto.Errorf(proto.CodeBadMessage, "a member needs an id and a home of at most %d bytes", maxIDBytes)
		case len(p.Name) > maxNameBytes:
			return proto.Errorf(proto.CodeBadMessage, "member name is longer than %d bytes", maxNameBytes)
		case p.Kind != MemberDaemon && p.Kind != MemberGuest:
			return proto.Errorf(proto.CodeBadMessage, "unknown member kind %q", p.Kind)
		case len(p.Rooms) > MaxMemberRooms:
			return proto.Errorf(proto.CodeTooLarge, "a member is in more than %d rooms", MaxMemberRooms)
		}
		for _, r := range p.Rooms {
			if !ValidRoomCode(r) && !ValidRoomToken(r) {
				return proto.Errorf(proto.CodeBadMessage, "bad room code %q", r)
			}
		}
	}
	for _, r := range m.Rooms {
		if !ValidRoomCode(r.Code) && !ValidRoomToken(r.Code) || r.Idle < 0 {
			return proto.Errorf(proto.CodeBadMessage, "bad room %q", r.Code)
		}
	}
	return nil
}

func (m *Message) validateText() error {
	switch {
	case m.To == "" || m.ID == "" || m.Text == "":
		return proto.Errorf(proto.CodeBadMessage, "text needs to, id and text")
	case !ValidMessageID(m.ID):
		return proto.Errorf(proto.CodeBadMessage, "a message id is 8 to 64 letters, digits, '-' or '_'")
	case len(m.Text) > MaxTextBytes:
		return proto.Errorf(proto.CodeTooLarge, "text is %d bytes (the limit is %d)", len(m.Text), MaxTextBytes)
	case !utf8.ValidString(m.Text):
		return proto.Errorf(proto.CodeBadMessage, "text is not valid UTF-8")
	case strings.IndexByte(m.Text, 0) >= 0:
		return proto.Errorf(proto.CodeBadMessage, "text holds a NUL character")
	}
	return nil
}

// ValidMessageID reports whether id can name a text message: the same
// characters and length as a guest ID.
func ValidMessageID(id string) bool { return ValidGuestID(id) }

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
