package transfer

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"regexp"

	"github.com/ferry-dev/ferry/daemon/proto"
)

// Channel labels. The control channel carries JSON text messages; the data
// channel carries binary chunks. Both are ordered and reliable.
const (
	ControlLabel = "ferry-control"
	DataLabel    = "ferry-data"
)

// Control message types.
const (
	MsgOffer    = "offer"
	MsgEntries  = "entries"
	MsgAccept   = "accept"
	MsgDecline  = "decline"
	MsgProgress = "progress"
	MsgFileEnd  = "file-end"
	MsgFileOK   = "file-ok"
	MsgDone     = "done"
	MsgCancel   = "cancel"
	MsgError    = "error"
	// MsgFetch, from a browser that cannot hold the files in its page,
	// asks the sending daemon for links to download them from it over
	// HTTP instead; MsgLink gives one (file, path: the URL).
	MsgFetch = "fetch"
	MsgLink  = "link"
)

// Limits of the file protocol.
const (
	MaxControlBytes   = 64 << 10 // one control message
	MaxEntries        = 100_000  // items in one offer
	MaxEntriesPerPage = 256      // items in one offer or entries message
	// MaxManifestBytes bounds the manifest of one offer, counted as every
	// path's bytes plus EntryOverheadBytes for each item: what a receiver
	// holds in memory for an offer waiting on its owner. ManifestBytes
	// counts it.
	MaxManifestBytes   = 16 << 20
	EntryOverheadBytes = 32
	ChunkHeaderBytes   = 12
	MaxChunkBytes      = 64 << 10 // whole chunk message, header included
)

// Entry is one item of an offer's manifest.
type Entry struct {
	Path  string `json:"path"`
	Size  int64  `json:"size,omitempty"`
	Mtime int64  `json:"mtime,omitempty"` // milliseconds since the Unix epoch
	Dir   bool   `json:"dir,omitempty"`
}

// ManifestBytes returns the size of entries as MaxManifestBytes counts it.
func ManifestBytes(entries []Entry) int {
	n := 0
	for _, e := range entries {
		n += len(e.Path) + EntryOverheadBytes
	}
	return n
}

// Control is one message on the control channel. Which fields are set
// depends on Type; docs/protocol.md lists them.
type Control struct {
	Type     string  `json:"type"`
	Transfer string  `json:"transfer,omitempty"`
	Name     string  `json:"name,omitempty"`
	Count    int     `json:"count,omitempty"`
	Bytes    int64   `json:"bytes,omitempty"`
	Entries  []Entry `json:"entries,omitempty"`
	File     int     `json:"file,omitempty"`
	Offset   int64   `json:"offset,omitempty"`
	SHA256   string  `json:"sha256,omitempty"`
	Path     string  `json:"path,omitempty"`
	Received int64   `json:"received,omitempty"`
	Code     string  `json:"code,omitempty"`
	Text     string  `json:"text,omitempty"`
	// CheckHeld, in an offer, says the sender checks the sha256 an accept
	// gives for the bytes held of its file, and sends that file from its
	// start when they differ; the receiver may then offer bytes it holds
	// but never made durable (store.Placement.Extend).
	CheckHeld bool `json:"checkHeld,omitempty"`
}

var (
	transferIDPattern = regexp.MustCompile(`^[a-z0-9]{8,32}$`)
	sha256Pattern     = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// DecodeControl parses and validates one control message. It checks the
// shape of each type; whether the message fits the transfer's state is the
// state machine's business. Its errors are *proto.Error.
func DecodeControl(b []byte) (Control, error) {
	var c Control
	if len(b) > MaxControlBytes {
		return c, proto.Errorf(proto.CodeTooLarge, "control message is %d bytes (the limit is %d)", len(b), MaxControlBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&c); err != nil {
		return Control{}, proto.Errorf(proto.CodeBadMessage, "malformed control message: %v", err)
	}
	// Decoder.More says nothing of a } or ] after the message, so look.
	if len(bytes.TrimLeft(b[dec.InputOffset():], " \t\r\n")) > 0 {
		return Control{}, proto.Errorf(proto.CodeBadMessage, "malformed control message: data after the message")
	}
	if err := c.validate(); err != nil {
		return Control{}, err
	}
	return c, nil
}

func (c *Control) validate() error {
	if len(c.Name) > 256 || len(c.Text) > 1024 || len(c.Code) > 64 || len(c.Path) > 4096 {
		return proto.Errorf(proto.CodeBadMessage, "%s: a text field is too long", c.Type)
	}
	if c.File < 0 || c.Offset < 0 || c.Received < 0 || c.Bytes < 0 || c.Count < 0 {
		return proto.Errorf(proto.CodeBadMessage, "%s: negative number", c.Type)
	}
	if len(c.Entries) > MaxEntriesPerPage {
		return proto.Errorf(proto.CodeTooLarge, "%s carries %d entries (the limit is %d a message)", c.Type, len(c.Entries), MaxEntriesPerPage)
	}
	for _, e := range c.Entries {
		if e.Size < 0 || (e.Dir && e.Size != 0) {
			return proto.Errorf(proto.CodeBadMessage, "entry %q has a bad size", e.Path)
		}
	}
	switch c.Type {
	case MsgOffer:
		if !transferIDPattern.MatchString(c.Transfer) {
			return proto.Errorf(proto.CodeBadMessage, "offer: transfer ID %q is not 8 to 32 lowercase letters and digits", c.Transfer)
		}
		if c.Count == 0 || len(c.Entries) == 0 {
			return proto.Errorf(proto.CodeBadMessage, "offer: it offers nothing")
		}
		if c.Count > MaxEntries {
			return proto.Errorf(proto.CodeTooManyFiles, "offer has %d items (the limit is %d)", c.Count, MaxEntries)
		}
		if len(c.Entries) > c.Count {
			return proto.Errorf(proto.CodeBadMessage, "offer: more entries than its count")
		}
	case MsgEntries:
		if len(c.Entries) == 0 {
			return proto.Errorf(proto.CodeBadMessage, "entries: no entries")
		}
	case MsgLink:
		if c.Path == "" {
			return proto.Errorf(proto.CodeBadMessage, "link: it needs a path")
		}
	case MsgFileEnd:
		if !sha256Pattern.MatchString(c.SHA256) {
			return proto.Errorf(proto.CodeBadMessage, "file-end: sha256 must be 64 lowercase hex digits")
		}
	case MsgDecline, MsgError, MsgCancel:
		if c.Code == "" {
			return proto.Errorf(proto.CodeBadMessage, "%s needs a code", c.Type)
		}
	case MsgAccept, MsgProgress, MsgFileOK, MsgDone, MsgFetch:
	case "":
		return proto.Errorf(proto.CodeBadMessage, "control message has no type")
	default:
		return proto.Errorf(proto.CodeUnknownType, "unknown control message type %q", c.Type)
	}
	return nil
}

// PutChunkHeader writes the 12-byte header of a chunk into b: the file's
// index in the manifest and the byte offset of the payload, big-endian.
func PutChunkHeader(b []byte, file int, offset int64) {
	binary.BigEndian.PutUint32(b[0:4], uint32(file))
	binary.BigEndian.PutUint64(b[4:12], uint64(offset))
}

// DecodeChunk splits a chunk message into its header and payload. The
// payload aliases b. Its errors are *proto.Error.
func DecodeChunk(b []byte) (file int, offset int64, payload []byte, err error) {
	if len(b) <= ChunkHeaderBytes {
		return 0, 0, nil, proto.Errorf(proto.CodeBadMessage, "chunk of %d bytes has no payload", len(b))
	}
	if len(b) > MaxChunkBytes {
		return 0, 0, nil, proto.Errorf(proto.CodeTooLarge, "chunk is %d bytes (the limit is %d)", len(b), MaxChunkBytes)
	}
	f := binary.BigEndian.Uint32(b[0:4])
	off := binary.BigEndian.Uint64(b[4:12])
	if off > 1<<62 || f > MaxEntries {
		return 0, 0, nil, proto.Errorf(proto.CodeBadOffset, "chunk for file %d at offset %d is out of range", f, off)
	}
	return int(f), int64(off), b[ChunkHeaderBytes:], nil
}

// Pages splits the manifest of an offer into the messages that send it:
// head (an offer without entries) with the first page, then entries
// messages. A page ends at MaxEntriesPerPage entries, or sooner where its
// message would pass MaxControlBytes encoded: long paths fill a message
// long before 256 entries do. It fails for an entry too long to travel in
// any message.
func Pages(head Control, entries []Entry) ([]Control, error) {
	probe := Entry{Path: "x"}
	size := func(c Control) (int, error) { // of c with entries, less the entries' own
		c.Entries = []Entry{probe}
		b, err := jsonMarshal(c)
		p, _ := jsonMarshal(probe)
		return len(b) - len(p), err
	}
	var pages []Control
	for i := 0; i < len(entries); {
		page := Control{Type: MsgEntries}
		if len(pages) == 0 {
			page = head
		}
		n, err := size(page)
		if err != nil {
			return nil, err
		}
		j := i
		for ; j < len(entries) && j-i < MaxEntriesPerPage; j++ {
			b, err := jsonMarshal(entries[j])
			if err != nil {
				return nil, err
			}
			extra := len(b)
			if j > i {
				extra++ // the comma
			}
			if n+extra > MaxControlBytes {
				break
			}
			n += extra
		}
		if j == i {
			return nil, fmt.Errorf("the entry %q alone is too long for a control message", entries[i].Path)
		}
		page.Entries = entries[i:j]
		pages = append(pages, page)
		i = j
	}
	return pages, nil
}
