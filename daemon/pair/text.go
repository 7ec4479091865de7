package pair

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ferry-dev/ferry/daemon/identity"
	"github.com/ferry-dev/ferry/daemon/signal"
	"github.com/pion/sdp/v3"
)

// Prefix starts every pairing text; the number is the format's version.
const Prefix = "FERRY-PAIR-1:"

// Roles and kinds of a pairing text.
const (
	RoleOffer  = "offer"
	RoleAnswer = "answer"
	KindDaemon = "daemon"
	KindGuest  = "guest"
)

// Limits of a pairing text (docs/protocol.md, "Pairing without a hub").
const (
	MaxTextBytes      = 4096
	MaxCandidates     = 16
	MaxCandidateBytes = 256
	MaxNameBytes      = 64
)

// ErrBadText is what every error of Decode Is.
var ErrBadText = errors.New("not a pairing text")

// Info is what one side of a pairing tells the other: who it is, its ICE
// credentials and candidates, and its DTLS fingerprint, with ICE gathering
// complete. The JSON names are the wire's.
type Info struct {
	Role       string   `json:"r"`
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Kind       string   `json:"kind"`
	Ufrag      string   `json:"ufrag"`
	Pwd        string   `json:"pwd"`
	FP         string   `json:"fp"`
	Setup      string   `json:"setup"`
	MMS        int      `json:"mms"`
	Candidates []string `json:"c"`
}

// fields are the JSON keys a text must have, none of them null.
var fields = []string{"r", "id", "name", "kind", "ufrag", "pwd", "fp", "setup", "mms", "c"}

// Encode returns the pairing text of i, which must be valid.
func Encode(i Info) (string, error) {
	if err := i.Validate(); err != nil {
		return "", err
	}
	if i.Candidates == nil {
		i.Candidates = []string{}
	}
	b, err := json.Marshal(i)
	if err != nil {
		return "", fmt.Errorf("encoding a pairing text: %w", err)
	}
	text := Prefix + base64.RawURLEncoding.EncodeToString(b)
	if len(text) > MaxTextBytes {
		return "", fmt.Errorf("%w: the text would be %d bytes (the limit is %d); fewer candidates would fit", ErrBadText, len(text), MaxTextBytes)
	}
	return text, nil
}

// Decode parses and checks a pairing text. Space around it (a pasted
// line's end) is ignored.
func Decode(text string) (Info, error) {
	text = strings.TrimSpace(text)
	if len(text) > MaxTextBytes {
		return Info{}, bad("the text is %d bytes (the limit is %d)", len(text), MaxTextBytes)
	}
	rest, ok := strings.CutPrefix(text, Prefix)
	if !ok {
		return Info{}, bad("it does not start with %s", Prefix)
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(rest)
	if err != nil || strings.ContainsFunc(rest, func(r rune) bool { return !base64URL(r) }) {
		return Info{}, bad("what follows %s is not base64url without padding", Prefix)
	}
	if !utf8.Valid(b) {
		return Info{}, bad("the JSON is not valid UTF-8")
	}
	var i Info
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&i); err != nil {
		return Info{}, bad("malformed JSON: %v", err)
	}
	if dec.More() {
		return Info{}, bad("malformed JSON: data after the object")
	}
	var present map[string]json.RawMessage
	json.Unmarshal(b, &present)
	for _, k := range fields {
		if v, ok := present[k]; !ok || string(v) == "null" {
			return Info{}, bad("field %s is missing", k)
		}
	}
	return i, i.Validate()
}

// base64URL reports whether r is of the base64url alphabet (RFC 4648
// section 5). Go's decoder skips line breaks; the format has none.
func base64URL(r rune) bool {
	return 'A' <= r && r <= 'Z' || 'a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '-' || r == '_'
}

func bad(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadText, fmt.Sprintf(format, args...))
}

// Validate checks every field against the format's rules; the error names
// the field and why.
func (i *Info) Validate() error {
	switch i.Role {
	case RoleOffer:
		if i.Setup != "actpass" {
			return bad(`setup of an offer must be "actpass", not %q`, i.Setup)
		}
	case RoleAnswer:
		if i.Setup != "active" && i.Setup != "passive" {
			return bad(`setup of an answer must be "active" or "passive", not %q`, i.Setup)
		}
	default:
		return bad(`r must be "offer" or "answer", not %q`, i.Role)
	}
	switch i.Kind {
	case KindGuest:
		if !signal.ValidGuestID(i.ID) {
			return bad("id %q is not a guest ID: 8 to 64 letters, digits, '-' or '_'", i.ID)
		}
	case KindDaemon:
		id, err := identity.ParseID(i.ID)
		if err != nil {
			return bad("id %q is not a device ID: 52 base32 characters", i.ID)
		}
		if fid, err := fingerprintID(i.FP); err == nil && fid != id {
			return bad("id is not the device ID of fingerprint fp")
		}
	default:
		return bad(`kind must be "daemon" or "guest", not %q`, i.Kind)
	}
	switch {
	case len(i.Name) > MaxNameBytes:
		return bad("name is %d bytes (the limit is %d)", len(i.Name), MaxNameBytes)
	case !iceChars(i.Ufrag, 4, 256):
		return bad("ufrag must be 4 to 256 letters, digits, '+' or '/'")
	case !iceChars(i.Pwd, 22, 256):
		return bad("pwd must be 22 to 256 letters, digits, '+' or '/'")
	case i.MMS < 0 || i.MMS > maxMMS:
		return bad("mms must be an integer from 0 to %d", maxMMS)
	case len(i.Candidates) > MaxCandidates:
		return bad("c lists %d candidates (the limit is %d)", len(i.Candidates), MaxCandidates)
	}
	if _, err := fingerprintID(i.FP); err != nil {
		return err
	}
	for n, c := range i.Candidates {
		if err := checkCandidate(c); err != nil {
			return bad("candidate %d: %v", n+1, err)
		}
	}
	return nil
}

// maxMMS is the largest max-message-size a text may give (2^31-1).
const maxMMS = 1<<31 - 1

// fingerprintID returns the device ID a fingerprint names; fp must be
// "sha-256 " and 32 colon-separated pairs of hex digits.
func fingerprintID(fp string) (identity.ID, error) {
	hex, ok := strings.CutPrefix(fp, "sha-256 ")
	pairs := strings.Split(hex, ":")
	if !ok || len(pairs) != 32 {
		return identity.ID{}, bad(`fp must be "sha-256 " and 32 colon-separated hex pairs`)
	}
	for _, p := range pairs {
		if len(p) != 2 || !isHex(p[0]) || !isHex(p[1]) {
			return identity.ID{}, bad(`fp must be "sha-256 " and 32 colon-separated hex pairs`)
		}
	}
	return identity.FromFingerprint("sha-256", hex)
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

// iceChars reports whether s is min to max ice-chars (RFC 8839 section
// 5.4: letters, digits, '+' and '/'), so it cannot break the SDP built
// from it.
func iceChars(s string, min, max int) bool {
	if len(s) < min || len(s) > max {
		return false
	}
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '+' || c == '/') {
			return false
		}
	}
	return true
}

// checkCandidate checks a candidate attribute value: "candidate:", at
// most MaxCandidateBytes of printable ASCII, fields split by single spaces,
// at least eight of them (foundation, component, transport, priority,
// address, port, "typ", type), transport UDP.
func checkCandidate(c string) error {
	if len(c) > MaxCandidateBytes {
		return fmt.Errorf("it is %d bytes (the limit is %d)", len(c), MaxCandidateBytes)
	}
	for _, b := range []byte(c) {
		if b < 0x20 || b > 0x7e {
			return errors.New("it holds a character that is not printable ASCII")
		}
	}
	if !strings.HasPrefix(c, "candidate:") {
		return errors.New(`it does not start with "candidate:"`)
	}
	f := strings.Split(c, " ")
	if len(f) < 8 || f[6] != "typ" || slicesContainsEmpty(f) {
		return errors.New(`it is not "candidate:FOUNDATION COMPONENT TRANSPORT PRIORITY ADDRESS PORT typ TYPE ..."`)
	}
	if !strings.EqualFold(f[2], "udp") {
		return fmt.Errorf("transport %q is not UDP", f[2])
	}
	if _, err := strconv.ParseUint(f[5], 10, 16); err != nil {
		return fmt.Errorf("port %q is not a number from 0 to 65535", f[5])
	}
	return nil
}

func slicesContainsEmpty(f []string) bool {
	for _, s := range f {
		if s == "" {
			return true
		}
	}
	return false
}

// SDP returns the session description the other side builds from i for
// setRemoteDescription, line by line as docs/protocol.md gives it.
func (i Info) SDP() string {
	var b strings.Builder
	line := func(s string) { b.WriteString(s + "\r\n") }
	line("v=0")
	line("o=- 1 2 IN IP4 0.0.0.0")
	line("s=-")
	line("t=0 0")
	line("a=group:BUNDLE 0")
	line("m=application 9 UDP/DTLS/SCTP webrtc-datachannel")
	line("c=IN IP4 0.0.0.0")
	line("a=ice-ufrag:" + i.Ufrag)
	line("a=ice-pwd:" + i.Pwd)
	line("a=fingerprint:" + i.FP)
	line("a=setup:" + i.Setup)
	line("a=mid:0")
	line("a=sctp-port:5000")
	line("a=max-message-size:" + strconv.Itoa(i.MMS))
	for _, c := range i.Candidates {
		line("a=" + c)
	}
	line("a=end-of-candidates")
	return b.String()
}

// FromDescription fills i's ICE, DTLS and SCTP fields from a local session
// description with gathering complete: the first UDP candidates, up to
// MaxCandidates.
func (i *Info) FromDescription(desc string) error {
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(desc); err != nil {
		return fmt.Errorf("reading the local description: %w", err)
	}
	if len(sd.MediaDescriptions) != 1 {
		return fmt.Errorf("the local description has %d media sections, not one", len(sd.MediaDescriptions))
	}
	md := sd.MediaDescriptions[0]
	attr := func(key string) string {
		if v, ok := md.Attribute(key); ok {
			return v
		}
		v, _ := sd.Attribute(key)
		return v
	}
	if mid := attr("mid"); mid != "0" {
		return fmt.Errorf("the local description's mid is %q, not \"0\"", mid)
	}
	i.Ufrag, i.Pwd, i.Setup = attr("ice-ufrag"), attr("ice-pwd"), attr("setup")
	algo, hex, _ := strings.Cut(attr("fingerprint"), " ")
	i.FP = strings.ToLower(algo) + " " + strings.ToUpper(hex)
	// RFC 8841 section 6: without the attribute the size is 64 KiB.
	i.MMS = 65536
	if v := attr("max-message-size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("the local description's max-message-size %q: %w", v, err)
		}
		i.MMS = n
	}
	i.Candidates = []string{}
	for _, a := range md.Attributes {
		if a.Key != "candidate" || len(i.Candidates) == MaxCandidates {
			continue
		}
		c := "candidate:" + a.Value
		if checkCandidate(c) == nil {
			i.Candidates = append(i.Candidates, c)
		}
	}
	return i.Validate()
}
