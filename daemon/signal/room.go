package signal

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"strings"

	"golang.org/x/crypto/argon2"
)

// RoomAlphabet is the characters of room codes: capital letters and digits
// without the ones that read alike (0 O, 1 I L).
const RoomAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

// RoomCodeLen is the length of a room code: 31^8, about 2^39.6 codes.
const RoomCodeLen = 8

// NewRoomCode returns a random room code.
func NewRoomCode() string {
	b := make([]byte, RoomCodeLen)
	for i := range b {
		b[i] = RoomAlphabet[randIndex(len(RoomAlphabet))]
	}
	return string(b)
}

// randIndex returns a uniform random number below n (n < 256).
func randIndex(n int) int {
	limit := 256 - 256%n
	var b [1]byte
	for {
		rand.Read(b[:])
		if int(b[0]) < limit {
			return int(b[0]) % n
		}
	}
}

// ValidRoomCode reports whether code is a room code as the wire carries it.
func ValidRoomCode(code string) bool {
	if len(code) != RoomCodeLen {
		return false
	}
	for _, c := range []byte(code) {
		if strings.IndexByte(RoomAlphabet, c) < 0 {
			return false
		}
	}
	return true
}

// NormalizeRoomCode turns what a person typed into a room code: any case,
// with spaces or dashes. It reports whether the result is a valid code.
func NormalizeRoomCode(s string) (string, bool) {
	s = strings.ToUpper(strings.NewReplacer(" ", "", "-", "").Replace(strings.TrimSpace(s)))
	return s, ValidRoomCode(s)
}

// A room's code is its only secret, learnt from its creator. Daemons find
// each other's members of a room without saying the code: each derives the
// room key from the code, slowly on purpose, and shows the mesh only a tag
// made from the key (to find the room) and, for each member, a proof made
// from the key and the member's ID (to show it joined with the code). A
// linked stranger who wants the code must guess it offline at the cost of
// one key derivation per guess; one who copies a proof gains nothing, since
// a proof names its member.

// Argon2id parameters of the room key: 32 MiB and two passes, about a
// tenth of a second on a laptop core, and memory-bound on a GPU.
const (
	roomKeyTime   = 2
	roomKeyMemory = 32 << 10 // KiB
)

// RoomKey derives a room's key from its code.
func RoomKey(code string) []byte {
	return argon2.IDKey([]byte(code), []byte("ferry room key v1"), roomKeyTime, roomKeyMemory, 1, 32)
}

var tokenEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// RoomTokenLen is the length of a room tag or member proof.
const RoomTokenLen = 26

func roomMAC(key []byte, parts ...string) string {
	h := hmac.New(sha256.New, key)
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return tokenEncoding.EncodeToString(h.Sum(nil)[:16])
}

// RoomTag names the room with key on the mesh.
func RoomTag(key []byte) string { return roomMAC(key, "tag") }

// MemberProof shows that member id, connected to daemon home, is in the
// room with key.
func MemberProof(key []byte, home, id string) string { return roomMAC(key, "member", home, id) }

// ValidRoomToken reports whether s has the form of a tag or a proof.
func ValidRoomToken(s string) bool {
	if len(s) != RoomTokenLen {
		return false
	}
	_, err := tokenEncoding.DecodeString(s)
	return err == nil
}
