package messages

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ferry-dev/ferry/daemon/api"
)

// maxNameBytes is the longest peer name kept, as the mesh cuts guest names.
const maxNameBytes = 64

// cleanText makes a text from the network safe to show: line breaks become
// "\n", other control characters and the bidirectional embeddings,
// overrides and isolates go. Those last make "txt.exe" read as "exe.txt" or
// one link look like another (Unicode TR #9; CVE-2021-42574, "Trojan
// Source"); the marks U+200E and U+200F, which cannot reorder a run, stay.
func cleanText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return r
		case r == '\r':
			return '\n'
		case unicode.IsControl(r) || bidiControl(r):
			return -1
		}
		return r
	}, s)
}

// bidiControl reports whether r is an embedding, override or isolate
// (U+202A–U+202E, U+2066–U+2069).
func bidiControl(r rune) bool {
	return '\u202A' <= r && r <= '\u202E' || '\u2066' <= r && r <= '\u2069'
}

// peerName is a peer's name made printable and cut to maxNameBytes, or a
// short form of its ID when nothing printable is left.
func peerName(name, id, kind string) string {
	name = strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || bidiControl(r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, name))
	if len(name) > maxNameBytes {
		name = strings.TrimSpace(strings.ToValidUTF8(name[:maxNameBytes], ""))
	}
	if name == "" {
		return shortID(id, kind)
	}
	return name
}

// deviceID reports whether id has the form of a device ID: 52 characters of
// the RFC 4648 base32 alphabet. Package identity parses them properly, but
// a name needs only the shape.
func deviceID(id string) bool {
	if len(id) != 52 {
		return false
	}
	for _, c := range []byte(id) {
		if !('A' <= c && c <= 'Z' || '2' <= c && c <= '7') {
			return false
		}
	}
	return true
}

// shortID is how a peer without a name is shown: a device ID's short form,
// "Guest" and the first four characters of a guest ID (as the mesh names a
// guest that gave no name).
func shortID(id, kind string) string {
	if kind == api.KindGuest {
		return "Guest " + strings.ToUpper(clip(id, 4))
	}
	if deviceID(id) {
		return id[:4] + "-" + id[4:8] // identity.ID's Short
	}
	return clip(id, maxNameBytes)
}

// clip returns at most the first n bytes of s, cut at a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
