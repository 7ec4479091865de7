package pair

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/testdata/pair.json")

// vectorsPath is docs/testdata/pair.json, seen from this package's folder.
var vectorsPath = filepath.Join("..", "..", "docs", "testdata", "pair.json")

// A guest's offer as Chromium would make it: a short ufrag with '+' and
// '/', an mDNS host candidate, Chromium's max-message-size.
func guestOffer() map[string]any {
	return map[string]any{
		"r": "offer", "id": "k3qf7zq2m5xwj4rr", "name": "Ana's phone", "kind": "guest",
		"ufrag": "a+/Z", "pwd": "Zm9vYmFyYmF6cXV4MTIzNDU2", "fp": fp("AB"), "setup": "actpass", "mms": 262144,
		"c": []string{"candidate:1467250027 1 udp 2122260223 2b5e2c3e-6c4f-4a1a-9e7e-3d9f0b1c2d3e.local 54321 typ host generation 0 network-id 1"},
	}
}

// A daemon's answer as Pion makes it; its ID is its fingerprint's.
func daemonAnswer() map[string]any {
	return map[string]any{
		"r": "answer", "id": daemonID, "name": "desk", "kind": "daemon",
		"ufrag": "rTsWdYoQzPJXKfLb", "pwd": "vQbHwNnSxLZeUaRkCjMgTfDpYiEoOlWs", "fp": fp("0F"), "setup": "active", "mms": 262144,
		"c": []string{
			"candidate:3952461418 1 udp 2130706431 192.168.1.23 50000 typ host",
			"candidate:1230998740 1 udp 2130706431 fd00::23 50001 typ host",
		},
	}
}

// daemonID is the device ID of fingerprint fp("0F").
const daemonID = "B4HQ6DYPB4HQ6DYPB4HQ6DYPB4HQ6DYPB4HQ6DYPB4HQ6DYPB4HQ"

// fp is a sha-256 fingerprint of 32 times the byte pair.
func fp(pair string) string {
	return "sha-256 " + strings.TrimSuffix(strings.Repeat(pair+":", 32), ":")
}

// with returns a copy of m with key set to v, or removed when v is del.
func with(m map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == del {
			delete(out, kv[i].(string))
		} else {
			out[kv[i].(string)] = kv[i+1]
		}
	}
	return out
}

var del = &struct{}{}

// text encodes any JSON value as a pairing text, unchecked.
func text(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return raw(string(b))
}

func raw(js string) string { return Prefix + base64.RawURLEncoding.EncodeToString([]byte(js)) }

func candidates(n int) []string {
	c := make([]string, n)
	for i := range c {
		c[i] = fmt.Sprintf("candidate:%d 1 udp 2130706431 10.0.0.%d 5000%d typ host", i, i+1, i%10)
	}
	return c
}

// cases are the vectors: a pairing text, and the error Decode gives, or ""
// for one it takes. Every refusal of the format has a row.
var cases = []struct{ name, text, err string }{
	{"a guest's offer", text(guestOffer()), ""},
	{"a daemon's answer", text(daemonAnswer()), ""},
	{"a passive answer with no candidates and mms 0", text(with(daemonAnswer(), "setup", "passive", "c", []string{}, "mms", 0)), ""},
	{"space and a line break around the text are ignored", " " + text(guestOffer()) + "\r\n", ""},
	{"16 candidates", text(with(guestOffer(), "c", candidates(16))), ""},
	{"a candidate of 256 bytes", text(with(guestOffer(), "c", []string{"candidate:1 1 UDP 1 10.0.0.1 9 typ host x" + strings.Repeat("y", 256-41)})), ""},
	{"a name of 64 bytes", text(with(guestOffer(), "name", strings.Repeat("é", 32))), ""},
	{"an empty name", text(with(guestOffer(), "name", "")), ""},
	{"a fingerprint in lower case", text(with(guestOffer(), "fp", fp("ab"))), ""},
	{"ufrag 4 and pwd 22 characters", text(with(guestOffer(), "ufrag", "abcd", "pwd", strings.Repeat("p", 22))), ""},

	{"empty", "", "does not start with FERRY-PAIR-1:"},
	{"prefix in lower case", strings.ToLower(Prefix) + text(guestOffer())[len(Prefix):], "does not start with FERRY-PAIR-1:"},
	{"another version", "FERRY-PAIR-2:" + text(guestOffer())[len(Prefix):], "does not start with FERRY-PAIR-1:"},
	{"longer than 4096 bytes", text(with(guestOffer(), "name", strings.Repeat("x", 3100))), "(the limit is 4096)"},
	{"base64 padding", text(guestOffer()) + "=", "not base64url without padding"},
	{"standard base64", Prefix + base64.RawStdEncoding.EncodeToString([]byte(`{"name":"??>>??"}`)), "not base64url without padding"},
	{"a line break inside", text(guestOffer())[:40] + "\n" + text(guestOffer())[40:], "not base64url without padding"},
	{"a length base64 cannot have", Prefix + "AAAAA", "not base64url without padding"},
	{"last character's unused bits not zero", Prefix + "e31", "not base64url without padding"},
	{"last character's unused bits zero", Prefix + "e30", "field r is missing"},
	{"not JSON", raw("offer please"), "malformed JSON"},
	{"a JSON array", raw(`[1,2]`), "malformed JSON"},
	{"data after the object", raw(`{} {}`), "malformed JSON"},
	{"not UTF-8", raw("{\"r\":\"\xff\"}"), "not valid UTF-8"},
	{"an unknown field", text(with(guestOffer(), "mid", "0")), `unknown field "mid"`},
	{"r missing", text(with(guestOffer(), "r", del)), "field r is missing"},
	{"c null", text(with(guestOffer(), "c", nil)), "field c is missing"},
	{"name missing", text(with(guestOffer(), "name", del)), "field name is missing"},
	{"mms missing", text(with(guestOffer(), "mms", del)), "field mms is missing"},
	{"r unknown", text(with(guestOffer(), "r", "pranswer")), `r must be "offer" or "answer", not "pranswer"`},
	{"an offer not actpass", text(with(guestOffer(), "setup", "active")), `setup of an offer must be "actpass", not "active"`},
	{"an answer actpass", text(with(daemonAnswer(), "setup", "actpass")), `setup of an answer must be "active" or "passive", not "actpass"`},
	{"kind unknown", text(with(guestOffer(), "kind", "phone")), `kind must be "daemon" or "guest", not "phone"`},
	{"a guest ID of 7 characters", text(with(guestOffer(), "id", "abcdefg")), `id "abcdefg" is not a guest ID`},
	{"a guest ID with a dot", text(with(guestOffer(), "id", "abcd.efgh")), `id "abcd.efgh" is not a guest ID`},
	{"a guest ID of 65 characters", text(with(guestOffer(), "id", strings.Repeat("a", 65))), "is not a guest ID"},
	{"a daemon ID that is not one", text(with(daemonAnswer(), "id", "desk")), `id "desk" is not a device ID`},
	{"a daemon ID of another fingerprint", text(with(daemonAnswer(), "fp", fp("AB"))), "id is not the device ID of fingerprint fp"},
	{"a name of 65 bytes", text(with(guestOffer(), "name", strings.Repeat("x", 65))), "name is 65 bytes (the limit is 64)"},
	{"ufrag of 3 characters", text(with(guestOffer(), "ufrag", "abc")), "ufrag must be 4 to 256"},
	{"ufrag of 257 characters", text(with(guestOffer(), "ufrag", strings.Repeat("u", 257))), "ufrag must be 4 to 256"},
	{"ufrag with a '-'", text(with(guestOffer(), "ufrag", "ab-cd")), "ufrag must be 4 to 256"},
	{"ufrag that would add an SDP line", text(with(guestOffer(), "ufrag", "abcd\r\na=setup:active")), "ufrag must be 4 to 256"},
	{"pwd of 21 characters", text(with(guestOffer(), "pwd", strings.Repeat("p", 21))), "pwd must be 22 to 256"},
	{"pwd with a space", text(with(guestOffer(), "pwd", strings.Repeat("p", 22)+" ")), "pwd must be 22 to 256"},
	{"a sha-1 fingerprint", text(with(guestOffer(), "fp", "sha-1 "+strings.Repeat("AB:", 19)+"AB")), `fp must be "sha-256 " and 32 colon-separated hex pairs`},
	{"SHA-256 in capitals", text(with(guestOffer(), "fp", "SHA-256"+fp("AB")[7:])), `fp must be "sha-256 "`},
	{"a fingerprint of 31 pairs", text(with(guestOffer(), "fp", "sha-256 "+strings.Repeat("AB:", 30)+"AB")), `fp must be "sha-256 "`},
	{"a fingerprint that is not hex", text(with(guestOffer(), "fp", fp("GG"))), `fp must be "sha-256 "`},
	{"mms negative", text(with(guestOffer(), "mms", -1)), "mms must be an integer from 0 to 2147483647"},
	{"mms of 2^31", text(with(guestOffer(), "mms", 1<<31)), "mms"},
	{"mms not an integer", raw(strings.Replace(string(must(json.Marshal(guestOffer()))), `"mms":262144`, `"mms":1.5`, 1)), "mms"},
	{"mms a string", text(with(guestOffer(), "mms", "262144")), "mms"},
	{"17 candidates", text(with(guestOffer(), "c", candidates(17))), "c lists 17 candidates (the limit is 16)"},
	{"a candidate of 257 bytes", text(with(guestOffer(), "c", []string{"candidate:1 1 UDP 1 10.0.0.1 9 typ host x" + strings.Repeat("y", 257-41)})), "candidate 1: it is 257 bytes (the limit is 256)"},
	{"a TCP candidate", text(with(guestOffer(), "c", []string{"candidate:1 1 tcp 1518280447 10.0.0.1 9 typ host tcptype passive"})), `candidate 1: transport "tcp" is not UDP`},
	{"a candidate without candidate:", text(with(guestOffer(), "c", []string{"1 1 udp 1 10.0.0.1 9 typ host"})), `candidate 1: it does not start with "candidate:"`},
	{"a candidate as a whole SDP line", text(with(guestOffer(), "c", []string{"a=candidate:1 1 udp 1 10.0.0.1 9 typ host"})), `candidate 1: it does not start with "candidate:"`},
	{"a candidate that would add an SDP line", text(with(guestOffer(), "c", []string{"candidate:1 1 udp 1 10.0.0.1 9 typ host\r\na=setup:active"})), "candidate 1: it holds a character that is not printable ASCII"},
	{"a candidate of too few fields", text(with(guestOffer(), "c", []string{"candidate:1 1 udp 1 10.0.0.1 9 typ"})), "candidate 1: it is not"},
	{"a candidate with two spaces", text(with(guestOffer(), "c", []string{"candidate:1 1 udp 1  10.0.0.1 9 typ host"})), "candidate 1: it is not"},
	{"a candidate without typ", text(with(guestOffer(), "c", []string{"candidate:1 1 udp 1 10.0.0.1 9 type host"})), "candidate 1: it is not"},
	{"a candidate's port out of range", text(with(guestOffer(), "c", append(candidates(1), "candidate:1 1 udp 1 10.0.0.1 70000 typ host"))), `candidate 2: port "70000" is not a number from 0 to 65535`},
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// vector is one case of docs/testdata/pair.json.
type vector struct {
	Name   string `json:"name"`
	Text   string `json:"text"`
	OK     bool   `json:"ok"`
	Fields *Info  `json:"fields,omitempty"`
	Error  string `json:"error,omitempty"`
	SDP    string `json:"sdp,omitempty"`
}

func makeVectors(t *testing.T) []vector {
	var out []vector
	for _, c := range cases {
		v := vector{Name: c.name, Text: c.text, OK: c.err == "", Error: c.err}
		if v.OK {
			info, err := Decode(c.text)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			v.Fields, v.SDP = &info, info.SDP()
		}
		out = append(out, v)
	}
	return out
}

func marshalVectors(vs []vector) []byte {
	var b bytes.Buffer
	b.WriteString("[\n")
	for i, v := range vs {
		line, _ := json.Marshal(v)
		b.WriteString("  ")
		b.Write(line)
		if i < len(vs)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString("]\n")
	return b.Bytes()
}

// TestVectors checks every case of docs/testdata/pair.json against Decode
// and SDP, and that the file is what the cases above make; -update
// rewrites it.
func TestVectors(t *testing.T) {
	want := marshalVectors(makeVectors(t))
	if *update {
		if err := os.WriteFile(vectorsPath, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is not what the cases make; run go test ./daemon/pair -run TestVectors -update", vectorsPath)
	}
	var vs []vector
	if err := json.Unmarshal(got, &vs); err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		info, err := Decode(v.Text)
		switch {
		case v.OK && err != nil:
			t.Errorf("%s: %v", v.Name, err)
		case v.OK && (v.Fields == nil || fmt.Sprint(info) != fmt.Sprint(*v.Fields) || info.SDP() != v.SDP):
			t.Errorf("%s: decoded %+v\nsdp %q", v.Name, info, info.SDP())
		case !v.OK && (err == nil || !strings.Contains(err.Error(), v.Error) || !errors.Is(err, ErrBadText)):
			t.Errorf("%s: got error %v, want one with %q", v.Name, err, v.Error)
		}
		if v.OK {
			again, err := Encode(info)
			if err != nil {
				t.Errorf("%s: encoding again: %v", v.Name, err)
			} else if back, err := Decode(again); err != nil || fmt.Sprint(back) != fmt.Sprint(info) {
				t.Errorf("%s: encode and decode do not round-trip: %+v, %v", v.Name, back, err)
			}
		}
	}
}

// TestSDP: the description rebuilt from a text, line by line.
func TestSDP(t *testing.T) {
	info, err := Decode(text(daemonAnswer()))
	if err != nil {
		t.Fatal(err)
	}
	want := "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n" +
		"m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n" +
		"a=ice-ufrag:rTsWdYoQzPJXKfLb\r\na=ice-pwd:vQbHwNnSxLZeUaRkCjMgTfDpYiEoOlWs\r\n" +
		"a=fingerprint:" + fp("0F") + "\r\na=setup:active\r\na=mid:0\r\na=sctp-port:5000\r\na=max-message-size:262144\r\n" +
		"a=candidate:3952461418 1 udp 2130706431 192.168.1.23 50000 typ host\r\n" +
		"a=candidate:1230998740 1 udp 2130706431 fd00::23 50001 typ host\r\na=end-of-candidates\r\n"
	if got := info.SDP(); got != want {
		t.Errorf("SDP:\n%q\nwant\n%q", got, want)
	}
}

// TestEncodeRefuses: Encode writes no text Decode would refuse.
func TestEncodeRefuses(t *testing.T) {
	info, _ := Decode(text(guestOffer()))
	info.Candidates = []string{strings.Repeat("x", 10)}
	if _, err := Encode(info); err == nil || !strings.Contains(err.Error(), "candidate 1") {
		t.Errorf("Encode of a bad candidate: %v", err)
	}
	info.Candidates = nil
	info.Name = strings.Repeat("n", 64)
	for len(info.Candidates) < 16 {
		info.Candidates = append(info.Candidates, "candidate:1 1 udp 1 10.0.0.1 9 typ host x"+strings.Repeat("y", 215))
	}
	if _, err := Encode(info); err == nil || !strings.Contains(err.Error(), "the limit is 4096") {
		t.Errorf("Encode of a text too long: %v", err)
	}
}

func FuzzPairText(f *testing.F) {
	for _, c := range cases {
		f.Add(c.text)
	}
	f.Fuzz(func(t *testing.T, s string) {
		info, err := Decode(s)
		if err != nil {
			if !errors.Is(err, ErrBadText) {
				t.Fatalf("error %v is not ErrBadText", err)
			}
			return
		}
		sdp := info.SDP()
		if strings.Count(sdp, "\n") != 15+len(info.Candidates) || strings.Count(sdp, "\r\n") != strings.Count(sdp, "\n") {
			t.Fatalf("a decoded text made a description of other lines: %q", sdp)
		}
		again, err := Encode(info)
		if err != nil {
			t.Fatalf("a decoded text does not encode: %v", err)
		}
		if back, err := Decode(again); err != nil || fmt.Sprint(back) != fmt.Sprint(info) {
			t.Fatalf("round trip: %+v, %v", back, err)
		}
	})
}
