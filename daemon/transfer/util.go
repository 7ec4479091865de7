package transfer

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"strings"
)

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// newTransferID returns a random ID of 16 lowercase base32 characters.
func newTransferID() string {
	b := make([]byte, 10)
	rand.Read(b)
	return strings.ToLower(base32.StdEncoding.EncodeToString(b))
}
