package transfer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/ferry-dev/ferry/daemon/proto"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestDecodeControl(t *testing.T) {
	tests := []struct {
		in, code, text string
	}{
		{`{"type":"offer","transfer":"abcdefgh12","count":1,"entries":[{"path":"a","size":1}]}`, "", ""},
		{`{"type":"teleport"}`, proto.CodeUnknownType, `unknown control message type "teleport"`},
		{`{"type":"offer",`, proto.CodeBadMessage, "malformed control message: unexpected EOF"},
		{`{"type":"offer","transfer":"../etc","count":1,"entries":[{"path":"a"}]}`, proto.CodeBadMessage, `offer: transfer ID "../etc" is not 8 to 32 lowercase letters and digits`},
		{`{"type":"offer","transfer":"abcdefgh","count":200000,"entries":[{"path":"a"}]}`, proto.CodeTooManyFiles, "offer has 200000 items (the limit is 100000)"},
		{`{"type":"offer","transfer":"abcdefgh","count":1,"entries":[{"path":"a","size":-1}]}`, proto.CodeBadMessage, `entry "a" has a bad size`},
		{`{"type":"file-end","file":0,"sha256":"xyz"}`, proto.CodeBadMessage, "file-end: sha256 must be 64 lowercase hex digits"},
		{`{"type":"decline"}`, proto.CodeBadMessage, "decline needs a code"},
		{`{}`, proto.CodeBadMessage, "control message has no type"},
	}
	for _, tt := range tests {
		_, err := DecodeControl([]byte(tt.in))
		if tt.code == "" {
			if err != nil {
				t.Errorf("DecodeControl(%s) = %v", tt.in, err)
			}
			continue
		}
		pe, ok := err.(*proto.Error)
		if !ok || pe.Code != tt.code || pe.Text != tt.text {
			t.Errorf("DecodeControl(%s) = %v; want %s: %s", tt.in, err, tt.code, tt.text)
		}
	}
	big := bytes.Repeat([]byte(" "), MaxControlBytes+1)
	if _, err := DecodeControl(big); err == nil || err.(*proto.Error).Code != proto.CodeTooLarge {
		t.Errorf("oversized control message: %v", err)
	}
}

func TestChunkRoundTrip(t *testing.T) {
	b := make([]byte, ChunkHeaderBytes+3)
	PutChunkHeader(b, 7, 1<<40)
	copy(b[ChunkHeaderBytes:], "abc")
	f, off, p, err := DecodeChunk(b)
	if err != nil || f != 7 || off != 1<<40 || string(p) != "abc" {
		t.Fatalf("DecodeChunk = %d, %d, %q, %v", f, off, p, err)
	}
	if _, _, _, err := DecodeChunk(b[:ChunkHeaderBytes]); err == nil {
		t.Fatal("accepted a chunk with no payload")
	}
	if _, _, _, err := DecodeChunk(make([]byte, MaxChunkBytes+1)); err == nil {
		t.Fatal("accepted an oversized chunk")
	}
}

func FuzzDecodeControl(f *testing.F) {
	f.Add([]byte(`{"type":"offer","transfer":"abcdefgh12","name":"n","count":2,"entries":[{"path":"a","size":1,"mtime":5},{"path":"d","dir":true}]}`))
	f.Add([]byte(`{"type":"accept","file":3,"offset":100}`))
	f.Add([]byte(`{"type":"file-end","file":1,"sha256":"` + string(bytes.Repeat([]byte("a"), 64)) + `"}`))
	f.Add([]byte(`{"type":"error","code":"bad-offset","text":"x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeControl(b)
		if err != nil {
			if _, ok := err.(*proto.Error); !ok {
				t.Fatalf("error is not a ProtoError: %v", err)
			}
			return
		}
		// What decodes must survive a round trip unchanged.
		again, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := DecodeControl(again); err != nil {
			t.Fatalf("re-encoded message refused: %v", err)
		}
	})
}

func FuzzDecodeChunk(f *testing.F) {
	f.Add([]byte("\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x10abc"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		file, off, p, err := DecodeChunk(b)
		if err != nil {
			return
		}
		if file < 0 || off < 0 || len(p) == 0 || len(p) != len(b)-ChunkHeaderBytes {
			t.Fatalf("DecodeChunk(%x) = %d, %d, %d bytes", b, file, off, len(p))
		}
	})
}

// TestPages: a manifest of long paths is split by encoded size as well as
// by count, every page decodes, and no page could have held the next entry.
func TestPages(t *testing.T) {
	var entries []Entry
	for i := range 700 {
		path := fmt.Sprintf("%03d/%s", i, strings.Repeat("é<", 60+i%90))
		entries = append(entries, Entry{Path: path, Size: int64(i), Mtime: 1700000000000})
	}
	entries = append(entries, Entry{Path: "short", Size: 1})
	head := Control{Type: MsgOffer, Transfer: "abcdefgh", Name: "laptop", Count: len(entries), Bytes: 1}
	pages, err := Pages(head, entries)
	if err != nil {
		t.Fatal(err)
	}
	var got []Entry
	for i, p := range pages {
		b, err := jsonMarshal(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > MaxControlBytes {
			t.Fatalf("page %d is %d bytes", i, len(b))
		}
		c, err := DecodeControl(b)
		if err != nil {
			t.Fatalf("page %d: %v", i, err)
		}
		if want := map[bool]string{true: MsgOffer, false: MsgEntries}[i == 0]; c.Type != want {
			t.Fatalf("page %d is %s, want %s", i, c.Type, want)
		}
		if i+1 < len(pages) && len(p.Entries) < MaxEntriesPerPage {
			p.Entries = entries[len(got) : len(got)+len(p.Entries)+1]
			if b, _ := jsonMarshal(p); len(b) <= MaxControlBytes {
				t.Errorf("page %d ends at %d entries, but the next one fits", i, len(c.Entries))
			}
		}
		got = append(got, c.Entries...)
	}
	if len(pages) < 3 || !slices.EqualFunc(got, entries, func(a, b Entry) bool { return a == b }) {
		t.Fatalf("%d pages carry %d entries, want all %d in order", len(pages), len(got), len(entries))
	}
	short, _ := Pages(head, entries[len(entries)-1:])
	if len(short) != 1 || len(short[0].Entries) != 1 || short[0].Transfer != "abcdefgh" {
		t.Errorf("one entry: %+v", short)
	}
}

// TestClip: an error text that quotes a long path is cut to what a control
// message may carry, at a character boundary, and still decodes.
func TestClip(t *testing.T) {
	long := "bad file name \"" + strings.Repeat("é", 2000) + "\""
	got := clip(long, maxTextBytes)
	if len(got) > maxTextBytes || !utf8.ValidString(got) || !strings.HasSuffix(got, "…") {
		t.Fatalf("clipped to %d bytes, valid %v: %q…", len(got), utf8.ValidString(got), got[:20])
	}
	b, _ := jsonMarshal(Control{Type: MsgError, Code: "bad-name", Text: got})
	if _, err := DecodeControl(b); err != nil {
		t.Fatalf("the clipped error does not decode: %v", err)
	}
	if clip("short", maxTextBytes) != "short" {
		t.Error("a short text was changed")
	}
}
