package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/ferry-dev/ferry/daemon/api"
)

// apiRoutes are the owner's API; ownerOnly guards them.
func (s *Server) apiRoutes() http.Handler {
	cfg := s.cfg
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
			writeError(w, http.StatusConflict, err)
			return
		}
		writeJSON(w, http.StatusOK, info)
	})
	mux.HandleFunc("GET /api/transfers/{id}/watch", func(w http.ResponseWriter, r *http.Request) {
		watch(w, r, cfg.Transfers, r.PathValue("id"))
	})
	mux.HandleFunc("POST /api/send", func(w http.ResponseWriter, r *http.Request) {
		var req api.SendRequest
		if !readJSON(w, r, &req) {
			return
		}
		if (req.To == "") == (req.Room == "") || (len(req.Paths) == 0) == (req.Upload == "") {
			writeJSON(w, http.StatusBadRequest, api.Error{Error: "send needs a peer (to) or a room, not both, and paths or an upload, not both"})
			return
		}
		if req.Upload != "" {
			paths, err := cfg.Uploads.Paths(req.Upload)
			if err != nil {
				writeError(w, http.StatusBadRequest, err)
				return
			}
			req.Paths = paths
		}
		if req.Room != "" {
			out, err := cfg.Rooms.Send(req.Room, req.Paths)
			if err != nil {
				writeError(w, http.StatusBadRequest, err)
				return
			}
			if req.Upload != "" {
				cfg.Uploads.Used(req.Upload)
			}
			writeJSON(w, http.StatusAccepted, out)
			return
		}
		id, err := cfg.Transfers.Send(req.To, req.Paths)
		if err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
		if req.Upload != "" {
			cfg.Uploads.Used(req.Upload)
		}
		writeJSON(w, http.StatusAccepted, api.Started{ID: id})
	})
	// answer does what the owner asked of a transfer and answers with the
	// transfer as it stands after; settle waits for the transfer to end
	// first, since an outgoing one ends only once it has told the receiver.
	answer := func(f func(string) error, settle bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			id := r.PathValue("id")
			if err := f(id); err != nil {
				writeError(w, http.StatusConflict, err)
				return
			}
			var info api.Transfer
			if settle {
				info = settled(r, cfg.Transfers, id)
			} else {
				info, _ = cfg.Transfers.Get(id)
			}
			writeJSON(w, http.StatusOK, info)
		}
	}
	mux.HandleFunc("POST /api/transfers/{id}/accept", answer(cfg.Transfers.Accept, false))
	mux.HandleFunc("POST /api/transfers/{id}/decline", answer(cfg.Transfers.Decline, false))
	mux.HandleFunc("POST /api/transfers/{id}/cancel", answer(cfg.Transfers.Cancel, true))
	mux.HandleFunc("POST /api/clean", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, cfg.Transfers.Clean())
	})
	mux.HandleFunc("GET /api/transfers/{id}/entries", func(w http.ResponseWriter, r *http.Request) {
		entries, err := cfg.Transfers.Entries(r.PathValue("id"))
		if err != nil {
			writeError(w, http.StatusConflict, err)
			return
		}
		writeJSON(w, http.StatusOK, entries)
	})
	mux.HandleFunc("GET /api/events", s.events)
	mux.HandleFunc("GET /api/phone-qr.svg", s.phoneQR)
	mux.HandleFunc("GET /api/messages", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, cfg.Messages.List())
	})
	mux.HandleFunc("POST /api/messages", action(func(_ *http.Request, req api.MessageRequest) (any, error) {
		return cfg.Messages.Send(req.To, req.Text)
	}))
	mux.HandleFunc("GET /api/settings", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, cfg.Settings.Get())
	})
	mux.HandleFunc("POST /api/settings", action(func(_ *http.Request, req api.Settings) (any, error) {
		return cfg.Settings.Save(req)
	}))
	mux.HandleFunc("POST /api/uploads", func(w http.ResponseWriter, r *http.Request) {
		up, err := cfg.Uploads.Create()
		if err != nil {
			writeError(w, http.StatusInternalServerError, err)
			return
		}
		writeJSON(w, http.StatusCreated, up)
	})
	mux.HandleFunc("PUT /api/uploads/{id}", func(w http.ResponseWriter, r *http.Request) {
		up, err := cfg.Uploads.Write(r.PathValue("id"), r.URL.Query().Get("path"), r.Body)
		if err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, http.StatusOK, up)
	})
	mux.HandleFunc("DELETE /api/uploads/{id}", func(w http.ResponseWriter, r *http.Request) {
		if err := cfg.Uploads.Discard(r.PathValue("id")); err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"discarded": r.PathValue("id")})
	})
	mux.HandleFunc("GET /api/peers", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, cfg.Peers.List())
	})
	mux.HandleFunc("POST /api/forget", action(func(r *http.Request, req api.PeerRequest) (any, error) {
		return map[string]string{"forgotten": req.Peer}, cfg.Peers.Forget(req.Peer)
	}))
	mux.HandleFunc("POST /api/trust", action(func(_ *http.Request, req api.PeerRequest) (any, error) {
		return cfg.Peers.Trust(req.Peer)
	}))
	mux.HandleFunc("POST /api/untrust", action(func(_ *http.Request, req api.PeerRequest) (any, error) {
		return cfg.Peers.Untrust(req.Peer)
	}))
	mux.HandleFunc("POST /api/connect", action(func(r *http.Request, req api.PeerRequest) (any, error) {
		return cfg.Peers.Connect(r.Context(), req.Peer)
	}))
	mux.HandleFunc("GET /api/rooms", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, cfg.Rooms.View())
	})
	mux.HandleFunc("POST /api/rooms/create", func(w http.ResponseWriter, r *http.Request) {
		room, err := cfg.Rooms.Create()
		if err != nil {
			writeError(w, http.StatusConflict, err)
			return
		}
		writeJSON(w, http.StatusOK, room)
	})
	mux.HandleFunc("POST /api/rooms/join", action(func(_ *http.Request, req api.RoomRequest) (any, error) {
		return cfg.Rooms.Join(req.Room)
	}))
	mux.HandleFunc("POST /api/rooms/leave", action(func(_ *http.Request, req api.RoomRequest) (any, error) {
		return map[string]string{"left": req.Room}, cfg.Rooms.Leave(req.Room)
	}))
	s.pairRoutes(mux)
	return mux
}

// action is a POST route that reads a request of type R and answers with
// what f returns, or its error as 400.
func action[R any](f func(r *http.Request, req R) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req R
		if !readJSON(w, r, &req) {
			return
		}
		out, err := f(r, req)
		if err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, http.StatusOK, out)
	}
}

// cancelSettle bounds how long a cancel waits for its transfer to end
// before it answers with the state it has.
var cancelSettle = 10 * time.Second

// settled returns transfer id once it has ended, or as it is when
// cancelSettle has passed or the client left.
func settled(r *http.Request, t Transfers, id string) api.Transfer {
	timer := time.NewTimer(cancelSettle)
	defer timer.Stop()
	for {
		changed := t.Changed()
		info, err := t.Get(id)
		if err != nil || info.State.Final() {
			return info
		}
		select {
		case <-changed:
		case <-timer.C:
			return info
		case <-r.Context().Done():
			return info
		}
	}
}

// watch streams the transfer as newline-delimited JSON, one snapshot per
// change, until it ends or the client leaves.
func watch(w http.ResponseWriter, r *http.Request, t Transfers, id string) {
	info, err := t.Get(id)
	if err != nil {
		writeError(w, http.StatusConflict, err)
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

// readJSON decodes the request body into v, answering 400 and reporting
// false when it is not exactly one such JSON value.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeJSON(w, http.StatusBadRequest, api.Error{Error: fmt.Sprintf("bad request body: %v", err)})
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// writeError answers err with code, or 404 when it names something that
// does not exist.
func writeError(w http.ResponseWriter, code int, err error) {
	if errors.Is(err, ErrNotFound) {
		code = http.StatusNotFound
	}
	writeJSON(w, code, api.Error{Error: err.Error()})
}
