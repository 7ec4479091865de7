package transfer

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ferry-dev/ferry/daemon/proto"
)

// The shared test vectors of docs/testdata (described in its README.md).
// ui/test/codec.test.js and ui/test/sha256.test.js run the same cases
// against the browser's codec.

const vectorDir = "../../docs/testdata"

// readVectors decodes the vector file name into v, refusing fields v does
// not have, so that a misspelt field in a case fails instead of being
// ignored.
func readVectors(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(vectorDir, name))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// vectorBytes returns the bytes a text or hex field gives: a string, or
// {"join": [pieces]} where a piece is a string or {"repeat": s, "count": n}.
func vectorBytes(raw json.RawMessage, isHex bool) ([]byte, error) {
	conv := func(s string) ([]byte, error) {
		if isHex {
			return hex.DecodeString(s)
		}
		return []byte(s), nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return conv(s)
	}
	var rule struct {
		Join []json.RawMessage `json:"join"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rule); err != nil || rule.Join == nil {
		return nil, fmt.Errorf("not a string or a join rule: %s", raw)
	}
	var out []byte
	for _, p := range rule.Join {
		if json.Unmarshal(p, &s) == nil {
			b, err := conv(s)
			if err != nil {
				return nil, err
			}
			out = append(out, b...)
			continue
		}
		var r struct {
			Repeat *string `json:"repeat"`
			Count  int     `json:"count"`
		}
		dec := json.NewDecoder(bytes.NewReader(p))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil || r.Repeat == nil || r.Count < 0 {
			return nil, fmt.Errorf("bad piece %s", p)
		}
		b, err := conv(*r.Repeat)
		if err != nil {
			return nil, err
		}
		out = append(out, bytes.Repeat(b, r.Count)...)
	}
	return out, nil
}

// vectorValue expands the rules of a decoded message: {"join": [...]} is a
// string and an array element {"repeat": v, "count": n} is n copies of v.
// Numbers are json.Number.
func vectorValue(v any) (any, error) {
	switch v := v.(type) {
	case map[string]any:
		if j, ok := v["join"]; ok && len(v) == 1 {
			raw, err := json.Marshal(map[string]any{"join": j})
			if err != nil {
				return nil, err
			}
			b, err := vectorBytes(raw, false)
			return string(b), err
		}
		out := make(map[string]any, len(v))
		for k, e := range v {
			x, err := vectorValue(e)
			if err != nil {
				return nil, err
			}
			out[k] = x
		}
		return out, nil
	case []any:
		out := []any{}
		for _, e := range v {
			m, ok := e.(map[string]any)
			if r, isRepeat := m["repeat"]; ok && isRepeat && len(m) == 2 {
				n, err := m["count"].(json.Number).Int64()
				if err != nil {
					return nil, err
				}
				x, err := vectorValue(r)
				if err != nil {
					return nil, err
				}
				for range n {
					out = append(out, x)
				}
				continue
			}
			x, err := vectorValue(e)
			if err != nil {
				return nil, err
			}
			out = append(out, x)
		}
		return out, nil
	}
	return v, nil
}

// vectorMsg returns the message a case's msg gives, as JSON with sorted keys.
func vectorMsg(raw json.RawMessage) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	v, err := vectorValue(v)
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// vectorTypeFields are the fields of each type in docs/protocol.md's
// table: a decoded message in the vectors always has them.
var vectorTypeFields = map[string][]string{
	MsgOffer: {"transfer", "name", "count", "bytes", "entries"}, MsgEntries: {"entries"},
	MsgAccept: {"file", "offset"}, MsgDecline: {"code", "text"}, MsgProgress: {"received"},
	MsgFileEnd: {"file", "sha256"}, MsgFileOK: {"file", "path"}, MsgDone: {},
	MsgCancel: {"code", "text"}, MsgError: {"code", "text"},
	MsgFetch: {}, MsgLink: {"file", "path"},
}

// vectorForm returns c in the form of the vectors' msg, as JSON with sorted
// keys: type, the fields of its type, and every other field that is set;
// each entry with all its fields.
func vectorForm(c Control) ([]byte, error) {
	entries := []any{}
	for _, e := range c.Entries {
		entries = append(entries, map[string]any{"path": e.Path, "size": e.Size, "mtime": e.Mtime, "dir": e.Dir})
	}
	fields := map[string]any{
		"transfer": c.Transfer, "name": c.Name, "count": c.Count, "bytes": c.Bytes, "entries": entries,
		"file": c.File, "offset": c.Offset, "sha256": c.SHA256, "path": c.Path, "received": c.Received,
		"code": c.Code, "text": c.Text, "checkHeld": c.CheckHeld,
	}
	keep, ok := vectorTypeFields[c.Type]
	if !ok {
		return nil, fmt.Errorf("type %q is not in the table", c.Type)
	}
	m := map[string]any{"type": c.Type}
	for k, v := range fields {
		zero := v == "" || v == 0 || v == int64(0) || v == false || (k == "entries" && len(entries) == 0)
		if !zero || slices.Contains(keep, k) {
			m[k] = v
		}
	}
	return json.Marshal(m)
}

// vectorGoOutcome is what the daemon does instead of what a case asks,
// while the deviation, described in Bug, is not fixed.
type vectorGoOutcome struct {
	OK   bool            `json:"ok"`
	Msg  json.RawMessage `json:"msg"`
	Code string          `json:"code"`
	Bug  string          `json:"bug"`
}

type controlVector struct {
	Name   string           `json:"name"`
	Text   json.RawMessage  `json:"text"`
	Hex    json.RawMessage  `json:"hex"`
	OK     *bool            `json:"ok"`
	Msg    json.RawMessage  `json:"msg"`
	Code   string           `json:"code"`
	Encode bool             `json:"encode"`
	Go     *vectorGoOutcome `json:"go"`
	JS     json.RawMessage  `json:"js"`
}

func TestVectorControl(t *testing.T) {
	var cases []controlVector
	readVectors(t, "control.json", &cases)
	if len(cases) == 0 {
		t.Fatal("no cases")
	}
	names := map[string]bool{}
	for _, c := range cases {
		if names[c.Name] || c.Name == "" {
			t.Errorf("case name %q is empty or repeated", c.Name)
		}
		names[c.Name] = true
		t.Run(c.Name, func(t *testing.T) {
			if c.OK == nil && !c.Encode {
				t.Fatal("the case neither decodes nor encodes")
			}
			if (c.Text == nil) == (c.Hex == nil) {
				t.Fatal("the case needs text or hex, not both")
			}
			var text []byte
			var err error
			if c.Hex != nil {
				text, err = vectorBytes(c.Hex, true)
			} else {
				text, err = vectorBytes(c.Text, false)
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.OK != nil {
				want := vectorGoOutcome{OK: *c.OK, Msg: c.Msg, Code: c.Code}
				if c.Go != nil {
					if c.Go.Bug == "" {
						t.Fatal(`a "go" outcome needs "bug"`)
					}
					want = *c.Go
				}
				checkVectorDecode(t, text, want)
			}
			if c.Encode {
				checkVectorEncode(t, c.Msg, text)
			}
		})
	}
}

func checkVectorDecode(t *testing.T, text []byte, want vectorGoOutcome) {
	t.Helper()
	got, err := DecodeControl(text)
	if !want.OK {
		if _, ok := err.(*proto.Error); !ok || proto.CodeOf(err) != want.Code {
			t.Fatalf("DecodeControl = %+v, %v (code %q); want code %q", got, err, proto.CodeOf(err), want.Code)
		}
		return
	}
	if err != nil {
		t.Fatalf("DecodeControl: %v (code %q); want success", err, proto.CodeOf(err))
	}
	wantMsg, err := vectorMsg(want.Msg)
	if err != nil {
		t.Fatalf("msg: %v", err)
	}
	gotMsg, err := vectorForm(got)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(gotMsg, wantMsg) {
		t.Fatalf("DecodeControl gives\n%s\nwant\n%s", vectorShort(gotMsg), vectorShort(wantMsg))
	}
	// What decodes encodes to a message that decodes the same.
	again, err := jsonMarshal(got)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := DecodeControl(again)
	if err != nil {
		t.Fatalf("re-encoded %s: %v", vectorShort(again), err)
	}
	if m2, _ := vectorForm(c2); !bytes.Equal(m2, gotMsg) {
		t.Fatalf("re-encoded and decoded again:\n%s\nwant\n%s", vectorShort(m2), vectorShort(gotMsg))
	}
}

func checkVectorEncode(t *testing.T, msg json.RawMessage, text []byte) {
	t.Helper()
	m, err := vectorMsg(msg)
	if err != nil {
		t.Fatalf("msg: %v", err)
	}
	var c Control
	if err := json.Unmarshal(m, &c); err != nil {
		t.Fatalf("msg %s is not a Control: %v", m, err)
	}
	got, err := jsonMarshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, text) {
		t.Fatalf("encoded\n%s\nwant\n%s", vectorShort(got), vectorShort(text))
	}
}

// vectorShort returns b for an error message, cut if long.
func vectorShort(b []byte) string {
	if len(b) > 400 {
		return fmt.Sprintf("%s… (%d bytes)", b[:400], len(b))
	}
	return string(b)
}

type chunkVector struct {
	Name    string          `json:"name"`
	Hex     json.RawMessage `json:"hex"`
	OK      bool            `json:"ok"`
	File    int             `json:"file"`
	Offset  int64           `json:"offset"`
	Payload json.RawMessage `json:"payload"`
	Code    string          `json:"code"`
	JS      json.RawMessage `json:"js"`
}

type putVector struct {
	Name   string          `json:"name"`
	File   int             `json:"file"`
	Offset int64           `json:"offset"`
	Hex    string          `json:"hex"`
	JS     json.RawMessage `json:"js"`
}

func TestVectorChunks(t *testing.T) {
	var v struct {
		Decode []chunkVector `json:"decode"`
		Put    []putVector   `json:"put"`
	}
	readVectors(t, "chunks.json", &v)
	if len(v.Decode) == 0 || len(v.Put) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range v.Decode {
		t.Run("decode/"+c.Name, func(t *testing.T) {
			b, err := vectorBytes(c.Hex, true)
			if err != nil {
				t.Fatal(err)
			}
			want, err := vectorBytes(c.Payload, true)
			if c.OK && err != nil {
				t.Fatal(err)
			}
			file, off, payload, err := DecodeChunk(b)
			if !c.OK {
				if _, ok := err.(*proto.Error); !ok || proto.CodeOf(err) != c.Code {
					t.Fatalf("DecodeChunk = %d, %d, %d bytes, %v; want code %q", file, off, len(payload), err, c.Code)
				}
				return
			}
			if err != nil || file != c.File || off != c.Offset || !bytes.Equal(payload, want) {
				t.Fatalf("DecodeChunk = %d, %d, %d bytes, %v; want %d, %d, %d bytes", file, off, len(payload), err, c.File, c.Offset, len(want))
			}
		})
	}
	for _, c := range v.Put {
		t.Run("put/"+c.Name, func(t *testing.T) {
			b := bytes.Repeat([]byte{0xee}, ChunkHeaderBytes+1)
			PutChunkHeader(b, c.File, c.Offset)
			if got := hex.EncodeToString(b[:ChunkHeaderBytes]); got != c.Hex || b[ChunkHeaderBytes] != 0xee {
				t.Fatalf("PutChunkHeader(%d, %d) = %x; want %s", c.File, c.Offset, b, c.Hex)
			}
		})
	}
}

type shaVector struct {
	Name   string          `json:"name"`
	Text   json.RawMessage `json:"text"`
	Hex    json.RawMessage `json:"hex"`
	Length int             `json:"length"`
	Splits [][]int         `json:"splits"`
	SHA256 string          `json:"sha256"`
}

func TestVectorSHA256(t *testing.T) {
	var cases []shaVector
	readVectors(t, "sha256.json", &cases)
	if len(cases) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			var in []byte
			var err error
			if c.Hex != nil {
				in, err = vectorBytes(c.Hex, true)
			} else {
				in, err = vectorBytes(c.Text, false)
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(in) != c.Length {
				t.Fatalf("input is %d bytes; the case says %d", len(in), c.Length)
			}
			if sum := sha256.Sum256(in); hex.EncodeToString(sum[:]) != c.SHA256 {
				t.Fatalf("sha256 = %x; the case says %s", sum, c.SHA256)
			}
			for _, cuts := range c.Splits {
				h := sha256.New()
				prev := 0
				for _, cut := range append(cuts, len(in)) {
					if cut < prev || cut > len(in) {
						t.Fatalf("split %v: cut %d is out of order or beyond the input", cuts, cut)
					}
					h.Write(in[prev:cut])
					prev = cut
				}
				if got := hex.EncodeToString(h.Sum(nil)); got != c.SHA256 {
					t.Fatalf("split %v: sha256 = %s", cuts, got)
				}
			}
		})
	}
}

// TestVectorCodes checks that every code in the vector files, those of the
// browser's outcomes included, is one the codec gives.
func TestVectorCodes(t *testing.T) {
	known := map[string]bool{}
	for _, code := range []string{
		proto.CodeBadMessage, proto.CodeUnknownType, proto.CodeTooLarge, proto.CodeTooManyFiles, proto.CodeBadOffset,
	} {
		known[code] = true
	}
	for _, name := range []string{"control.json", "chunks.json"} {
		b, err := os.ReadFile(filepath.Join(vectorDir, name))
		if err != nil {
			t.Fatal(err)
		}
		var walk func(v any)
		walk = func(v any) {
			switch v := v.(type) {
			case map[string]any:
				if code, ok := v["code"].(string); ok && v["ok"] == false && !known[code] {
					t.Errorf("%s: code %q is not a code the codec gives", name, code)
				}
				for _, e := range v {
					walk(e)
				}
			case []any:
				for _, e := range v {
					walk(e)
				}
			}
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		walk(v)
	}
}
