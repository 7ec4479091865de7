package transfer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ferry-dev/ferry/daemon/proto"
	"github.com/ferry-dev/ferry/daemon/signal"
	"github.com/pion/webrtc/v4"
)

// longEntries returns n one-byte files for transfer id, each path about
// 430 bytes long.
func longEntries(id string, n int) []Entry {
	dir, file := strings.Repeat("d", 200), strings.Repeat("f", 200)
	entries := make([]Entry, n)
	for i := range entries {
		entries[i] = Entry{Path: fmt.Sprintf("%s-%s/%s-%06d.txt", id, dir, file, i), Size: 1}
	}
	return entries
}

// offerAll sends the whole manifest of transfer id, paged as a sender
// pages it.
func (r *raw) offerAll(id string, entries []Entry) {
	r.t.Helper()
	pages, err := Pages(Control{Type: MsgOffer, Transfer: id, Name: "raw", Count: len(entries)}, entries)
	if err != nil {
		r.t.Fatal(err)
	}
	for _, p := range pages {
		r.send(p)
	}
}

// closeRaw closes a raw sender's session and waits until the receiver has
// closed its end.
func closeRaw(t *testing.T, r *raw, from, to *node, conn string) {
	t.Helper()
	rs := to.m.receiverSession(signal.Peer{ID: from.id.ID.String(), Kind: signal.KindPeer}, conn)
	r.s.close()
	if rs == nil {
		return
	}
	select {
	case <-rs.closed:
	case <-time.After(30 * time.Second):
		t.Fatalf("the receiver kept session %s open", conn)
	}
}

// offerAndEnd offers files long names (longEntries) as transfer id from
// sender to receiver, and declines the offer or lets it expire.
func offerAndEnd(t *testing.T, sender, receiver *node, id string, decline bool, files int) {
	t.Helper()
	r := dialRaw(t, sender, receiver.addr, id)
	r.offerAll(id, longEntries(id, files))
	receiver.wait(id, func(in Info) bool { return in.State == StatePending && in.Files == files })
	want := proto.CodeDeclined
	if decline {
		if err := receiver.m.Decline(id); err != nil {
			t.Fatal(err)
		}
	} else {
		in, err := receiver.m.incoming(id)
		if err != nil {
			t.Fatal(err)
		}
		in.expire() // what the PendingTTL timer calls
		want = proto.CodeExpired
	}
	if c := r.expect(MsgDecline); c.Code != want {
		t.Fatalf("offer %s was declined with %s %q; want %s", id, c.Code, c.Text, want)
	}
	closeRaw(t, r, sender, receiver, id)
}

// heapInUse returns the bytes of live heap objects after a collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestEndedOffersLetGo: offers of thousands of long names that the owner
// declines or that expire leave nothing of their manifests behind, and the
// list keeps only the most recent ended transfers, each still summarised.
func TestEndedOffersLetGo(t *testing.T) {
	const offers, files, history = 20, 3000, 8
	sender := startNode(t, nodeOpts{})
	receiver := startNode(t, nodeOpts{history: history})
	var manifestBytes int
	for _, e := range longEntries("heapoff000", files) {
		manifestBytes += len(e.Path)
	}
	// Each offer is a subtest, so that its raw sender, which its cleanups
	// hold, is let go when it ends.
	cycle := func(i int) string {
		id := fmt.Sprintf("heapoff%03d", i)
		t.Run(id, func(t *testing.T) { offerAndEnd(t, sender, receiver, id, i%2 == 0, files) })
		return id
	}
	cycle(0) // Pion's pools and the first connection's setup are not what this measures
	before := heapInUse()
	var ids []string
	for i := 1; i <= offers; i++ {
		ids = append(ids, cycle(i))
	}
	after := heapInUse()
	t.Logf("heap %.1f MB before the offers, %.1f MB after (they offered %.1f MB of names)",
		float64(before)/1e6, float64(after)/1e6, float64(offers*manifestBytes)/1e6)
	// The manifests together are over 25 MB; an ended transfer may keep a
	// summary of a few kilobytes.
	if after > before+8<<20 {
		t.Errorf("heap grew from %d to %d bytes after %d ended offers", before, after, offers)
	}

	list := receiver.m.List()
	var listed []string
	for _, in := range list {
		listed = append(listed, in.ID)
	}
	wantIDs := ids[len(ids)-history:]
	if len(listed) != history {
		t.Fatalf("List has %d transfers; want the %d most recent: %v", len(listed), history, listed)
	}
	for i, id := range wantIDs {
		if listed[len(listed)-1-i] != id {
			t.Fatalf("List holds %v; want %v, newest first", listed, wantIDs)
		}
	}
	if _, err := receiver.m.Get(ids[0]); !errors.Is(err, ErrNotFound) {
		t.Errorf("the oldest ended transfer is still there: %v", err)
	}
	last := list[0]
	if last.ID != ids[len(ids)-1] || last.State != StateDeclined || last.Code != proto.CodeDeclined || last.Files != files ||
		last.Bytes != files || len(last.Items) != 20 || !strings.HasPrefix(last.Items[0], last.ID+"-ddd") {
		t.Errorf("the last ended offer shows %+v", last)
	}
	if entries, err := receiver.m.Entries(last.ID); err != nil || len(entries) != 0 {
		t.Errorf("an ended offer still lists %d entries (%v)", len(entries), err)
	}
}

// TestManifestTooLarge: an offer whose names pass MaxManifestBytes is
// refused with too-large as the pages arrive, before the owner sees it, and
// nothing is written.
func TestManifestTooLarge(t *testing.T) {
	sender := startNode(t, nodeOpts{})
	receiver := startNode(t, nodeOpts{autoAccept: true})
	const id = "hugemanifest"
	// 4,096-byte paths: 4,200 of them are over 16 MiB, far under MaxEntries.
	entries := make([]Entry, 4200)
	for i := range entries {
		entries[i] = Entry{Path: fmt.Sprintf("%s/%s/%0255d", strings.Repeat("a", 255), strings.Repeat("b", 255), i), Size: 1}
		for len(entries[i].Path) < 4096-256 {
			entries[i].Path = strings.Repeat("c", 255) + "/" + entries[i].Path
		}
	}
	r := dialRaw(t, sender, receiver.addr, id)
	r.offerAll(id, entries)
	c := r.expect(MsgError)
	want := fmt.Sprintf("the offer's list of files is over the limit of %d bytes (its paths, and %d bytes for each item); send fewer files at once", MaxManifestBytes, EntryOverheadBytes)
	if c.Code != proto.CodeTooLarge || c.Text != want {
		t.Fatalf("receiver answered %s %q; want %s %q", c.Code, c.Text, proto.CodeTooLarge, want)
	}
	in := receiver.wait(id, final)
	if in.State != StateFailed || in.Code != proto.CodeTooLarge {
		t.Fatalf("receiver's transfer: %+v", in)
	}
	if asked := receiver.asked(); len(asked) != 0 {
		t.Fatalf("the accept policy was asked about %+v", asked)
	}
	for _, dir := range []string{receiver.dl, filepath.Join(receiver.dir, "transfers")} {
		if names, _ := os.ReadDir(dir); len(names) != 0 {
			t.Errorf("%s holds %v", dir, names)
		}
	}
}

// TestPendingLimits: one certificate behind many guest IDs waits with at
// most maxPendingPerCert offers, one network address with at most
// PendingPerAddr, and a device the owner trusts gets past both.
func TestPendingLimits(t *testing.T) {
	const perAddr = maxPendingPerCert + 2
	sender := startNode(t, nodeOpts{})
	receiver := startNode(t, nodeOpts{perAddr: perAddr, trusted: func(p Peer) bool { return p.ID == sender.id.ID.String() }})
	offer := func(guest string, cert webrtc.Certificate) *raw {
		conn := "lim" + strings.ReplaceAll(guest, "-", "")
		r := dialGuest(t, receiver, guest, cert, conn, 1)
		r.send(offerOf(conn, Entry{Path: "x", Size: 1}))
		return r
	}
	pending := func(guest string, cert webrtc.Certificate) {
		t.Helper()
		offer(guest, cert)
		conn := "lim" + strings.ReplaceAll(guest, "-", "")
		receiver.wait(conn, func(i Info) bool { return i.State == StatePending && i.Files == 1 })
	}
	refused := func(guest string, cert webrtc.Certificate, text string) {
		t.Helper()
		c := offer(guest, cert).expect(MsgDecline)
		if c.Code != proto.CodeBusy || c.Text != text {
			t.Fatalf("offer from %s answered %s %q; want %s %q", guest, c.Code, c.Text, proto.CodeBusy, text)
		}
	}

	one, _ := guestCert(t)
	for i := range maxPendingPerCert {
		pending(fmt.Sprintf("same-cert-%d", i), one)
	}
	refused("same-cert-x", one, fmt.Sprintf("too many offers from this sender are waiting for an answer (the limit is %d); try again later", maxPendingPerCert))

	// Other certificates from the same address, up to its limit.
	for i := maxPendingPerCert; i < perAddr; i++ {
		cert, _ := guestCert(t)
		pending(fmt.Sprintf("other-cert-%d", i), cert)
	}
	cert, _ := guestCert(t)
	refused("other-cert-x", cert, fmt.Sprintf("too many offers from your network address are waiting for an answer (the limit is %d); try again later", perAddr))

	// The trusted device is on the same address.
	src := filepath.Join(t.TempDir(), "a.txt")
	writeRandom(t, src, 10)
	id, err := sender.m.Send(receiver.direct(), []string{src})
	if err != nil {
		t.Fatal(err)
	}
	receiver.wait(id, func(i Info) bool { return i.State == StatePending })
	if out, _ := sender.m.Get(id); out.State.Final() {
		t.Fatalf("the trusted device's offer: %s %s", out.State, out.Error)
	}
}

// TestOfferSDPCodes: a signaling offer whose SDP does not parse is a bad
// message; one that parses but proves no identity, or another's, is
// refused as an identity.
func TestOfferSDPCodes(t *testing.T) {
	sender := startNode(t, nodeOpts{})
	other := startNode(t, nodeOpts{})
	receiver := startNode(t, nodeOpts{})
	pc, err := receiver.m.cfg.API.NewPeerConnection(webrtc.Configuration{Certificates: []webrtc.Certificate{sender.m.cert}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	if _, err := pc.CreateDataChannel(ControlLabel, nil); err != nil {
		t.Fatal(err)
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	good := offer.SDP
	noFingerprint := regexp.MustCompile(`(?m)^a=fingerprint:.*\r\n`).ReplaceAllString(good, "")
	if noFingerprint == good {
		t.Fatal("the offer has no fingerprint to remove")
	}
	senderID, otherID := sender.id.ID.String(), other.id.ID.String()
	tests := []struct {
		name, sdp, from string
		typ, code, text string // text: a part of the error's
	}{
		{"not SDP", "this is not a session description", senderID, signal.TypeError, proto.CodeBadMessage, "the session description does not parse"},
		{"a line that is not SDP", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nnonsense\r\n", senderID, signal.TypeError, proto.CodeBadMessage, "the session description does not parse"},
		{"no fingerprint", noFingerprint, senderID, signal.TypeError, proto.CodeIdentity, "no usable DTLS fingerprint"},
		{"another device's certificate", good, otherID, signal.TypeError, proto.CodeIdentity, "not the device ID " + other.id.ID.Short()},
		{"the sender's own", good, senderID, signal.TypeAnswer, "", ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			replies := make(chan signal.Message, 8)
			from := signal.Peer{ID: tt.from, Name: "raw", Kind: signal.KindPeer, Reply: func(m signal.Message) error {
				replies <- m
				return nil
			}}
			conn := fmt.Sprintf("sdpcodes%02d", i)
			receiver.m.HandleSignal(from, signal.Message{Type: signal.TypeOffer, Conn: conn, Session: 1, SDP: tt.sdp})
			t.Cleanup(func() { receiver.m.HandleSignal(from, signal.Message{Type: signal.TypeBye, Conn: conn, Session: 1}) })
			var m signal.Message
			select {
			case m = <-replies:
			case <-time.After(30 * time.Second):
				t.Fatal("no reply to the offer")
			}
			if m.Type != tt.typ || m.Code != tt.code || !strings.Contains(m.Text, tt.text) {
				t.Fatalf("offer answered %s %s %q; want %s %s containing %q", m.Type, m.Code, m.Text, tt.typ, tt.code, tt.text)
			}
		})
	}
}
