// Package web is the daemon's HTTP side, on one listener: the signaling hub
// (open to the network), the join pages and the UI's files (open to the
// network), and the owner's API (loopback only, behind Host and Origin
// checks). Every answer gets its security headers here, in one place.
//
// It sees the rest of the daemon only through the small interfaces in
// owner.go and the api package's types; it decides nothing about transfers,
// devices or rooms.
package web

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/ferry-dev/ferry/daemon/api"
)

// Config configures a Server.
type Config struct {
	Listener net.Listener
	// Name is this device's name, shown on pages.
	Name string
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
	s.srv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	return s
}

// Handler returns the server's routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET "+s.cfg.HubPath, s.cfg.Hub)
	mux.Handle("/api/", withHeaders(kindAPI, ownerOnly(s.apiRoutes())))
	mux.Handle("GET /{$}", withHeaders(kindPage, http.HandlerFunc(s.home)))
	mux.Handle("/r/", withHeaders(kindPage, s.roomPages()))
	mux.Handle("GET /{file}", withHeaders(kindAsset, s.assets()))
	mux.Handle("GET /js/", withHeaders(kindAsset, s.assets()))
	mux.Handle("GET /download/", withHeaders(kindPage, http.HandlerFunc(gone)))
	return mux
}

// Run serves until ctx ends, then lets requests in flight finish for a
// few seconds and returns nil. Long streams (watches) end with ctx.
func (s *Server) Run(ctx context.Context) error {
	s.srv.BaseContext = func(net.Listener) context.Context { return ctx }
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.cfg.Listener) }()
	select {
	case err := <-errc:
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
