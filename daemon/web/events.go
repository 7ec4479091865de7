package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/ferry-dev/ferry/daemon/api"
)

// How the event stream paces itself: sections that changed are sent at most
// this often (progress moves many times a second), and a comment keeps
// idle connections from being closed by anything in between.
const (
	eventsFlush = 200 * time.Millisecond
	eventsPing  = 15 * time.Second
)

// snapshot is everything the dashboard shows.
func (s *Server) snapshot() api.Snapshot {
	return api.Snapshot{
		Version: api.EventsVersion, Boot: s.cfg.Boot, Status: s.cfg.Status(), Peers: s.cfg.Peers.List(),
		Rooms: s.cfg.Rooms.View(), Transfers: s.cfg.Transfers.List(), Messages: s.cfg.Messages.List(),
		Settings: s.cfg.Settings.Get(),
	}
}

// events is the dashboard's one source of news, as Server-Sent Events: a
// "snapshot" first, then, whenever something changes, the whole section that
// changed ("peers", "rooms", "transfers", "messages", "status" with the
// settings). A page that reconnects (EventSource does it by itself) gets a
// new snapshot, so it never needs to ask for anything else; "boot" in the
// snapshot tells it whether the daemon restarted meanwhile.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		writeJSON(w, http.StatusInternalServerError, api.Error{Error: "this connection cannot stream events"})
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	send := func(event string, v any) bool {
		b, err := json.Marshal(v)
		if err == nil {
			_, err = fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b)
		}
		return err == nil
	}
	cfg := s.cfg
	changed := map[string]func() <-chan struct{}{
		"transfers": cfg.Transfers.Changed, "peers": cfg.Peers.Changed, "rooms": cfg.Rooms.Changed,
		"messages": cfg.Messages.Changed, "status": cfg.Settings.Changed,
	}
	waits := map[string]<-chan struct{}{}
	for name, c := range changed {
		waits[name] = c()
	}
	if !send("snapshot", s.snapshot()) {
		return
	}
	flusher.Flush()
	flush := time.NewTicker(eventsFlush)
	defer flush.Stop()
	ping := time.NewTicker(eventsPing)
	defer ping.Stop()
	dirty := map[string]bool{}
	for {
		select {
		case <-r.Context().Done():
			return
		case <-ping.C:
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil {
				return
			}
			flusher.Flush()
		case <-waits["transfers"]:
			dirty["transfers"], waits["transfers"] = true, changed["transfers"]()
		case <-waits["peers"]:
			dirty["peers"], waits["peers"] = true, changed["peers"]()
		case <-waits["rooms"]:
			dirty["rooms"], waits["rooms"] = true, changed["rooms"]()
		case <-waits["messages"]:
			dirty["messages"], waits["messages"] = true, changed["messages"]()
		case <-waits["status"]:
			dirty["status"], waits["status"] = true, changed["status"]()
		case <-flush.C:
			if len(dirty) == 0 {
				continue
			}
			for name := range dirty {
				if !send(name, s.section(name)) {
					return
				}
			}
			clear(dirty)
			flusher.Flush()
		}
	}
}

func (s *Server) section(name string) any {
	switch name {
	case "transfers":
		return s.cfg.Transfers.List()
	case "peers":
		return s.cfg.Peers.List()
	case "rooms":
		return s.cfg.Rooms.View()
	case "messages":
		return s.cfg.Messages.List()
	}
	return struct {
		Status   api.Status   `json:"status"`
		Settings api.Settings `json:"settings"`
	}{s.cfg.Status(), s.cfg.Settings.Get()}
}
