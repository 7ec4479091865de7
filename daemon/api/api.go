// Package api serves the owner's local HTTP API: status, transfers, send,
// accept and decline. It answers only requests that come over loopback with
// a loopback Host header and, when the request has one, a loopback Origin,
// so neither another device nor a web page the owner visits (DNS rebinding,
// cross-site requests) can use it.
//
// It does not serve the signaling hub or decide anything about transfers.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ferry-dev/ferry/daemon/identity"
	"github.com/ferry-dev/ferry/daemon/mesh"
	"github.com/ferry-dev/ferry/daemon/transfer"
	"github.com/ferry-dev/ferry/discovery"
)

// Transfers is what the API needs of the transfer manager.
type Transfers interface {
	List() []transfer.Info
	Get(id string) (transfer.Info, error)
	SendTo(addr string, want identity.ID, paths []string) (string, error)
	Accept(id string) error
	Decline(id string) error
	Cancel(id string) error
	Changed() <-chan struct{}
}

// Status describes the daemon for `ferry status`.
type Status struct {
	Name      string          `json:"name"`
	ID        string          `json:"id"`
	ShortID   string          `json:"shortId"`
	Version   string          `json:"version"`
	Addresses []string        `json:"addresses"`
	Port      int             `json:"port"`
	Downloads string          `json:"downloads"`
	Accept    string          `json:"accept"`
	Transfers []transfer.Info `json:"transfers"`
}

// Peer is a nearby daemon as `ferry peers` shows it.
type Peer struct {
	discovery.Peer
	ShortID string `json:"shortId"`
	Trusted bool   `json:"trusted"`
}

// Trust is the answer to trust and untrust: the device and the code both
// owners compare.
type Trust struct {
	ID      string `json:"id"`
	ShortID string `json:"shortId"`
	Name    string `json:"name"`
	Code    string `json:"code,omitempty"`
}

// Peers is what the API needs of the daemon's nearby devices.
type Peers interface {
	List() []Peer
	// Resolve turns what the user typed (HOST:PORT, a name or an ID
	// prefix) into an address and, for a discovered device, its ID.
	Resolve(to string) (addr string, want identity.ID, err error)
	Trust(query string) (Trust, error)
	Untrust(query string) (Trust, error)
	Connect(ctx context.Context, addr string) (Peer, error)
	Forget(addr string) error
}

// Room is a code room with its join links, one per address of this device.
type Room struct {
	mesh.Room
	Link  string   `json:"link"`
	Links []string `json:"links"`
}

// RoomsView is the answer to GET /api/rooms: everyone in the nearby room,
// and the code rooms.
type RoomsView struct {
	Nearby []mesh.Member `json:"nearby"`
	Rooms  []Room        `json:"rooms"`
}

// RoomSend is the answer to a send to a room: a transfer per daemon in it,
// and the members that could not be sent to.
type RoomSend struct {
	Transfers []RoomTransfer `json:"transfers"`
	Skipped   []RoomTransfer `json:"skipped"`
}

// RoomTransfer is one member of a send to a room.
type RoomTransfer struct {
	Peer  string `json:"peer"`
	Name  string `json:"name"`
	ID    string `json:"id,omitempty"`
	Error string `json:"error,omitempty"`
}

// Rooms is what the API needs of the daemon's rooms.
type Rooms interface {
	View() RoomsView
	Create() (Room, error)
	Join(code string) (Room, error)
	Leave(code string) error
	Send(code string, paths []string) (RoomSend, error)
}

// Config configures the API handler.
type Config struct {
	Transfers Transfers
	Status    func() Status
	Peers     Peers
	Rooms     Rooms
}

// SendRequest is the body of POST /api/send: to one peer, or to every
// daemon in a code room.
type SendRequest struct {
	To    string   `json:"to,omitempty"`
	Room  string   `json:"room,omitempty"`
	Paths []string `json:"paths"`
}

// RoomRequest is the body of join and leave.
type RoomRequest struct {
	Room string `json:"room"`
}

// Error is the body of every error answer.
type Error struct {
	Error string `json:"error"`
}

// New returns the API handler, mounted at /api/.
func New(cfg Config) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/status", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, cfg.Status())
	})
	mux.HandleFunc("GET /api/transfers", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, cfg.Transfers.List())
	})
	mux.HandleFunc("GET /api/transfers/{id}", func(w http.ResponseWriter, r *http.Request) {
		info, err := cfg.Transfers.Get(r.PathValue("id"))
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, info)
	})
	mux.HandleFunc("GET /api/transfers/{id}/watch", func(w http.ResponseWriter, r *http.Request) {
		watch(w, r, cfg.Transfers, r.PathValue("id"))
	})
	mux.HandleFunc("POST /api/send", func(w http.ResponseWriter, r *http.Request) {
		var req SendRequest
		if err := readJSON(r, &req); err != nil {
			writeJSON(w, http.StatusBadRequest, Error{err.Error()})
			return
		}
		if (req.To == "") == (req.Room == "") || len(req.Paths) == 0 {
			writeJSON(w, http.StatusBadRequest, Error{"send needs a peer (to) or a room, not both, and at least one path"})
			return
		}
		if req.Room != "" {
			out, err := cfg.Rooms.Send(req.Room, req.Paths)
			if err != nil {
				writeJSON(w, http.StatusBadRequest, Error{err.Error()})
				return
			}
			writeJSON(w, http.StatusAccepted, out)
			return
		}
		addr, want, err := cfg.Peers.Resolve(req.To)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, Error{err.Error()})
			return
		}
		id, err := cfg.Transfers.SendTo(addr, want, req.Paths)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, Error{err.Error()})
			return
		}
		writeJSON(w, http.StatusAccepted, map[string]string{"id": id})
	})
	answer := func(f func(string) error) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if err := f(r.PathValue("id")); err != nil {
				writeError(w, err)
				return
			}
			info, _ := cfg.Transfers.Get(r.PathValue("id"))
			writeJSON(w, http.StatusOK, info)
		}
	}
	mux.HandleFunc("POST /api/transfers/{id}/accept", answer(cfg.Transfers.Accept))
	mux.HandleFunc("POST /api/transfers/{id}/decline", answer(cfg.Transfers.Decline))
	mux.HandleFunc("POST /api/transfers/{id}/cancel", answer(cfg.Transfers.Cancel))
	mux.HandleFunc("GET /api/peers", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, cfg.Peers.List())
	})
	mux.HandleFunc("POST /api/forget", peerAction(func(_ *http.Request, addr string) (any, error) {
		return map[string]string{"forgotten": addr}, cfg.Peers.Forget(addr)
	}))
	mux.HandleFunc("POST /api/trust", peerAction(func(_ *http.Request, q string) (any, error) { return cfg.Peers.Trust(q) }))
	mux.HandleFunc("POST /api/untrust", peerAction(func(_ *http.Request, q string) (any, error) { return cfg.Peers.Untrust(q) }))
	mux.HandleFunc("POST /api/connect", peerAction(func(r *http.Request, addr string) (any, error) {
		return cfg.Peers.Connect(r.Context(), addr)
	}))
	mux.HandleFunc("GET /api/rooms", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, cfg.Rooms.View())
	})
	mux.HandleFunc("POST /api/rooms/create", func(w http.ResponseWriter, r *http.Request) {
		room, err := cfg.Rooms.Create()
		if err != nil {
			writeJSON(w, http.StatusConflict, Error{err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, room)
	})
	roomAction := func(f func(code string) (any, error)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			var req RoomRequest
			if err := readJSON(r, &req); err != nil {
				writeJSON(w, http.StatusBadRequest, Error{err.Error()})
				return
			}
			out, err := f(req.Room)
			if err != nil {
				writeJSON(w, http.StatusBadRequest, Error{err.Error()})
				return
			}
			writeJSON(w, http.StatusOK, out)
		}
	}
	mux.HandleFunc("POST /api/rooms/join", roomAction(func(code string) (any, error) { return cfg.Rooms.Join(code) }))
	mux.HandleFunc("POST /api/rooms/leave", roomAction(func(code string) (any, error) {
		return map[string]string{"left": code}, cfg.Rooms.Leave(code)
	}))
	return guard(mux)
}

// PeerRequest is the body of forget, trust, untrust and connect: an
// address, or a device name or ID.
type PeerRequest struct {
	Peer string `json:"peer"`
}

func peerAction(f func(r *http.Request, peer string) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req PeerRequest
		if err := readJSON(r, &req); err != nil {
			writeJSON(w, http.StatusBadRequest, Error{err.Error()})
			return
		}
		out, err := f(r, req.Peer)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, Error{err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, out)
	}
}

// watch streams the transfer as newline-delimited JSON, one snapshot per
// change, until it ends or the client leaves.
func watch(w http.ResponseWriter, r *http.Request, t Transfers, id string) {
	info, err := t.Get(id)
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	enc := json.NewEncoder(w)
	tick := time.NewTicker(500 * time.Millisecond) // speed and ETA move even when nothing else does
	defer tick.Stop()
	for {
		changed := t.Changed()
		info, err = t.Get(id)
		if err != nil || enc.Encode(info) != nil {
			return
		}
		if flusher != nil {
			flusher.Flush()
		}
		if info.State.Final() {
			return
		}
		select {
		case <-changed:
		case <-tick.C:
		case <-r.Context().Done():
			return
		}
	}
}

// guard lets through only requests from loopback, for a loopback host, and
// from a loopback origin if any. POST bodies must be JSON, which a plain
// cross-site form cannot send.
func guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !loopbackAddr(r.RemoteAddr) {
			writeJSON(w, http.StatusForbidden, Error{"the local API answers only on this computer"})
			return
		}
		if !loopbackHost(r.Host) {
			writeJSON(w, http.StatusForbidden, Error{fmt.Sprintf("host %q is not this computer", r.Host)})
			return
		}
		if o := r.Header.Get("Origin"); o != "" {
			u, err := url.Parse(o)
			if err != nil || !loopbackHost(u.Host) {
				writeJSON(w, http.StatusForbidden, Error{fmt.Sprintf("origin %q may not use the local API", o)})
				return
			}
		}
		if r.Method == http.MethodPost && !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			writeJSON(w, http.StatusUnsupportedMediaType, Error{"send a JSON body with Content-Type: application/json"})
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		next.ServeHTTP(w, r)
	})
}

func loopbackAddr(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func readJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("bad request body: %w", err)
	}
	return nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, err error) {
	code := http.StatusConflict
	if errors.Is(err, transfer.ErrNotFound) {
		code = http.StatusNotFound
	}
	writeJSON(w, code, Error{err.Error()})
}
