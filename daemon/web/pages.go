package web

import (
	"fmt"
	"html/template"
	"io/fs"
	"net"
	"net/http"
	"strings"

	"github.com/ferry-dev/ferry/daemon/api"
)

// roomPages serves /r/CODE, the page a join link or QR code opens: the
// guest page, opened in that room. And /r/CODE/qr.svg, the QR code of the
// link. Anyone on the network may load them. Neither says whether the room
// exists: the page's join does, through the hub, which limits how many
// codes an address may try.
func (s *Server) roomPages() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /r/{code}", func(w http.ResponseWriter, r *http.Request) {
		code, ok := s.cfg.Rooms.Normal(r.PathValue("code"))
		if !ok {
			page := s.guestPage(r.PathValue("code"))
			page.Missing = true
			s.render(w, http.StatusNotFound, "guest.html", page)
			return
		}
		s.render(w, http.StatusOK, "guest.html", s.guestPage(code))
	})
	mux.HandleFunc("GET /r/{code}/qr.svg", func(w http.ResponseWriter, r *http.Request) {
		code, ok := s.cfg.Rooms.Normal(r.PathValue("code"))
		if !ok {
			http.Error(w, "that is not a room code", http.StatusNotFound)
			return
		}
		room := api.Room{Code: code}
		if loopbackAddr(r.RemoteAddr) {
			if known, err := s.cfg.Rooms.Room(code); err == nil {
				room = known // with its links at the LAN addresses
			}
		}
		svg, err := QRSVG(pageLink(r, room))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "image/svg+xml")
		w.Write(svg)
	})
	return mux
}

// guestPage is what the guest page's template is given: the daemon's name
// and device ID, and the room the page opens in ("" for the nearby room).
type guestPage struct {
	Name    string
	Device  string // the whole ID
	Short   string // the short form the owner's screens show
	Room    string
	Missing bool // the room asked for does not exist
}

func (s *Server) guestPage(room string) guestPage {
	return guestPage{Name: s.cfg.Name, Device: s.cfg.Device, Short: s.cfg.ShortDevice, Room: room}
}

// pageLink is the join link at the address and scheme the request came
// in on, so a phone that loaded the page through one network (or over
// HTTPS) shares a link that works there; from loopback, the room's first
// link (a LAN address), so a phone can scan the code off the owner's
// screen.
func pageLink(r *http.Request, room api.Room) string {
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(*net.TCPAddr); ok && !a.IP.IsLoopback() {
		return scheme(r) + "://" + a.String() + "/r/" + room.Code
	}
	if room.Link != "" {
		return room.Link
	}
	return scheme(r) + "://" + r.Host + "/r/" + room.Code
}

// render executes the UI template name with data. Templates are parsed for
// each page, so a UI served from disk (--ui-dir) shows edits at once.
func (s *Server) render(w http.ResponseWriter, status int, name string, data any) {
	t, err := template.ParseFS(s.cfg.UI, name)
	if err != nil {
		s.cfg.Log.Error("Cannot load a page", "page", name, "err", err)
		http.Error(w, "this page is missing from the daemon's UI files", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := t.Execute(w, data); err != nil {
		s.cfg.Log.Warn("Cannot render a page", "page", name, "err", err)
	}
}

// assets serves the UI's files other than templates: style sheets,
// scripts, images.
func (s *Server) assets() http.Handler {
	files := http.FileServerFS(s.cfg.UI)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/")
		if strings.HasSuffix(name, ".html") || !fs.ValidPath(name) {
			http.NotFound(w, r)
			return
		}
		files.ServeHTTP(w, r)
	})
}

// gone answers /download/..., the links under which a guest page's service
// worker serves the files the page received. A request reaches the daemon
// only when no service worker answered it: the page that held the file has
// been closed or reloaded, and with it the file.
func gone(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusNotFound)
	fmt.Fprintln(w, "This file was kept by the browser page that received it, and that page has been closed or reloaded since. Ask the sender to send it again.")
}
