package proto

import (
	"errors"
	"fmt"
)

// Error is a message or request that was refused, with the code to send
// back. Error returns only the text, which is written for people; the code
// is for programs and travels beside it (CodeOf).
type Error struct {
	Code string
	Text string
}

func (e *Error) Error() string { return e.Text }

// Errorf returns an Error with code and a text formatted as fmt.Sprintf does.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Text: fmt.Sprintf(format, args...)}
}

// CodeOf returns the protocol error code of err, or "" if it has none.
func CodeOf(err error) string {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// Codes of signaling errors (section 1 of docs/protocol.md).
const (
	CodeBadMessage  = "bad-message"  // malformed, missing a field, or out of place
	CodeUnknownType = "unknown-type" // a type this version does not know
	CodeTooLarge    = "too-large"    // a message, page or chunk over its limit
	CodeVersion     = "version"      // another protocol version
	CodeIdentity    = "identity"     // an ID that is not the sender's, or one it may not use
	CodeBusy        = "busy"         // too many at once, or one from this peer already
	CodeNoPeer      = "no-peer"      // addressed to nobody in the mesh
	CodeNoRoom      = "no-room"      // no such code room
	CodeRoomFull    = "room-full"    // the room has its limit of members
	CodeTooMany     = "too-many"     // the daemon has its limit of guests, links or rooms
)

// Codes of the file protocol (section 2 of docs/protocol.md). CodeBadMessage,
// CodeUnknownType, CodeTooLarge and CodeBusy serve there too.
const (
	CodeBadName         = "bad-name"         // a path the receiver refuses
	CodeTooManyFiles    = "too-many-files"   // count over the limit
	CodeUnknownFile     = "unknown-file"     // an index that is not a file of the manifest
	CodeBadOffset       = "bad-offset"       // a chunk at another offset than the bytes held
	CodeTooManyBytes    = "too-many-bytes"   // more bytes than the entry's size
	CodeHashMismatch    = "hash-mismatch"    // the SHA-256 of a received file differs
	CodeNoSpace         = "no-space"         // the downloads folder lacks the space
	CodeStorage         = "storage"          // the downloads folder could not be written
	CodeDeclined        = "declined"         // the owner said no
	CodeExpired         = "expired"          // nobody answered in time
	CodeCancelled       = "cancelled"        // someone cancelled
	CodeIdentityChanged = "identity-changed" // the peer presented another certificate than before
	// CodeIdentityMismatch ends a send to a known device that answered with
	// another certificate. It never travels on the wire; it is what the
	// owner's API shows.
	CodeIdentityMismatch = "identity-mismatch"
)
