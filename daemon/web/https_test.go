package web

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/ferry-dev/ferry/daemon/api"
)

// TestOwnerGuardOverTLS: on the HTTPS port the owner is who it is on the
// plain one: loopback, for a loopback host. An origin must name the scheme
// the request came in on, so the plain page and the HTTPS page, on their
// different ports, cannot use each other's API.
func TestOwnerGuardOverTLS(t *testing.T) {
	s, _ := testServer(t)
	h := s.Handler()
	for _, tt := range []struct {
		name, remote, host, origin string
		code                       int
		body                       string
	}{
		{"loopback client", "127.0.0.1:5000", "127.0.0.1:7467", "", 200, `"name":"me"`},
		{"own page", "127.0.0.1:5000", "localhost:7467", "https://localhost:7467", 200, `"name":"me"`},
		{"own page on the default port", "127.0.0.1:5000", "localhost", "https://localhost", 200, `"name":"me"`},
		{"plain page on the same port", "127.0.0.1:5000", "localhost:7467", "http://localhost:7467", 403, "may not use the local API"},
		{"plain page on its port", "127.0.0.1:5000", "localhost:7467", "http://localhost:7466", 403, "may not use the local API"},
		{"another device", "192.0.2.7:5000", "192.0.2.1:7467", "", 403, "answers only on this computer"},
		{"another device naming loopback", "192.0.2.7:5000", "127.0.0.1:7467", "https://127.0.0.1:7467", 403, "answers only on this computer"},
		{"DNS rebinding", "127.0.0.1:5000", "evil.example:7467", "", 403, `host \"evil.example:7467\" is not this computer`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "https://"+tt.host+"/api/status", nil)
			if r.TLS == nil {
				t.Fatal("httptest made a request without TLS")
			}
			r.RemoteAddr, r.Host = tt.remote, tt.host
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.code || !strings.Contains(w.Body.String(), tt.body) {
				t.Fatalf("GET /api/status = %d %s; want %d containing %s", w.Code, w.Body, tt.code, tt.body)
			}
		})
	}

	// From another device / is the guest page, whatever Host it names.
	r := httptest.NewRequest("GET", "https://127.0.0.1:7467/", nil)
	r.RemoteAddr = "192.0.2.7:5000"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 200 || !strings.HasPrefix(w.Body.String(), "guest page") {
		t.Fatalf("/ over TLS from another device: %d %s", w.Code, w.Body)
	}
}

// TestPhoneQRs: the dashboard's QR codes are of the plain address, and
// with ?https of the HTTPS one, which exists only when the mode is on.
func TestPhoneQRs(t *testing.T) {
	s, _ := testServer(t)
	qr := func(query string, st api.Status) int {
		s.cfg.Status = func() api.Status { return st }
		r := httptest.NewRequest("GET", "/api/phone-qr.svg"+query, nil)
		r.RemoteAddr, r.Host = "127.0.0.1:5000", "localhost:7466"
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, r)
		return w.Code
	}
	on := api.Status{Phone: "http://192.0.2.1:7466/", PhoneHTTPS: "https://192.0.2.1:7467/"}
	off := api.Status{Phone: "http://192.0.2.1:7466/"}
	for _, c := range []struct {
		query string
		st    api.Status
		code  int
	}{
		{"", on, 200}, {"?https", on, 200}, {"", off, 200}, {"?https", off, 404}, {"", api.Status{}, 404},
	} {
		if got := qr(c.query, c.st); got != c.code {
			t.Errorf("QR code %q with %+v: %d, want %d", c.query, c.st, got, c.code)
		}
	}
	if got := PhoneLink("https", []string{"127.0.0.1", "192.0.2.1"}, 7467); got != "https://192.0.2.1:7467/" {
		t.Errorf("PhoneLink over https: %q", got)
	}
}

// TestJoinLinkOverTLS: a room's link made for a page that came over HTTPS
// is an https:// one, at the address the page came in on.
func TestJoinLinkOverTLS(t *testing.T) {
	r := httptest.NewRequest("GET", "https://192.0.2.1:7467/r/ABCDEFGH/qr.svg", nil)
	r = r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 7467}))
	if got := pageLink(r, api.Room{Code: "ABCDEFGH", Link: "http://192.0.2.1:7466/r/ABCDEFGH"}); got != "https://192.0.2.1:7467/r/ABCDEFGH" {
		t.Fatalf("the join link over TLS: %q", got)
	}
}

// TestServeTLS: with a second listener the server answers the same routes
// over TLS, with the certificate it was given, in HTTP/1.1 even to a
// client that offers HTTP/2; the guest page names the device; and a
// cancelled context closes both listeners.
func TestServeTLS(t *testing.T) {
	s, _ := testServer(t)
	s.cfg.UI = fstest.MapFS{"guest.html": {Data: []byte(`guest of {{.Name}}, device {{.Short}} ({{.Device}})`)}}
	s.cfg.Device, s.cfg.ShortDevice = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567ABCDEFGHIJKLMNOPQRST", "ABCD-EFGH"
	plain, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	secure, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cert := selfSigned(t)
	s.cfg.Listener, s.cfg.Secure, s.cfg.TLS = plain, secure, &tls.Config{Certificates: []tls.Certificate{cert}}
	s = New(s.cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})

	want := sha256.Sum256(cert.Certificate[0])
	client := &http.Client{Transport: &http.Transport{
		ForceAttemptHTTP2: true,
		TLSClientConfig: &tls.Config{
			// The certificate is self-signed: pin it, as a person does by
			// comparing its fingerprint.
			InsecureSkipVerify: true,
			VerifyConnection: func(cs tls.ConnectionState) error {
				if sha256.Sum256(cs.PeerCertificates[0].Raw) != want {
					return errors.New("not the server's certificate")
				}
				return nil
			},
		},
	}}
	defer client.CloseIdleConnections()
	get := func(u string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", u, nil)
		req.Host = "phone.example" // not loopback: the guest's page
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, body := get("https://" + secure.Addr().String() + "/")
	if resp.StatusCode != 200 || resp.Proto != "HTTP/1.1" || body != "guest of laptop, device ABCD-EFGH ("+s.cfg.Device+")" {
		t.Fatalf("the guest page over TLS: %s %d %q", resp.Proto, resp.StatusCode, body)
	}
	if resp.TLS == nil || resp.TLS.NegotiatedProtocol != "http/1.1" {
		t.Fatalf("negotiated %+v", resp.TLS)
	}
	if resp, body := get("http://" + plain.Addr().String() + "/"); resp.StatusCode != 200 || !strings.HasPrefix(body, "guest of laptop") {
		t.Fatalf("the guest page over plain HTTP: %d %q", resp.StatusCode, body)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run returned %v after its context ended", err)
	}
	done <- nil // for the cleanup
	for _, ln := range []net.Listener{plain, secure} {
		if c, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after the server stopped", ln.Addr())
		}
	}
}

// selfSigned makes a certificate like a device's: ECDSA P-256, signed by
// its own key, naming no host.
func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
