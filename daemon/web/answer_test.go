package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/ferry-dev/ferry/daemon/api"
)

// endingTransfers is an outgoing transfer that, like the engine's, ends
// only some time after Cancel returns: once somebody has looked at it.
type endingTransfers struct {
	Transfers
	mu        sync.Mutex
	state     api.State
	changed   chan struct{}
	cancelled bool
	looked    chan struct{} // closed by the first Get after Cancel
}

func (f *endingTransfers) Cancel(id string) error {
	f.mu.Lock()
	f.cancelled = true
	looked := f.looked
	f.mu.Unlock()
	go func() {
		<-looked
		f.mu.Lock()
		f.state = api.StateCancelled
		close(f.changed)
		f.changed = make(chan struct{})
		f.mu.Unlock()
	}()
	return nil
}

func (f *endingTransfers) Get(id string) (api.Transfer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	info := api.Transfer{ID: id, Direction: "out", State: f.state}
	if f.cancelled && f.looked != nil {
		close(f.looked)
		f.looked = nil
	}
	return info, nil
}

func (f *endingTransfers) Changed() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.changed
}

// TestCancelAnswersTheEnd: the answer to a cancel is the transfer after
// it ended, not the state it was in when the cancel was asked for.
func TestCancelAnswersTheEnd(t *testing.T) {
	s, _ := testServer(t)
	ft := &endingTransfers{state: api.StateActive, changed: make(chan struct{}), looked: make(chan struct{})}
	s.cfg.Transfers = ft
	r := httptest.NewRequest("POST", "/api/transfers/abcdefgh/cancel", strings.NewReader("{}"))
	r.RemoteAddr, r.Host = "127.0.0.1:5000", "localhost:7466"
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, r)
	var got api.Transfer
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &got) != nil || got.State != api.StateCancelled {
		t.Fatalf("cancel answered %d %s; want the transfer in state cancelled", w.Code, w.Body)
	}
}
