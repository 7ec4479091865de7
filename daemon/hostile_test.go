package daemon

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferry-dev/ferry/daemon/identity"
	"github.com/ferry-dev/ferry/daemon/proto"
	"github.com/ferry-dev/ferry/daemon/signal"
	"github.com/gorilla/websocket"
)

// seen records every message a client reads while it awaits others, so a
// test can check what a peer was ever told.
type seen struct{ raw []string }

func (s *seen) await(c *wsClient, what string, match func(signal.Message) bool) signal.Message {
	c.t.Helper()
	return c.await(what, func(m signal.Message) bool {
		b, _ := json.Marshal(m)
		s.raw = append(s.raw, string(b))
		return match(m)
	})
}

func (s *seen) told(secret string) bool {
	return slices.ContainsFunc(s.raw, func(r string) bool { return strings.Contains(r, secret) })
}

func listsMember(id string) func(signal.Message) bool {
	return func(m signal.Message) bool {
		return m.Type == signal.TypePresence && slices.ContainsFunc(m.Members, func(p signal.Member) bool { return p.ID == id })
	}
}

// TestRoomSecrecy plays a stranger on the LAN against a room: a linked
// daemon and a guest that were never given the code never read it, a
// stranger that copies what presence shows is not let in, guessing is
// limited per address, and a web page of another origin cannot open the
// hub.
func TestRoomSecrecy(t *testing.T) {
	ds, _ := meshOf(t, "alpha", "bravo")
	a, b := ds[0], ds[1]
	code, err := a.mesh.Create()
	if err != nil {
		t.Fatal(err)
	}
	friend := dialGuest(t, a, "guest-friend-1", "Friend")
	friend.send(signal.Message{Type: signal.TypeJoin, Room: code})
	friend.await("joined", isType(signal.TypeJoined))

	// A stranger's daemon links to alpha, proving an ID of its own.
	fake, err := identity.Load(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	me := fake.ID.String()
	link, welcome := dialHubAs(t, a, fake, signal.Message{Kind: signal.KindMesh, From: me, Name: "stranger"})
	if welcome.Type != signal.TypeWelcome {
		t.Fatalf("stranger's link: %+v", welcome)
	}
	var onLink seen
	p := onLink.await(link, "alpha's presence with the friend", listsMember("guest-friend-1"))
	if len(p.Rooms) == 0 {
		t.Fatalf("alpha's presence names no room: %+v", p)
	}
	tag := p.Rooms[0].Code
	var proof string
	for _, m := range p.Members {
		if m.ID == "guest-friend-1" && len(m.Rooms) == 1 {
			proof = m.Rooms[0]
		}
	}
	if proof == "" {
		t.Fatalf("the friend's presence carries no proof: %+v", p)
	}

	// It claims the room with everything it saw: the tag, the friend's
	// proof, and a guest with the friend's proof.
	self := signal.Member{ID: me, Name: "stranger", Kind: signal.MemberDaemon, Home: me, Rooms: []string{tag, proof}}
	copycat := signal.Member{ID: "guest-copycat-1", Name: "Copycat", Kind: signal.MemberGuest, Home: me, Rooms: []string{proof}}
	link.send(signal.Message{Type: signal.TypePresence, From: me, Session: 1, Members: []signal.Member{self, copycat}, Rooms: []signal.Room{{Code: tag}}})
	link.send(signal.Message{Type: signal.TypeOffer, From: me, To: "nobody-here", Conn: "barrier", Session: 1, SDP: "v=0"})
	onLink.await(link, "the barrier", func(m signal.Message) bool { return m.Conn == "barrier" })
	awaitView(t, a, "the stranger's presence", has("guest-copycat-1"))
	r, err := a.mesh.Room(code)
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(r.Members, func(m signal.Member) bool { return m.Home == me }) || len(r.Members) != 2 {
		t.Fatalf("the room's members after the stranger's claim: %+v", r.Members)
	}

	// A guest of bravo, not in the room, while bravo joins it.
	nosy := dialGuest(t, b, "guest-nosy-1", "Nosy")
	awaitView(t, b, "joining the room", func([]signal.Member) bool { return b.mesh.Join(code) == nil })
	awaitView(t, b, "the friend in the room", func([]signal.Member) bool {
		r, _ := b.mesh.Room(code)
		return slices.ContainsFunc(r.Members, func(m signal.Member) bool { return m.ID == "guest-friend-1" })
	})
	var onNosy seen
	onNosy.await(nosy, "presence with the friend", listsMember("guest-friend-1"))
	nosy.send(signal.Message{Type: signal.TypeJoin, Room: "ABCDEFGH"}) // answered after what was queued before
	onNosy.await(nosy, "the answer to a wrong code", isType(signal.TypeError))
	if onLink.told(code) || onNosy.told(code) {
		t.Fatalf("the code reached someone never given it:\nlink: %v\nguest: %v", onLink.raw, onNosy.raw)
	}

	// Guessing: after a burst of wrong codes, even the right one is refused
	// for a while. The allowance grows by one every few seconds, so count
	// what got through against the time it took.
	guesser := dialGuest(t, a, "guest-guesser-1", "Guesser")
	start, tried := time.Now(), 0
	for {
		guesser.send(signal.Message{Type: signal.TypeJoin, Room: signal.NewRoomCode()})
		m := guesser.await("an answer", isType(signal.TypeError))
		if m.Code == proto.CodeTooMany {
			break
		}
		if tried++; tried > 40 {
			t.Fatal("forty wrong room codes in a row from one address were all tried")
		}
	}
	if limit := 10 + int(time.Since(start)/(6*time.Second)); tried > limit {
		t.Fatalf("%d codes tried in %s; the limit is %d", tried, time.Since(start), limit)
	}
	guesser.send(signal.Message{Type: signal.TypeJoin, Room: code})
	if m := guesser.await("an answer", func(m signal.Message) bool { return m.Type == signal.TypeJoined || m.Type == signal.TypeError }); m.Code != proto.CodeTooMany {
		t.Fatalf("the right code right after the burst: %+v", m)
	}

	// A page of another origin on the owner's own machine.
	for _, origin := range []string{"http://127.0.0.1:9999", "http://evil.example"} {
		_, resp, err := websocket.DefaultDialer.Dial("ws://"+a.Addr().String()+signal.HubPath, http.Header{"Origin": {origin}})
		if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Fatalf("a page from %s opened the hub: %v", origin, err)
		}
	}
}

// TestGuestRoomLimits: a guest that makes and leaves rooms in a loop runs
// out of rooms of its own, while the owner still makes rooms.
func TestGuestRoomLimits(t *testing.T) {
	a := startTestDaemon(t, "alpha")
	g := dialGuest(t, a, "guest-looper-1", "Looper")
	made := 0
	for range 6 {
		g.send(signal.Message{Type: signal.TypeCreate})
		m := g.await("an answer", func(m signal.Message) bool { return m.Type == signal.TypeJoined || m.Type == signal.TypeError })
		if m.Type == signal.TypeError {
			if m.Code != proto.CodeTooMany || !strings.Contains(m.Text, "still open") {
				t.Fatalf("create refused with %+v", m)
			}
			break
		}
		made++
		g.send(signal.Message{Type: signal.TypeLeave, Room: m.Room})
	}
	if made != 3 {
		t.Fatalf("one address made %d rooms; want 3", made)
	}
	for range 4 {
		if _, err := a.mesh.Create(); err != nil {
			t.Fatalf("the owner's create: %v", err)
		}
	}
}
