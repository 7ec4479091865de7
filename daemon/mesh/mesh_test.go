package mesh

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ferry-dev/ferry/daemon/identity"
	"github.com/ferry-dev/ferry/daemon/proto"
	"github.com/ferry-dev/ferry/daemon/signal"
	"github.com/gorilla/websocket"
)

func newTestMesh(t *testing.T, cfg Config) *Mesh {
	t.Helper()
	id, err := identity.Load(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg.ID, cfg.Prove = id.ID, id.Sign
	if cfg.Name == "" {
		cfg.Name = "alpha"
	}
	return New(cfg)
}

// runMesh runs m until the test ends and checks that Run stops cleanly.
func runMesh(t *testing.T, m *Mesh) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	})
}

// TestRoomExpiry: an empty room lives for the TTL and is gone after it; a
// member coming back in time keeps it alive.
func TestRoomExpiry(t *testing.T) {
	m := newTestMesh(t, Config{})
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go func() {
			if err := m.Run(ctx); err != nil {
				t.Errorf("Run = %v", err)
			}
		}()
		code, err := m.Create()
		if err != nil {
			t.Fatal(err)
		}
		r, err := m.Room(code)
		if err != nil || !r.Joined || len(r.Members) != 1 || r.Expires != 0 {
			t.Fatalf("new room: %+v, %v", r, err)
		}
		time.Sleep(3 * time.Hour) // occupied rooms do not expire
		synctest.Wait()
		if _, err := m.Room(code); err != nil {
			t.Fatal("an occupied room expired")
		}

		m.Leave(code)
		time.Sleep(50 * time.Minute)
		synctest.Wait()
		r, err = m.Room(code)
		if err != nil || r.Expires != 10*time.Minute || len(r.Members) != 0 {
			t.Fatalf("after 50 minutes empty: %+v, %v", r, err)
		}
		if err := m.Join(code); err != nil {
			t.Fatal(err)
		}
		m.Leave(code)
		time.Sleep(59 * time.Minute)
		synctest.Wait()
		if _, err := m.Room(code); err != nil {
			t.Fatal("the room expired though a member was back 59 minutes ago")
		}
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		if _, err := m.Room(code); !errors.Is(err, ErrNoRoom) {
			t.Fatalf("the room outlived its hour: %v", err)
		}
		if err := m.Join(code); !errors.Is(err, ErrNoRoom) {
			t.Fatalf("joined an expired room: %v", err)
		}
	})
}

// TestLearnedRooms: rooms heard from another daemon expire by the idle
// time it reports, and one already past the TTL is not taken up.
func TestLearnedRooms(t *testing.T) {
	m := newTestMesh(t, Config{})
	synctest.Test(t, func(t *testing.T) {
		m.mu.Lock()
		m.learnLocked([]signal.Room{{Code: "ABCDEF", Idle: 3000}, {Code: "GHJKMN", Idle: 3600}, {Code: "PQRSTU", Idle: 0}}, time.Now())
		m.mu.Unlock()
		if _, err := m.Room("GHJKMN"); err == nil {
			t.Error("took up a room past its hour")
		}
		r, err := m.Room("ABCDEF")
		if err != nil || r.Expires != 10*time.Minute {
			t.Errorf("learned room: %+v, %v", r, err)
		}
		time.Sleep(11 * time.Minute)
		m.Expire()
		if _, err := m.Room("ABCDEF"); err == nil {
			t.Error("the learned room outlived the TTL")
		}
		if _, err := m.Room("PQRSTU"); err != nil {
			t.Error("a room in use elsewhere expired early")
		}
	})
}

// TestRoomLimit: guests join over a real hub until the room is full.
func TestRoomLimit(t *testing.T) {
	m := newTestMesh(t, Config{RoomLimit: 2, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	runMesh(t, m)
	hub := signal.NewHub(signal.HubConfig{ID: m.self, Name: "alpha", Sessions: m, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	srv := httptest.NewServer(hub)
	defer srv.Close()
	code, err := m.Create()
	if err != nil {
		t.Fatal(err)
	}
	join := func(id string) signal.Message {
		ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+signal.HubPath, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ws.Close() })
		ws.WriteJSON(signal.Message{V: 1, Type: signal.TypeHello, Kind: signal.KindGuest, From: id})
		ws.WriteJSON(signal.Message{V: 1, Type: signal.TypeJoin, Room: code})
		for {
			var r signal.Message
			if err := ws.ReadJSON(&r); err != nil {
				t.Fatal(err)
			}
			if r.Type == signal.TypeJoined || r.Type == signal.TypeError {
				return r
			}
		}
	}
	if r := join("guest-one-1"); r.Type != signal.TypeJoined || r.Room != code {
		t.Fatalf("first guest: %+v", r)
	}
	if r := join("guest-two-2"); r.Code != proto.CodeRoomFull || !strings.Contains(r.Text, "limit of 2") {
		t.Fatalf("guest over the limit: %+v", r)
	}
}

func TestRoomCodes(t *testing.T) {
	seen := map[string]bool{}
	for range 2000 {
		c := signal.NewRoomCode()
		if !signal.ValidRoomCode(c) {
			t.Fatalf("made an invalid code %q", c)
		}
		seen[c] = true
	}
	if len(seen) < 1990 {
		t.Errorf("only %d distinct codes in 2000", len(seen))
	}
	for in, want := range map[string]string{"abc-def": "ABCDEF", " ab cd ef ": "ABCDEF", "XYZ234": "XYZ234"} {
		if got, ok := signal.NormalizeRoomCode(in); !ok || got != want {
			t.Errorf("NormalizeRoomCode(%q) = %q, %v", in, got, ok)
		}
	}
	for _, bad := range []string{"", "ABCDE", "ABCDEFG", "ABCDE0", "ABCDEO", "ABCDE1", "ABCDEI", "ABCDEL", "ABCDÉ2"} {
		if _, ok := signal.NormalizeRoomCode(bad); ok {
			t.Errorf("%q was taken as a code", bad)
		}
	}
}

// TestPresenceFits: a presence with the longest names, many members and
// many rooms is shortened to fit the message limit, and still decodes.
func TestPresenceFits(t *testing.T) {
	long := strings.Repeat("<", 64)
	m := signal.Message{Type: signal.TypePresence, From: "x", Session: 1}
	for i := range signal.MaxMembers {
		var rooms []string
		for range signal.MaxMemberRooms {
			rooms = append(rooms, signal.NewRoomCode())
		}
		m.Members = append(m.Members, signal.Member{ID: fmt.Sprintf("guest-%058d", i), Name: long, Kind: signal.MemberGuest, Home: "x", Rooms: rooms})
	}
	for range signal.MaxRooms {
		m.Rooms = append(m.Rooms, signal.Room{Code: signal.NewRoomCode(), Idle: 1 << 40})
	}
	fit(&m)
	m.V = signal.Version
	b, _ := json.Marshal(m)
	if _, err := signal.Decode(b); err != nil || len(m.Members) == 0 || len(m.Members) == signal.MaxMembers {
		t.Fatalf("%d members, %d bytes: %v", len(m.Members), len(b), err)
	}
}
