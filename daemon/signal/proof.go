package signal

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"

	"github.com/ferry-dev/ferry/daemon/identity"
	"github.com/ferry-dev/ferry/daemon/proto"
)

// Prover signs a hub's challenge with the device key, returning the
// device's certificate and the signature (identity.Identity.Sign).
type Prover func(challenge []byte) (cert, sig []byte, err error)

// The hub sends a fresh challenge, and its own ID, with the WebSocket
// upgrade, so a daemon's hello can answer it with no extra round trip.
const (
	challengeHeader = "Ferry-Challenge"
	hubHeader       = "Ferry-Hub"
)

func newNonce() string {
	b := make([]byte, 18)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// challenge is what a daemon signs to prove its ID to a hub: bound to the
// hub's nonce and ID and to what the hello claims, so a signature is good
// for one connection to one hub only.
func challenge(nonce, hub, from, kind string) []byte {
	return fmt.Appendf(nil, "ferry hello v1\x00%s\x00%s\x00%s\x00%s", nonce, hub, from, kind)
}

// Prove fills hello's Cert and Sig with prove's answer to the challenge in
// the hub's upgrade response header h.
func Prove(hello *Message, h http.Header, prove Prover) error {
	cert, sig, err := prove(challenge(h.Get(challengeHeader), h.Get(hubHeader), hello.From, hello.Kind))
	if err != nil {
		return err
	}
	hello.Cert, hello.Sig = base64.StdEncoding.EncodeToString(cert), base64.StdEncoding.EncodeToString(sig)
	return nil
}

// verifyHello checks a daemon's hello against the challenge this hub sent.
func verifyHello(hello Message, nonce, hub string) error {
	id, err := identity.ParseID(hello.From)
	if err != nil {
		return proto.Errorf(proto.CodeIdentity, "%v", err)
	}
	if hello.Cert == "" || hello.Sig == "" {
		return proto.Errorf(proto.CodeIdentity, "a daemon's hello must prove its device ID (cert and sig)")
	}
	cert, err1 := base64.StdEncoding.DecodeString(hello.Cert)
	sig, err2 := base64.StdEncoding.DecodeString(hello.Sig)
	if err1 != nil || err2 != nil {
		return proto.Errorf(proto.CodeBadMessage, "cert and sig must be base64")
	}
	if err := identity.Verify(id, cert, sig, challenge(nonce, hub, hello.From, hello.Kind)); err != nil {
		return proto.Errorf(proto.CodeIdentity, "the hello does not prove device %s: %v", id.Short(), err)
	}
	return nil
}
