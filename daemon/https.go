package daemon

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"syscall"

	"github.com/ferry-dev/ferry/daemon/identity"
)

// The optional HTTPS mode: the same pages on a second port, over TLS with
// the device's own certificate. A page a phone loads from https:// is a
// secure context, so it may use OPFS, a service worker and WebCrypto. The
// certificate is self-signed, so browsers warn before the first visit;
// docs/https.md says what that warning means and what to check.

// httpsPortFor returns the port HTTPS listens on when the owner named
// none: the one after the HTTP port.
func httpsPortFor(port, httpsPort int) (int, error) {
	if httpsPort != 0 {
		return httpsPort, nil
	}
	if port >= 65535 {
		return 0, fmt.Errorf("port %d has no port after it for HTTPS; choose one with --https-port", port)
	}
	return port + 1, nil
}

// listenHTTPS binds the HTTPS listener beside plain, the HTTP one: on the
// same address, on the port Config asks for.
func listenHTTPS(cfg Config, plain net.Listener) (net.Listener, error) {
	if cfg.HTTPSListener != nil {
		return cfg.HTTPSListener, nil
	}
	port := cfg.HTTPSPort
	if port == 0 && cfg.Listener == nil && cfg.Port != 0 {
		var err error
		if port, err = httpsPortFor(cfg.Port, 0); err != nil {
			return nil, err
		}
	}
	host := ""
	if a, ok := plain.Addr().(*net.TCPAddr); ok {
		if port != 0 && port == a.Port {
			return nil, fmt.Errorf("the HTTPS port must differ from the port, %d; choose another with --https-port", port)
		}
		if !a.IP.IsUnspecified() {
			host = a.IP.String()
		}
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("HTTPS port %d is in use; choose another with --https-port, or stop the program that uses it", port)
	}
	if err != nil {
		return nil, fmt.Errorf("listening for HTTPS on port %d: %w", port, err)
	}
	return ln, nil
}

// tlsConfig serves the device's certificate, the one whose SHA-256 is the
// device ID, so what a browser shows in its certificate details is the ID
// in another spelling (see fingerprint).
func tlsConfig(id *identity.Identity) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{id.Cert.Raw}, PrivateKey: id.Key, Leaf: id.Cert}},
		MinVersion:   tls.VersionTLS12,
	}
}

// fingerprint spells the device ID as browsers show a certificate's
// SHA-256 fingerprint: hex pairs between colons.
func fingerprint(id identity.ID) string {
	var b strings.Builder
	for i, c := range id {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%02X", c)
	}
	return b.String()
}

// httpsPort is the port HTTPS listens on, 0 when the mode is off.
func (d *Daemon) httpsPort() int {
	if d.tlsLn == nil {
		return 0
	}
	return d.tlsLn.Addr().(*net.TCPAddr).Port
}

// HTTPSAddr returns the HTTPS listener's address, nil when the mode is off.
func (d *Daemon) HTTPSAddr() net.Addr {
	if d.tlsLn == nil {
		return nil
	}
	return d.tlsLn.Addr()
}
