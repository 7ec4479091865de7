// Package identity owns a daemon's long-lived key and self-signed certificate
// and the device ID derived from it: the SHA-256 fingerprint of the
// certificate, the same value DTLS puts in every SDP as a=fingerprint
// (RFC 8122), so a peer's WebRTC handshake proves it holds the ID it claims.
package identity

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base32"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ID is a device ID: the SHA-256 of the device's certificate.
type ID [32]byte

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// String returns the ID as 52 base32 characters.
func (id ID) String() string { return idEncoding.EncodeToString(id[:]) }

// Short returns the first eight characters, grouped for reading aloud.
func (id ID) Short() string {
	s := id.String()
	return s[:4] + "-" + s[4:8]
}

// IsZero reports whether the ID is unset.
func (id ID) IsZero() bool { return id == ID{} }

// MarshalText encodes the ID as its string form.
func (id ID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText parses the string form.
func (id *ID) UnmarshalText(b []byte) error {
	v, err := ParseID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// ParseID parses the 52-character form, ignoring case and dashes.
func ParseID(s string) (ID, error) {
	clean := strings.ToUpper(strings.ReplaceAll(s, "-", ""))
	b, err := idEncoding.DecodeString(clean)
	if err != nil || len(b) != len(ID{}) {
		return ID{}, fmt.Errorf("bad device ID %q: want 52 base32 characters", s)
	}
	return ID(b), nil
}

// FromFingerprint converts an SDP fingerprint ("sha-256", "AB:CD:...") to an ID.
func FromFingerprint(algorithm, value string) (ID, error) {
	if !strings.EqualFold(algorithm, "sha-256") {
		return ID{}, fmt.Errorf("fingerprint algorithm %q is not sha-256", algorithm)
	}
	b, err := hex.DecodeString(strings.ReplaceAll(value, ":", ""))
	if err != nil || len(b) != len(ID{}) {
		return ID{}, fmt.Errorf("bad sha-256 fingerprint %q", value)
	}
	return ID(b), nil
}

// Identity is the daemon's key, certificate and ID.
type Identity struct {
	Key  *ecdsa.PrivateKey
	Cert *x509.Certificate
	ID   ID
}

const (
	keyFile  = "key.pem"
	certFile = "cert.pem"
)

// Load reads the identity from dir, creating it on first use. Both files are
// written 0600; an existing identity is never replaced, since the device ID
// is what every peer remembers this device by.
func Load(dir string) (*Identity, error) {
	keyPEM, kerr := os.ReadFile(filepath.Join(dir, keyFile))
	certPEM, cerr := os.ReadFile(filepath.Join(dir, certFile))
	if errors.Is(kerr, fs.ErrNotExist) && errors.Is(cerr, fs.ErrNotExist) {
		return create(dir)
	}
	if kerr != nil {
		return nil, fmt.Errorf("reading device key: %w", kerr)
	}
	if cerr != nil {
		return nil, fmt.Errorf("reading device certificate: %w", cerr)
	}
	return parse(keyPEM, certPEM)
}

func parse(keyPEM, certPEM []byte) (*Identity, error) {
	kb, _ := pem.Decode(keyPEM)
	cb, _ := pem.Decode(certPEM)
	if kb == nil || cb == nil {
		return nil, errors.New("reading identity: key.pem or cert.pem is not PEM")
	}
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("reading device key: %w", err)
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("reading device certificate: %w", err)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, errors.New("reading identity: key.pem does not match cert.pem")
	}
	return &Identity{Key: key, Cert: cert, ID: sha256.Sum256(cert.Raw)}, nil
}

func create(dir string) (*Identity, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating device key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("generating certificate serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "ferry"},
		NotBefore:    now.Add(-24 * time.Hour),
		NotAfter:     now.AddDate(100, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("creating device certificate: %w", err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encoding device key: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating data folder: %w", err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := writeNew(filepath.Join(dir, keyFile), keyPEM); err != nil {
		return nil, err
	}
	if err := writeNew(filepath.Join(dir, certFile), certPEM); err != nil {
		return nil, err
	}
	return parse(keyPEM, certPEM)
}

func writeNew(name string, b []byte) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("writing %s: %w", filepath.Base(name), err)
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", filepath.Base(name), err)
	}
	return nil
}

// PairCode is the short code two owners compare when they trust each
// other's devices: the same for (a, b) and (b, a), six digits in two groups.
func PairCode(a, b ID) string {
	if bytes.Compare(a[:], b[:]) > 0 {
		a, b = b, a
	}
	h := sha256.New()
	h.Write([]byte("ferry pair code\x00"))
	h.Write(a[:])
	h.Write(b[:])
	n := binary.BigEndian.Uint32(h.Sum(nil)) % 1000000
	return fmt.Sprintf("%03d %03d", n/1000, n%1000)
}

// Sign signs msg with the device key, for a peer that checks it with
// Verify: it returns the certificate, which names the ID, and the
// signature.
func (i *Identity) Sign(msg []byte) (cert, sig []byte, err error) {
	h := sha256.Sum256(msg)
	sig, err = ecdsa.SignASN1(rand.Reader, i.Key, h[:])
	if err != nil {
		return nil, nil, fmt.Errorf("signing with the device key: %w", err)
	}
	return i.Cert.Raw, sig, nil
}

// Verify checks that cert is the certificate of device id and that sig is
// its key's signature of msg.
func Verify(id ID, cert, sig, msg []byte) error {
	if ID(sha256.Sum256(cert)) != id {
		return fmt.Errorf("the certificate is not device %s's", id.Short())
	}
	c, err := x509.ParseCertificate(cert)
	if err != nil {
		return fmt.Errorf("reading the certificate of device %s: %w", id.Short(), err)
	}
	pub, ok := c.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return fmt.Errorf("device %s's certificate has no ECDSA key", id.Short())
	}
	h := sha256.Sum256(msg)
	if !ecdsa.VerifyASN1(pub, h[:], sig) {
		return fmt.Errorf("the signature is not device %s's", id.Short())
	}
	return nil
}
