package daemon

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ferry-dev/ferry/daemon/api"
	"github.com/ferry-dev/ferry/daemon/identity"
)

// pinnedTLS accepts exactly the certificate of device id, the way a
// person does who compares the fingerprint a browser shows with the
// owner's screen: the certificate is self-signed, so no authority vouches
// for it.
func pinnedTLS(id identity.ID) *tls.Config {
	return &tls.Config{
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 || identity.ID(sha256.Sum256(cs.PeerCertificates[0].Raw)) != id {
				return errors.New("the certificate is not the device's")
			}
			return nil
		},
	}
}

// fetch GETs u with the Host header host (and an Origin, if not "") and
// returns the status and body.
func fetch(t *testing.T, c *http.Client, u, host, origin string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestHTTPS: a daemon in the HTTPS mode serves the guest page over TLS
// with the certificate whose SHA-256 is its device ID, and the page names
// the device; the owner on this computer keeps the API over TLS too, from
// the HTTPS page's own origin only; the hub takes a WebSocket from the
// HTTPS page; the plain port works as before; and the HTTPS port closes
// when the daemon stops.
func TestHTTPS(t *testing.T) {
	d, stop := runTestDaemonWith(t, "laptop", t.TempDir(), func(c *Config) { c.HTTPS = true })
	if d.HTTPSAddr() == nil {
		t.Fatal("the daemon has no HTTPS listener")
	}
	secure := d.HTTPSAddr().String()
	port := d.HTTPSAddr().(*net.TCPAddr).Port
	if host, _, _ := net.SplitHostPort(secure); host != "127.0.0.1" || port == d.port() {
		t.Fatalf("HTTPS listens on %s, HTTP on %s: want the same address, another port", secure, d.Addr())
	}
	tr := &http.Transport{TLSClientConfig: pinnedTLS(d.ID()), ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}

	// The guest's page: any Host that is not this computer's.
	code, body := fetch(t, client, "https://"+secure+"/", "phone.example", "")
	for _, want := range []string{"/js/guest/app.js", ">" + d.ID().Short() + "<", d.ID().String(), "check it matches the owner's screen"} {
		if code != 200 || !strings.Contains(body, want) {
			t.Fatalf("the guest page over TLS: %d, without %q:\n%s", code, want, body)
		}
	}
	// A certificate that is not the device's is refused, so the pin above
	// checked something.
	other := &http.Transport{TLSClientConfig: pinnedTLS(identity.ID{1})}
	defer other.CloseIdleConnections()
	if _, err := (&http.Client{Transport: other}).Get("https://" + secure + "/"); err == nil || !strings.Contains(err.Error(), "not the device's") {
		t.Fatalf("a client that expects another device: %v", err)
	}

	// The owner over TLS, on loopback: the dashboard, and the API from the
	// HTTPS page's origin but not from the plain page's.
	self := net.JoinHostPort("localhost", strconv.Itoa(port))
	if code, body := fetch(t, client, "https://"+secure+"/", self, ""); code != 200 || !strings.Contains(body, "/js/dashboard.js") {
		t.Fatalf("the dashboard over TLS: %d\n%s", code, body)
	}
	code, body = fetch(t, client, "https://"+secure+"/api/status", self, "https://"+self)
	var st api.Status
	if err := json.Unmarshal([]byte(body), &st); code != 200 || err != nil {
		t.Fatalf("the status over TLS from the HTTPS page: %d %s", code, body)
	}
	if st.HTTPSPort != port || st.Port != d.port() || st.Fingerprint != fingerprint(d.ID()) || st.ID != d.ID().String() {
		t.Fatalf("the status: %+v; want HTTPS port %d and fingerprint %s", st, port, fingerprint(d.ID()))
	}
	if code, body := fetch(t, client, "https://"+secure+"/api/status", self, "http://"+self); code != 403 || !strings.Contains(body, "may not use the local API") {
		t.Fatalf("the API over TLS from a plain page's origin: %d %s", code, body)
	}

	// The hub from the HTTPS page: wss, with the page's origin; a page
	// of another site is refused.
	dial := func(origin string) (int, error) {
		dialer := websocket.Dialer{TLSClientConfig: pinnedTLS(d.ID()), HandshakeTimeout: 10 * time.Second}
		ws, resp, err := dialer.Dial("wss://"+secure+"/ws", http.Header{"Origin": {origin}})
		if ws != nil {
			ws.Close()
		}
		if resp == nil {
			return 0, err
		}
		return resp.StatusCode, err
	}
	if code, err := dial("https://" + secure); code != http.StatusSwitchingProtocols {
		t.Fatalf("the hub over wss from the HTTPS page: %d %v", code, err)
	}
	if code, _ := dial("https://evil.example"); code != http.StatusForbidden {
		t.Fatalf("the hub over wss from another site: %d", code)
	}

	// The plain port, as before.
	var plain api.Status
	if err := api.NewClient(d.Addr().String()).Do(context.Background(), "GET", "/api/status", nil, &plain); err != nil || plain.HTTPSPort != port {
		t.Fatalf("the status over plain HTTP: %+v %v", plain, err)
	}
	if code, body := fetch(t, http.DefaultClient, "http://"+d.Addr().String()+"/", "phone.example", ""); code != 200 || !strings.Contains(body, ">"+d.ID().Short()+"<") {
		t.Fatalf("the guest page over plain HTTP: %d\n%s", code, body)
	}

	stop()
	if c, err := net.DialTimeout("tcp", secure, 5*time.Second); err == nil {
		c.Close()
		t.Fatalf("the HTTPS port %s still accepts connections after the daemon stopped", secure)
	}
}

// TestHTTPSSettings: the HTTPS mode is a setting like the port: saved in
// config.json, in force from the next start, refused when it would share
// the port.
func TestHTTPSSettings(t *testing.T) {
	d, _ := runTestDaemonWith(t, "laptop", t.TempDir(), nil)
	s := d.settings.Get()
	if s.HTTPS || d.HTTPSAddr() != nil || d.status().HTTPSPort != 0 || d.status().PhoneHTTPS != "" {
		t.Fatalf("a daemon without --https: settings %+v, status %+v", s, d.status())
	}
	s.HTTPS = true
	saved, err := d.settings.Save(s)
	if err != nil || !slices.Equal(saved.Restart, []string{"https"}) {
		t.Fatalf("turning HTTPS on: %+v %v", saved, err)
	}
	conf, err := d.dir.LoadConfig()
	if err != nil || !conf.HTTPS || conf.HTTPSPort != 0 {
		t.Fatalf("config.json: %+v %v", conf, err)
	}
	for _, c := range []struct {
		port, httpsPort int
		want            string
	}{
		{7466, 7466, "the HTTPS port must differ from the port, 7466"},
		{65535, 0, "port 65535 has no port after it; choose an HTTPS port"},
		{7466, 70000, "the HTTPS port must be between 1 and 65535, or empty for the port after the port, not 70000"},
	} {
		bad := s
		bad.Port, bad.HTTPSPort = c.port, c.httpsPort
		if _, err := d.settings.Save(bad); err == nil || err.Error() != c.want {
			t.Errorf("port %d, HTTPS port %d: %v, want %q", c.port, c.httpsPort, err, c.want)
		}
	}

	// A daemon that serves HTTPS shows its port in the settings unless it
	// is the one after the port, and saving them as shown restarts nothing.
	on, _ := runTestDaemonWith(t, "desk", t.TempDir(), func(c *Config) { c.HTTPS = true })
	s = on.settings.Get()
	want := on.httpsPort()
	if want == on.port()+1 {
		want = 0
	}
	if !s.HTTPS || s.HTTPSPort != want {
		t.Fatalf("the settings of a daemon with HTTPS on port %d: %+v", on.httpsPort(), s)
	}
	if saved, err := on.settings.Save(s); err != nil || len(saved.Restart) != 0 {
		t.Fatalf("saving the settings as they are: %+v %v", saved, err)
	}
	s.HTTPSPort = 1
	for s.HTTPSPort == on.port() || s.HTTPSPort == on.httpsPort() || s.HTTPSPort == on.port()+1 {
		s.HTTPSPort++
	}
	if saved, err := on.settings.Save(s); err != nil || !slices.Equal(saved.Restart, []string{"httpsPort"}) {
		t.Fatalf("moving HTTPS to another port: %+v %v", saved, err)
	}
}

// TestHTTPSPorts: with no HTTPS port named, HTTPS takes the one after the
// HTTP port; a port that is taken, or is the HTTP port, stops the daemon
// from starting with a message that says what to do.
func TestHTTPSPorts(t *testing.T) {
	for _, c := range []struct {
		port, httpsPort, want int
		err                   string
	}{
		{7466, 0, 7467, ""},
		{7466, 8443, 8443, ""},
		{65535, 0, 0, "port 65535 has no port after it for HTTPS; choose one with --https-port"},
		{65535, 443, 443, ""},
	} {
		got, err := httpsPortFor(c.port, c.httpsPort)
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		if got != c.want || msg != c.err {
			t.Errorf("httpsPortFor(%d, %d) = %d, %v; want %d, %q", c.port, c.httpsPort, got, err, c.want, c.err)
		}
	}
	if got := fingerprint(identity.ID{0xab, 0x01}); !strings.HasPrefix(got, "AB:01:00:") || len(got) != 32*3-1 {
		t.Errorf("fingerprint: %q", got)
	}

	plain, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	for _, c := range []struct {
		port int
		want string
	}{
		{plain.Addr().(*net.TCPAddr).Port, fmt.Sprintf("the HTTPS port must differ from the port, %d; choose another with --https-port", plain.Addr().(*net.TCPAddr).Port)},
		{taken.Addr().(*net.TCPAddr).Port, fmt.Sprintf("HTTPS port %d is in use; choose another with --https-port, or stop the program that uses it", taken.Addr().(*net.TCPAddr).Port)},
	} {
		dir := t.TempDir()
		_, err := New(Config{
			DataDir: filepath.Join(dir, "data"), Downloads: filepath.Join(dir, "dl"), Name: "laptop", Listener: plain,
			HTTPS: true, HTTPSPort: c.port, Log: slog.New(slog.DiscardHandler),
		})
		if err == nil || err.Error() != c.want {
			t.Errorf("HTTPS on port %d: %v, want %q", c.port, err, c.want)
		}
	}
}
