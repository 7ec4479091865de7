package web

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/ferry-dev/ferry/daemon/api"
)

// Pairing is what the API needs of pairings without a hub (package pair):
// texts the owner copies or scans between devices.
type Pairing interface {
	// Offer makes an offer that waits for its answer.
	Offer(ctx context.Context) (api.Pairing, error)
	// Give gives pending offer id its answer.
	Give(id, text string) (api.Pairing, error)
	// Answer answers another device's offer.
	Answer(ctx context.Context, text string) (api.Pairing, error)
	Get(id string) (api.Pairing, error)
	Changed() <-chan struct{}
}

// pairRoutes adds the owner's pairing routes to mux; with no Pairing they
// answer that pairing is off.
func (s *Server) pairRoutes(mux *http.ServeMux) {
	p := s.cfg.Pairing
	if p == nil {
		mux.HandleFunc("/api/pair/", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusNotFound, api.Error{Error: "this daemon does not pair"})
		})
		return
	}
	mux.HandleFunc("POST /api/pair/offer", func(w http.ResponseWriter, r *http.Request) {
		var req struct{}
		if !readJSON(w, r, &req) {
			return
		}
		out, err := p.Offer(r.Context())
		if err != nil {
			writeError(w, http.StatusConflict, err)
			return
		}
		writeJSON(w, http.StatusCreated, out)
	})
	mux.HandleFunc("POST /api/pair/answer", action(func(r *http.Request, req api.PairRequest) (any, error) {
		return p.Answer(r.Context(), req.Text)
	}))
	mux.HandleFunc("POST /api/pair/{id}/answer", func(w http.ResponseWriter, r *http.Request) {
		var req api.PairRequest
		if !readJSON(w, r, &req) {
			return
		}
		out, err := p.Give(r.PathValue("id"), req.Text)
		if err != nil {
			writeError(w, http.StatusBadRequest, pairNotFound(p, r.PathValue("id"), err))
			return
		}
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("GET /api/pair/{id}", func(w http.ResponseWriter, r *http.Request) {
		out, err := p.Get(r.PathValue("id"))
		if err != nil {
			writeError(w, http.StatusNotFound, err)
			return
		}
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("GET /api/pair/{id}/watch", func(w http.ResponseWriter, r *http.Request) {
		watchPairing(w, r, p, r.PathValue("id"))
	})
}

// pairNotFound marks err as ErrNotFound when pairing id does not exist.
func pairNotFound(p Pairing, id string, err error) error {
	if _, gerr := p.Get(id); gerr != nil {
		return NotFound(err)
	}
	return err
}

// watchPairing streams pairing id as newline-delimited JSON, one snapshot
// per change, until it ends or the client leaves.
func watchPairing(w http.ResponseWriter, r *http.Request, p Pairing, id string) {
	if _, err := p.Get(id); err != nil {
		writeError(w, http.StatusNotFound, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	enc := json.NewEncoder(w)
	var last api.Pairing
	for first := true; ; first = false {
		changed := p.Changed()
		info, err := p.Get(id)
		if err == nil && (first || info.State != last.State || !info.Expires.Equal(last.Expires)) {
			if enc.Encode(info) != nil {
				return
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
		if err != nil || info.State.Final() {
			return
		}
		last = info
		select {
		case <-changed:
		case <-time.After(time.Minute): // a line now and then shows the client the daemon is there
			last = api.Pairing{}
		case <-r.Context().Done():
			return
		}
	}
}
