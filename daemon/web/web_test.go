package web

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/ferry-dev/ferry/daemon/api"
)

// fakeTransfers records sends; every other method is left to the
// embedded nil interface, so a route that should not reach it panics.
type fakeTransfers struct {
	Transfers
	sent []string
}

func (f *fakeTransfers) List() []api.Transfer { return []api.Transfer{} }
func (f *fakeTransfers) Send(to string, paths []string) (string, error) {
	f.sent = append(f.sent, to)
	return "abcdefgh", nil
}

type fakeRooms struct {
	Rooms
	rooms map[string]api.Room
}

func (fakeRooms) Normal(code string) (string, bool) {
	code = strings.ToUpper(code)
	return code, len(code) == 8 && strings.Trim(code, "ABCDEFGHJKMNPQRSTUVWXYZ23456789") == ""
}

func (f fakeRooms) Room(code string) (api.Room, error) {
	r, ok := f.rooms[strings.ToUpper(code)]
	if !ok {
		return api.Room{}, NotFound(errors.New("no such room"))
	}
	return r, nil
}

func testServer(t *testing.T) (*Server, *fakeTransfers) {
	ft := &fakeTransfers{}
	ui := fstest.MapFS{
		"guest.html": {Data: []byte(`guest page of {{.Name}} in room [{{.Room}}] missing={{.Missing}}`)},
		"index.html": {Data: []byte(`dashboard`)},
		"style.css":  {Data: []byte("body{}")},
	}
	rooms := fakeRooms{rooms: map[string]api.Room{"ABCDEFGH": {Code: "ABCDEFGH", Link: "http://192.0.2.5:7466/r/ABCDEFGH",
		Members: []api.Member{{Name: "<b>Phone</b>", Kind: api.KindGuest}}}}}
	s := New(Config{
		Name: "laptop", HubPath: "/ws", UI: ui, Log: slog.New(slog.DiscardHandler),
		Hub:       http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hub") }),
		Status:    func() api.Status { return api.Status{Name: "me"} },
		Transfers: ft, Rooms: rooms,
	})
	return s, ft
}

func TestOwnerGuard(t *testing.T) {
	s, ft := testServer(t)
	h := s.Handler()
	tests := []struct {
		name, method, path, remote, host, origin, ctype string
		code                                            int
		body                                            string
	}{
		{"loopback client", "GET", "/api/status", "127.0.0.1:5000", "127.0.0.1:7466", "", "", 200, `"name":"me"`},
		{"localhost name", "GET", "/api/transfers", "[::1]:5000", "localhost:7466", "", "", 200, "[]"},
		{"another device", "GET", "/api/status", "192.0.2.7:5000", "127.0.0.1:7466", "", "", 403, "answers only on this computer"},
		{"another device sends", "POST", "/api/send", "192.0.2.7:5000", "192.0.2.1:7466", "", "application/json", 403, "answers only on this computer"},
		{"DNS rebinding", "GET", "/api/status", "127.0.0.1:5000", "evil.example:7466", "", "", 403, `host \"evil.example:7466\" is not this computer`},
		{"cross-site page", "POST", "/api/send", "127.0.0.1:5000", "127.0.0.1:7466", "http://evil.example", "application/json", 403, "may not use the local API"},
		{"local page on another port", "POST", "/api/rooms/create", "127.0.0.1:5000", "127.0.0.1:7466", "http://127.0.0.1:9999", "application/json", 403, "may not use the local API"},
		{"local page without a port", "GET", "/api/status", "127.0.0.1:5000", "localhost:7466", "http://localhost", "", 403, "may not use the local API"},
		{"https origin", "GET", "/api/status", "127.0.0.1:5000", "localhost:7466", "https://localhost:7466", "", 403, "may not use the local API"},
		{"null origin", "GET", "/api/status", "127.0.0.1:5000", "localhost:7466", "null", "", 403, "may not use the local API"},
		{"own page", "GET", "/api/status", "127.0.0.1:5000", "localhost:7466", "http://localhost:7466", "", 200, `"name":"me"`},
		{"own page by address", "GET", "/api/status", "127.0.0.1:5000", "127.0.0.1:7466", "http://127.0.0.1:7466", "", 200, `"name":"me"`},
		{"JSON look-alike", "POST", "/api/send", "127.0.0.1:5000", "127.0.0.1:7466", "", "application/jsonx", 415, "Content-Type: application/json"},
		{"JSON with a charset", "POST", "/api/send", "127.0.0.1:5000", "127.0.0.1:7466", "", "application/json; charset=utf-8", 400, "needs a peer"},
		{"form post", "POST", "/api/send", "127.0.0.1:5000", "127.0.0.1:7466", "", "application/x-www-form-urlencoded", 415, "Content-Type: application/json"},
		{"send without peer", "POST", "/api/send", "127.0.0.1:5000", "127.0.0.1:7466", "", "application/json", 400, "needs a peer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"paths":["/x"]}`
			if tt.name == "another device sends" || tt.name == "cross-site page" {
				body = `{"to":"victim","paths":["/etc/passwd"]}`
			}
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
			if w.Header().Get("Content-Security-Policy") == "" || w.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("security headers missing: %v", w.Header())
			}
		})
	}
	if len(ft.sent) != 0 {
		t.Fatalf("a refused request started a send: %v", ft.sent)
	}

	// The same send from the owner does start, so the check above can fail.
	r := httptest.NewRequest("POST", "/api/send", strings.NewReader(`{"to":"desk","paths":["/x"]}`))
	r.RemoteAddr, r.Host = "127.0.0.1:5000", "localhost:7466"
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusAccepted || len(ft.sent) != 1 || ft.sent[0] != "desk" || !strings.Contains(w.Body.String(), `"id":"abcdefgh"`) {
		t.Fatalf("the owner's send: %d %s, sent %v", w.Code, w.Body, ft.sent)
	}
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/api/status", nil))
	if w.Code != http.StatusForbidden {
		t.Fatalf("httptest's default remote address 192.0.2.1 got %d", w.Code)
	}
}

func TestPages(t *testing.T) {
	s, _ := testServer(t)
	h := s.Handler()
	get := func(path, remote string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", path, nil)
		r.RemoteAddr = remote
		if strings.HasPrefix(remote, "127.") {
			r.Host = "localhost:7466"
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	w := get("/r/abcdefgh", "192.0.2.9:4000")
	if w.Code != 200 || w.Body.String() != "guest page of laptop in room [ABCDEFGH] missing=false" {
		t.Fatalf("room page: %d %s", w.Code, w.Body)
	}
	if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
		t.Errorf("page CSP: %q", csp)
	}
	if w := get("/r/Z<b>Z", "192.0.2.9:4000"); w.Code != 404 || w.Body.String() != "guest page of laptop in room [Z&lt;b&gt;Z] missing=true" {
		t.Errorf("unknown room: %d %s", w.Code, w.Body)
	}
	if w := get("/", "192.0.2.9:4000"); w.Code != 200 || w.Body.String() != "guest page of laptop in room [] missing=false" {
		t.Errorf("/ from the network: %d %s", w.Code, w.Body)
	}
	if w := get("/", "127.0.0.1:4000"); w.Code != 200 || w.Body.String() != "dashboard" {
		t.Errorf("/ from this computer: %d %s", w.Code, w.Body)
	}
	// A room this daemon does not know looks the same from the network:
	// the page's join, limited per address, is what says.
	if w := get("/r/WXYZ2345", "192.0.2.9:4000"); w.Code != 200 || w.Body.String() != "guest page of laptop in room [WXYZ2345] missing=false" {
		t.Errorf("a room not known here: %d %s", w.Code, w.Body)
	}
	w = get("/r/ABCDEF/qr.svg", "192.0.2.9:4000")
	if w.Code != 404 {
		t.Errorf("QR code of what is not a code: %d", w.Code)
	}
	w = get("/r/ABCDEFGH/qr.svg", "192.0.2.9:4000")
	if w.Code != 200 || w.Header().Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(w.Body.String(), "<svg") {
		t.Errorf("QR code: %d %v", w.Code, w.Header())
	}
	if w := get("/style.css", "192.0.2.9:4000"); w.Code != 200 || w.Body.String() != "body{}" || w.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("style sheet: %d %q", w.Code, w.Body)
	}
	if w := get("/download/abcdefgh/0/a.bin", "192.0.2.9:4000"); w.Code != 404 || !strings.Contains(w.Body.String(), "closed or reloaded") {
		t.Errorf("a download the page no longer serves: %d %q", w.Code, w.Body)
	}
	if w := get("/guest.html", "192.0.2.9:4000"); w.Code != 404 {
		t.Errorf("a template is served raw: %d", w.Code)
	}
	if w := get("/ws", "192.0.2.9:4000"); w.Body.String() != "hub" {
		t.Errorf("the hub is not at /ws: %d %s", w.Code, w.Body)
	}
}

// TestTimeouts: a keep-alive connection left idle, and a request whose
// body trickles, are closed by the server instead of held for ever.
func TestTimeouts(t *testing.T) {
	saved := timeouts
	timeouts.header, timeouts.idle, timeouts.short = 300*time.Millisecond, 300*time.Millisecond, 300*time.Millisecond
	defer func() { timeouts = saved }()
	s, _ := testServer(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.cfg.Listener = ln
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()

	// closed reads what the server sends until it closes the connection,
	// and fails if it has not within 10 s.
	closed := func(what string, c net.Conn) string {
		t.Helper()
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		b, err := io.ReadAll(c)
		if err != nil {
			t.Fatalf("%s: the server kept the connection: %v", what, err)
		}
		return string(b)
	}
	for _, c := range []struct{ what, request, answer string }{
		{"idle keep-alive", "GET /style.css HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", "200 OK"},
		{"trickled body", "POST /api/send HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"to\":", ""},
		{"headers never finished", "GET /style.css HTTP/1.1\r\nHost: 127.0.0.1\r\n", ""},
	} {
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(conn, c.request); err != nil {
			t.Fatal(err)
		}
		if got := closed(c.what, conn); !strings.Contains(got, c.answer) {
			t.Errorf("%s: the server answered %q", c.what, got)
		}
		conn.Close()
	}
}

// TestPhoneLink: the address a phone opens is one it can reach: never
// loopback or link-local, even when the owner named those interfaces.
func TestPhoneLink(t *testing.T) {
	for _, c := range []struct {
		addrs []string
		want  string
	}{
		{[]string{"127.0.0.1", "10.200.0.1", "::1"}, "http://10.200.0.1:7466/"},
		{[]string{"fe80::1", "fd00::2"}, "http://[fd00::2]:7466/"},
		{[]string{"127.0.0.1", "::1"}, ""},
		{nil, ""},
	} {
		if got := PhoneLink("http", c.addrs, 7466); got != c.want {
			t.Errorf("PhoneLink(%v) = %q, want %q", c.addrs, got, c.want)
		}
	}
}
