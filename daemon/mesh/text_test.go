package mesh

import (
	"testing"

	"github.com/ferry-dev/ferry/daemon/proto"
	"github.com/ferry-dev/ferry/daemon/signal"
)

// TestTextRouting: a text message goes the way an offer does: from a guest
// to a guest of a linked daemon, to a daemon, from a daemon to a guest; one
// for nobody comes back as no-peer with its id, and one without an
// addressee closes the guest's connection.
func TestTextRouting(t *testing.T) {
	a, b := serveMesh(t, "alpha"), serveMesh(t, "bravo")
	a.m.Want(b.m.cfg.ID, func() (string, bool) { return b.addr, true })
	near, far := guestOf(t, a, "guest-near-1234"), guestOf(t, b, "guest-far-12345")
	awaitMember(t, a.m, "guest-far-12345")
	awaitMember(t, b.m, "guest-near-1234")
	isText := func(m signal.Message) bool { return m.Type == signal.TypeText }

	// Guest to guest over the link: the hub sets from and name, whatever
	// the guest claimed.
	near.WriteJSON(signal.Message{V: 1, Type: signal.TypeText, To: "guest-far-12345", From: b.m.self, Name: "bravo", ID: "msg-0001", Text: "https://example.com/a"})
	got := readUntil(t, far, isText)
	if got.From != "guest-near-1234" || got.Name != "Phone" || got.ID != "msg-0001" || got.Text != "https://example.com/a" || got.To != "guest-far-12345" {
		t.Fatalf("the far guest got %+v", got)
	}

	// Guest to a linked daemon.
	near.WriteJSON(signal.Message{V: 1, Type: signal.TypeText, To: b.m.self, ID: "msg-0002", Text: "hello bravo"})
	d := b.local.next(t)
	if d.msg.Type != signal.TypeText || d.from.ID != "guest-near-1234" || d.from.Kind != signal.KindGuest || d.from.Name != "Phone" || d.msg.ID != "msg-0002" || d.msg.Text != "hello bravo" {
		t.Fatalf("bravo got %+v from %+v", d.msg, d.from)
	}

	// Daemon to a guest of another daemon.
	if err := b.m.Send("guest-near-1234", signal.Message{Type: signal.TypeText, ID: "msg-0003", Text: "hello guest"}); err != nil {
		t.Fatal(err)
	}
	got = readUntil(t, near, isText)
	if got.From != b.m.self || got.Name != "bravo" || got.ID != "msg-0003" || got.Text != "hello guest" {
		t.Fatalf("the near guest got %+v", got)
	}

	// To nobody: the sender hears no-peer with the text's id.
	near.WriteJSON(signal.Message{V: 1, Type: signal.TypeText, To: "nobody-at-all", ID: "msg-0004", Text: "anyone?"})
	got = readUntil(t, near, func(m signal.Message) bool { return m.Type == signal.TypeError })
	if got.Code != proto.CodeNoPeer || got.ID != "msg-0004" || got.From != "nobody-at-all" {
		t.Fatalf("a text to nobody was answered %+v", got)
	}
	if err := a.m.Send("nobody-at-all", signal.Message{Type: signal.TypeText, ID: "msg-0005", Text: "anyone?"}); proto.CodeOf(err) != proto.CodeNoPeer {
		t.Fatalf("Send to nobody = %v; want no-peer", err)
	}

	// Without an addressee the message is invalid.
	far.WriteJSON(signal.Message{V: 1, Type: signal.TypeText, ID: "msg-0006", Text: "to whom?"})
	got = readUntil(t, far, func(m signal.Message) bool { return m.Type == signal.TypeError })
	if got.Code != proto.CodeBadMessage || got.Text != "text needs to, id and text" {
		t.Fatalf("a text without to was answered %+v", got)
	}
	var m signal.Message
	if err := far.ReadJSON(&m); err == nil {
		t.Fatalf("the guest's connection stayed open after an invalid text; read %+v", m)
	}
}
