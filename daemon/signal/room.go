package signal

import (
	"crypto/rand"
	"strings"
)

// RoomAlphabet is the characters of room codes: capital letters and digits
// without the ones that read alike (0 O, 1 I L).
const RoomAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

// RoomCodeLen is the length of a room code.
const RoomCodeLen = 6

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
