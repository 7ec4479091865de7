package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/ferry-dev/ferry/daemon/api"
)

// fakePairing records what the routes asked of it.
type fakePairing struct{ calls []string }

func (f *fakePairing) Offer(context.Context) (api.Pairing, error) {
	f.calls = append(f.calls, "offer")
	return api.Pairing{ID: "p1", Role: "offer", State: api.PairWaiting, Text: "FERRY-PAIR-1:x"}, nil
}

func (f *fakePairing) Give(id, text string) (api.Pairing, error) {
	f.calls = append(f.calls, "give "+id+" "+text)
	return api.Pairing{ID: id, State: api.PairConnecting}, nil
}

func (f *fakePairing) Answer(_ context.Context, text string) (api.Pairing, error) {
	f.calls = append(f.calls, "answer "+text)
	return api.Pairing{ID: "p2", Role: "answer", State: api.PairConnecting}, nil
}

func (f *fakePairing) Get(id string) (api.Pairing, error) {
	if id != "p1" {
		return api.Pairing{}, NotFound(io.EOF)
	}
	return api.Pairing{ID: id, State: api.PairClosed}, nil
}

func (f *fakePairing) Changed() <-chan struct{} { return make(chan struct{}) }

func pairServer(p Pairing) http.Handler {
	s := New(Config{
		Name: "laptop", HubPath: "/ws", UI: fstest.MapFS{}, Log: slog.New(slog.DiscardHandler),
		Hub: http.NotFoundHandler(), Pairing: p, Transfers: &fakeTransfers{}, Rooms: fakeRooms{},
	})
	return s.Handler()
}

// TestPairRoutesOwnerOnly: every pairing route is the owner's: another
// device and a cross-site page are refused before the pairing hears of
// it, while the owner's requests reach it.
func TestPairRoutesOwnerOnly(t *testing.T) {
	f := &fakePairing{}
	h := pairServer(f)
	do := func(method, path, body, remote, origin string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		r.RemoteAddr, r.Host = remote, "127.0.0.1:7466"
		if method == "POST" {
			r.Header.Set("Content-Type", "application/json")
		}
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	routes := []struct{ method, path, body string }{
		{"POST", "/api/pair/offer", `{}`},
		{"POST", "/api/pair/answer", `{"text":"FERRY-PAIR-1:x"}`},
		{"POST", "/api/pair/p1/answer", `{"text":"FERRY-PAIR-1:x"}`},
		{"GET", "/api/pair/p1", ``},
		{"GET", "/api/pair/p1/watch", ``},
	}
	for _, rt := range routes {
		if w := do(rt.method, rt.path, rt.body, "192.0.2.7:5000", ""); w.Code != http.StatusForbidden {
			t.Errorf("%s %s from another device: %d %s", rt.method, rt.path, w.Code, w.Body)
		}
		if w := do(rt.method, rt.path, rt.body, "127.0.0.1:5000", "http://evil.example"); w.Code != http.StatusForbidden {
			t.Errorf("%s %s from a cross-site page: %d %s", rt.method, rt.path, w.Code, w.Body)
		}
	}
	if len(f.calls) != 0 {
		t.Fatalf("refused requests reached the pairing: %v", f.calls)
	}
	for _, rt := range routes {
		w := do(rt.method, rt.path, rt.body, "127.0.0.1:5000", "")
		if w.Code >= 300 {
			t.Errorf("the owner's %s %s: %d %s", rt.method, rt.path, w.Code, w.Body)
		}
	}
	want := []string{"offer", "answer FERRY-PAIR-1:x", "give p1 FERRY-PAIR-1:x"}
	if strings.Join(f.calls, "|") != strings.Join(want, "|") {
		t.Errorf("calls %q, want %q", f.calls, want)
	}
	if w := do("GET", "/api/pair/nope/watch", "", "127.0.0.1:5000", ""); w.Code != http.StatusNotFound {
		t.Errorf("watching an unknown pairing: %d %s", w.Code, w.Body)
	}
	if w := do("POST", "/api/pair/offer", `{}`, "127.0.0.1:5000", ""); w.Code != http.StatusCreated || !strings.Contains(w.Body.String(), `"text":"FERRY-PAIR-1:x"`) {
		t.Errorf("offer: %d %s", w.Code, w.Body)
	}

	h = pairServer(nil)
	if w := do("POST", "/api/pair/offer", `{}`, "127.0.0.1:5000", ""); w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), "does not pair") {
		t.Errorf("offer with pairing off: %d %s", w.Code, w.Body)
	}
}
