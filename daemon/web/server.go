// Package web is the daemon's HTTP side, on one listener: the signaling hub
// (open to the network), the join pages and the UI's files (open to the
// network), and the owner's API (loopback only, behind Host and Origin
// checks). Every answer gets its security headers here, in one place.
//
// In the HTTPS mode a second listener serves the same routes over TLS.
// Who is the owner does not change with it: the API still answers only
// requests from loopback, for a loopback host.
//
// It sees the rest of the daemon only through the small interfaces in
// owner.go and the api package's types; it decides nothing about transfers,
// devices or rooms.
package web

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/ferry-dev/ferry/daemon/api"
)

// Config configures a Server.
type Config struct {
	Listener net.Listener
	// Secure, if set, serves the same routes over TLS with the
	// certificate of TLS (the HTTPS mode).
	Secure net.Listener
	TLS    *tls.Config
	// Name is this device's name, shown on pages.
	Name string
	// Device and ShortDevice are this device's ID, whole and in the short
	// form people compare; the guest page shows them.
	Device, ShortDevice string
	// Hub serves the signaling hub's WebSocket at HubPath.
	Hub     http.Handler
	HubPath string
	// UI holds the pages and assets (package ui, or a folder on disk
	// while working on the UI).
	UI fs.FS
	// The owner's side: what the API reads and does.
	Status    func() api.Status
	Transfers Transfers
	Peers     Peers
	Rooms     Rooms
	Messages  Messages
	Settings  Settings
	Uploads   Uploads
	// Pairing makes and takes pairing texts (package pair); nil answers
	// that this daemon does not pair.
	Pairing Pairing
	// Links serves the files a browser downloads from this daemon instead
	// of receiving them in its page, at LinkPath; nil serves none.
	Links Links
	// Boot is different every time the daemon starts; the event stream
	// tells it, so a page can tell a restart from a dropped connection.
	Boot string
	Log  *slog.Logger
}

// Server serves the daemon's HTTP side.
type Server struct {
	cfg Config
	srv *http.Server
}

// New returns a server; Run serves.
func New(cfg Config) *Server {
	s := &Server{cfg: cfg}
	s.srv = &http.Server{
		Handler: s.Handler(), ReadHeaderTimeout: timeouts.header, IdleTimeout: timeouts.idle,
		ErrorLog: log.New(serverLog{cfg.Log}, "", 0),
	}
	return s
}

// serverLog takes what net/http logs about connections. A failed TLS
// handshake is routine in the HTTPS mode (a browser that shows its
// certificate warning closes the connection), so it goes to the debug
// level; anything else is a warning.
type serverLog struct{ log *slog.Logger }

func (l serverLog) Write(p []byte) (int, error) {
	msg := strings.TrimSpace(string(p))
	if strings.Contains(msg, "TLS handshake error") {
		l.log.Debug("TLS handshake failed", "err", msg)
	} else {
		l.log.Warn("Web server", "err", msg)
	}
	return len(p), nil
}

// timeouts bound how long a connection may hold the server: a request's
// headers, a keep-alive connection between requests, and a short route's
// request and answer. The hub, the event stream, watches and uploads run
// for as long as they need, without the last.
var timeouts = struct{ header, idle, short time.Duration }{10 * time.Second, 30 * time.Second, 30 * time.Second}

// short gives a request of a short route timeouts.short to be read and
// answered, so a client that trickles its body or never reads the answer
// does not keep a connection.
func short(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		deadline := time.Now().Add(timeouts.short)
		rc.SetReadDeadline(deadline)
		rc.SetWriteDeadline(deadline)
		next.ServeHTTP(w, r)
	})
}

// long reports whether an API request is one of the routes that stream:
// the event stream, a watch, an upload.
func long(r *http.Request) bool {
	p := r.URL.Path
	return p == "/api/events" || strings.HasSuffix(p, "/watch") || strings.HasPrefix(p, "/api/uploads/")
}

// Handler returns the server's routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET "+s.cfg.HubPath, s.cfg.Hub)
	api := withHeaders(kindAPI, ownerOnly(s.apiRoutes()))
	shortAPI := short(api)
	mux.Handle("/api/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if long(r) {
			api.ServeHTTP(w, r)
			return
		}
		shortAPI.ServeHTTP(w, r)
	}))
	mux.Handle("GET /{$}", short(withHeaders(kindPage, http.HandlerFunc(s.home))))
	mux.Handle("/r/", short(withHeaders(kindPage, s.roomPages())))
	mux.Handle("GET /{file}", short(withHeaders(kindAsset, s.assets())))
	mux.Handle("GET /js/", short(withHeaders(kindAsset, s.assets())))
	mux.Handle("GET /download/", short(withHeaders(kindPage, http.HandlerFunc(gone))))
	if s.cfg.Links != nil {
		// A download runs as long as it needs: no short deadline.
		mux.Handle("GET "+LinkPath+"{token}/{name}", withHeaders(kindAPI, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.cfg.Links.ServeLink(w, r, r.PathValue("token"))
		})))
	}
	return mux
}

// Run serves until ctx ends, then lets requests in flight finish for a
// few seconds and returns nil. Long streams (watches) end with ctx.
func (s *Server) Run(ctx context.Context) error {
	s.srv.BaseContext = func(net.Listener) context.Context { return ctx }
	errc := make(chan error, 2)
	go func() { errc <- s.srv.Serve(s.cfg.Listener) }()
	if s.cfg.Secure != nil {
		conf := s.cfg.TLS.Clone()
		// HTTP/1.1 only, as on the plain port: the hub's WebSocket is an
		// HTTP/1.1 upgrade, and the routes' deadlines and streams behave
		// the same on both ports.
		conf.NextProtos = []string{"http/1.1"}
		go func() { errc <- s.srv.Serve(tls.NewListener(s.cfg.Secure, conf)) }()
	}
	select {
	case err := <-errc:
		s.srv.Close() // the other listener, if any
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(shut); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("stopping the web server: %w", err)
	}
	return nil
}

// What an answer is, for its headers.
type kind int

const (
	kindAPI   kind = iota // JSON for the owner's clients
	kindPage              // HTML for people
	kindAsset             // style sheets, scripts, images of the UI
)

// pageCSP lets a page load the UI's own files and talk to its own daemon,
// and nothing else: no inline script or style, no eval, no framing.
const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// withHeaders sets the security headers of every answer of kind k.
func withHeaders(k kind, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		switch k {
		case kindAPI:
			h.Set("Cache-Control", "no-store")
			h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		case kindPage:
			h.Set("Cache-Control", "no-store")
			h.Set("Content-Security-Policy", pageCSP)
		case kindAsset:
			h.Set("Cache-Control", "no-cache")
			h.Set("Content-Security-Policy", pageCSP)
		}
		next.ServeHTTP(w, r)
	})
}
