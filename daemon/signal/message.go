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
)

// Error codes sent in TypeError messages.
const (
	CodeBadMessage  = "bad-message"
	CodeUnknownType = "unknown-type"
	CodeTooLarge    = "too-large"
	CodeVersion     = "version"
	CodeIdentity    = "identity"
	CodeBusy        = "busy"
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
	case len(m.From) > maxIDBytes, len(m.Conn) > maxIDBytes:
		return perr(CodeBadMessage, "from or conn is longer than %d bytes", maxIDBytes)
	case len(m.Name) > maxNameBytes:
		return perr(CodeBadMessage, "name is longer than %d bytes", maxNameBytes)
	case len(m.SDP) > maxSDPBytes:
		return perr(CodeTooLarge, "sdp is longer than %d bytes", maxSDPBytes)
	case len(m.Text) > maxTextBytes || len(m.Code) > maxIDBytes:
		return perr(CodeBadMessage, "error text is too long")
	}
	switch m.Type {
	case TypeHello, TypeWelcome:
		if m.From == "" {
			return perr(CodeBadMessage, "%s needs from", m.Type)
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

// CodeOf returns the protocol error code of err, or "" if it has none.
func CodeOf(err error) string {
	var pe *ProtocolError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}
