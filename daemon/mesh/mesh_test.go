package mesh

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
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

// TestLearnedRooms: a room this daemon knows stays open while a linked
// daemon reports, by the room's tag, that it was in use; a tag says nothing
// of a room this daemon does not know.
func TestLearnedRooms(t *testing.T) {
	m := newTestMesh(t, Config{})
	synctest.Test(t, func(t *testing.T) {
		used, quiet := mustCreate(t, m), mustCreate(t, m)
		m.Leave(used)
		m.Leave(quiet)
		time.Sleep(50 * time.Minute)
		m.mu.Lock()
		m.learnLocked([]signal.Room{
			{Code: m.rooms[used].tag, Idle: 60},
			{Code: m.rooms[quiet].tag, Idle: 3600},
			{Code: signal.RoomTag(signal.RoomKey("ABCDEFGH")), Idle: 0},
		}, time.Now())
		m.mu.Unlock()
		if r, err := m.Room(used); err != nil || r.Expires != 59*time.Minute {
			t.Errorf("a room used elsewhere a minute ago: %+v, %v", r, err)
		}
		if _, err := m.Room("ABCDEFGH"); err == nil {
			t.Error("a tag alone made a room known by its code")
		}
		time.Sleep(11 * time.Minute)
		m.Expire()
		if _, err := m.Room(quiet); err == nil {
			t.Error("a room reported idle for its hour outlived the TTL")
		}
		if _, err := m.Room(used); err != nil {
			t.Error("a room in use elsewhere expired early")
		}
	})
}

func mustCreate(t *testing.T, m *Mesh) string {
	t.Helper()
	code, err := m.Create()
	if err != nil {
		t.Fatal(err)
	}
	return code
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
	for in, want := range map[string]string{"abcd-efgh": "ABCDEFGH", " ab cd ef gh ": "ABCDEFGH", "XYZ23456": "XYZ23456"} {
		if got, ok := signal.NormalizeRoomCode(in); !ok || got != want {
			t.Errorf("NormalizeRoomCode(%q) = %q, %v", in, got, ok)
		}
	}
	for _, bad := range []string{"", "ABCDEFG", "ABCDEFGHJ", "ABCDEFG0", "ABCDEFGO", "ABCDEFG1", "ABCDEFGI", "ABCDEFGL", "ABCDEFÉ2"} {
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

// TestIdleGuestMakesRoom: with every guest place taken, a new guest is
// refused while the others are active, and takes the place of the one
// quiet the longest once it has been quiet a while.
func TestIdleGuestMakesRoom(t *testing.T) {
	m := newTestMesh(t, Config{MaxGuests: 2})
	runMesh(t, m)
	hub := signal.NewHub(signal.HubConfig{ID: m.self, Name: "alpha", Sessions: m, Log: slog.New(slog.DiscardHandler)})
	srv := httptest.NewServer(hub)
	defer srv.Close()
	hello := func(id string) (*websocket.Conn, signal.Message) {
		ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+signal.HubPath, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ws.Close() })
		ws.WriteJSON(signal.Message{V: 1, Type: signal.TypeHello, Kind: signal.KindGuest, From: id})
		var r signal.Message
		if err := ws.ReadJSON(&r); err != nil {
			t.Fatal(err)
		}
		return ws, r
	}
	first, _ := hello("guest-first-1")
	hello("guest-second-2")
	if _, r := hello("guest-third-3"); r.Code != proto.CodeTooMany {
		t.Fatalf("a third guest with two active: %+v", r)
	}
	m.mu.Lock()
	m.guests["guest-first-1"].last = time.Now().Add(-guestIdle)
	m.mu.Unlock()
	if _, r := hello("guest-third-3"); r.Type != signal.TypeWelcome {
		t.Fatalf("a third guest with one idle: %+v", r)
	}
	first.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, _, err := first.ReadMessage()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatal("the idle guest was not closed")
		}
		if err != nil {
			break
		}
	}
}
