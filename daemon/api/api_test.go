package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ferry-dev/ferry/daemon/transfer"
)

type fakeTransfers struct {
	Transfers
	sent []string
}

func (f *fakeTransfers) List() []transfer.Info { return nil }
func (f *fakeTransfers) Send(addr string, paths []string) (string, error) {
	f.sent = append(f.sent, addr)
	return "abcdefgh", nil
}

func TestGuard(t *testing.T) {
	ft := &fakeTransfers{}
	h := New(Config{Transfers: ft, Status: func() Status { return Status{Name: "me"} }})
	tests := []struct {
		name, method, path, remote, host, origin, ctype string
		code                                            int
		body                                            string
	}{
		{"loopback client", "GET", "/api/status", "127.0.0.1:5000", "127.0.0.1:7466", "", "", 200, `"name":"me"`},
		{"localhost name", "GET", "/api/transfers", "[::1]:5000", "localhost:7466", "", "", 200, "null"},
		{"another device", "GET", "/api/status", "192.0.2.7:5000", "127.0.0.1:7466", "", "", 403, "answers only on this computer"},
		{"DNS rebinding", "GET", "/api/status", "127.0.0.1:5000", "evil.example:7466", "", "", 403, `host \"evil.example:7466\" is not this computer`},
		{"cross-site page", "POST", "/api/send", "127.0.0.1:5000", "127.0.0.1:7466", "http://evil.example", "application/json", 403, "may not use the local API"},
		{"form post", "POST", "/api/send", "127.0.0.1:5000", "127.0.0.1:7466", "", "application/x-www-form-urlencoded", 415, "Content-Type: application/json"},
		{"send without peer", "POST", "/api/send", "127.0.0.1:5000", "127.0.0.1:7466", "", "application/json", 400, "needs a peer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"paths":["/x"]}`
			r := httptest.NewRequest(tt.method, tt.path, strings.NewReader(body))
			r.RemoteAddr, r.Host = tt.remote, tt.host
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}
			if tt.ctype != "" {
				r.Header.Set("Content-Type", tt.ctype)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.code || !strings.Contains(w.Body.String(), tt.body) {
				t.Fatalf("%s %s = %d %s; want %d containing %s", tt.method, tt.path, w.Code, w.Body, tt.code, tt.body)
			}
		})
	}
	if len(ft.sent) != 0 {
		t.Fatalf("a refused request started a send: %v", ft.sent)
	}
	if w := httptest.NewRecorder(); true {
		h.ServeHTTP(w, httptest.NewRequest("GET", "/api/status", nil))
		if w.Code != http.StatusForbidden {
			t.Fatalf("httptest's default remote address 192.0.2.1 got %d", w.Code)
		}
	}
}
