package transfer

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-dev/ferry/daemon/proto"
	"github.com/ferry-dev/ferry/daemon/signal"
	"github.com/pion/webrtc/v4"
)

// guestCert is a self-signed certificate of the kind a browser makes for
// its RTCPeerConnection, and its fingerprint as SDP writes it.
func guestCert(t *testing.T) (webrtc.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "WebRTC"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	hex := make([]string, len(sum))
	for i, b := range sum {
		hex[i] = fmt.Sprintf("%02X", b)
	}
	return webrtc.CertificateFromX509(key, cert), "sha-256 " + strings.Join(hex, ":")
}

// dialGuest connects a raw sender to n as a browser guest whose signaling
// the mesh delivers: Kind guest, and a Reply that reaches only this session.
func dialGuest(t *testing.T, n *node, guestID string, cert webrtc.Certificate, conn string, num uint64) *raw {
	t.Helper()
	in := make(chan signal.Message, 256)
	from := signal.Peer{ID: guestID, Name: "Phone", Kind: signal.KindGuest, Reply: func(m signal.Message) error {
		select {
		case in <- m:
		default:
		}
		return nil
	}}
	send := func(m signal.Message) error {
		n.m.HandleSignal(from, m)
		return nil
	}
	return newRaw(t, NewAPI(testAPI()), cert, conn, num, send, in)
}

// TestGuestOffer: a browser guest offers a file. The accept policy is told
// it is a guest; with the policy saying no the offer waits for the owner. A
// session of the same guest ID with another certificate cannot take the
// transfer over; the guest's own certificate can resume it, and after the
// owner accepts the file lands with the right SHA-256 and the receiver
// closes the finished transfer's connection.
func TestGuestOffer(t *testing.T) {
	receiver := startNode(t, nodeOpts{})
	const guestID, id = "guest-phone-1234", "guestfile1"
	certA, fpA := guestCert(t)
	data := make([]byte, 200_000)
	rand.Read(data)
	offer := offerOf(id, Entry{Path: "photo.jpg", Size: int64(len(data))})

	first := dialGuest(t, receiver, guestID, certA, "guestconn1", 1)
	first.send(offer)
	in := receiver.wait(id, func(i Info) bool { return i.State == StatePending && i.Files == 1 })
	if in.Peer != guestID || in.PeerKind != KindGuest || in.PeerName != "Phone" {
		t.Fatalf("the guest's offer shows %+v", in)
	}
	asked := receiver.asked()
	if len(asked) != 1 || asked[0] != (Peer{ID: guestID, Name: "Phone", Guest: true, Fingerprint: fpA}) {
		t.Fatalf("the accept policy was asked about %+v; want the guest with fingerprint %s", asked, fpA)
	}

	// Someone else takes up the guest ID: another certificate, a newer
	// session of the same conn.
	certB, _ := guestCert(t)
	other := dialGuest(t, receiver, guestID, certB, "guestconn1", 2)
	other.send(offer)
	c := other.expect(MsgError)
	if c.Code != proto.CodeIdentityChanged || c.Text != "transfer guestfile1 was offered with another certificate; offer the files again as a new transfer" {
		t.Fatalf("offer with another certificate answered %s %q", c.Code, c.Text)
	}
	if in, _ := receiver.m.Get(id); in.State != StatePending {
		t.Fatalf("after the other certificate the transfer is %+v", in)
	}

	// The guest itself reconnects and the owner accepts.
	again := dialGuest(t, receiver, guestID, certA, "guestconn1", 3)
	again.send(offer)
	receiver.wait(id, func(i Info) bool { return i.State == StatePending })
	if err := receiver.m.Accept(id); err != nil {
		t.Fatal(err)
	}
	if c := again.expect(MsgAccept); c.File != 0 || c.Offset != 0 {
		t.Fatalf("accept from %d/%d", c.File, c.Offset)
	}
	for off := 0; off < len(data); off += 60_000 {
		again.chunk(0, int64(off), data[off:min(off+60_000, len(data))])
	}
	again.send(Control{Type: MsgFileEnd, File: 0, SHA256: hexSum(data)})
	if c := again.expect(MsgFileOK); c.Path != "photo.jpg" {
		t.Fatalf("file-ok names %q", c.Path)
	}
	again.expect(MsgDone)
	if got := fileHash(t, filepath.Join(receiver.dl, "photo.jpg")); got != hexSum(data) {
		t.Fatalf("received SHA-256 %s, want %s", got, hexSum(data))
	}
	if in := receiver.wait(id, final); in.State != StateDone || in.PeerKind != KindGuest {
		t.Fatalf("receiver ended %+v", in)
	}
	// The receiver lets go of the finished transfer's connection: a guest
	// that sends many files does not leave a peer connection for each.
	select {
	case <-again.s.closed:
	case <-time.After(30 * time.Second):
		t.Fatal("the receiver kept the connection of a finished transfer open")
	}
}

// TestGuestWithDeviceID: a guest whose client ID is a device ID, here the
// ID of a daemon the receiver accepts everything from, is still a guest:
// the policy is told so, and its certificate need not match the ID.
func TestGuestWithDeviceID(t *testing.T) {
	trusted := startNode(t, nodeOpts{})
	receiver := startNode(t, nodeOpts{})
	cert, fp := guestCert(t)
	r := dialGuest(t, receiver, trusted.id.ID.String(), cert, "borrowed1", 1)
	r.send(offerOf("borrowed1", Entry{Path: "x", Size: 1}))
	in := receiver.wait("borrowed1", func(i Info) bool { return i.State == StatePending && i.Files == 1 })
	if in.PeerKind != KindGuest {
		t.Fatalf("the offer shows %+v; want a guest", in)
	}
	if asked := receiver.asked(); len(asked) != 1 || !asked[0].Guest || asked[0].Fingerprint != fp {
		t.Fatalf("the accept policy was asked about %+v", asked)
	}
	if _, ok := receiver.asked()[0].Device(); ok {
		t.Fatal("a guest's peer gave a device ID")
	}
}

// TestLoadSavedStates: resume states load as saved before guests existed
// (the peer a bare device ID) and as saved for guests.
func TestLoadSavedStates(t *testing.T) {
	daemonPeer := startNode(t, nodeOpts{}).id.ID.String()
	tests := []struct {
		name, json, peer, kind string
	}{
		{"daemon, old format", `{"id":"oldstate1","peer":"` + daemonPeer + `","peerName":"laptop","entries":[{"path":"a.bin","size":10}],"placed":["a.bin"],"files":[{"cp":{"held":4}}],"verified":0,"started":"2025-01-02T03:04:05Z"}`,
			daemonPeer, KindDaemon},
		{"guest", `{"id":"oldstate1","peer":"guest-phone-1234","peerKind":"guest","fingerprint":"sha-256 AA:BB","peerName":"Phone","entries":[{"path":"a.bin","size":10}],"placed":["a.bin"],"files":[{"cp":{"held":4}}],"verified":0,"started":"2025-01-02T03:04:05Z"}`,
			"guest-phone-1234", KindGuest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			os.MkdirAll(filepath.Join(dir, "transfers"), 0o700)
			if err := os.WriteFile(filepath.Join(dir, "transfers", "oldstate1.json"), []byte(tt.json), 0o600); err != nil {
				t.Fatal(err)
			}
			n := startNode(t, nodeOpts{dir: dir})
			in, err := n.m.Get("oldstate1")
			if err != nil || in.State != StateInterrupted || in.Peer != tt.peer || in.PeerKind != tt.kind || in.Done != 4 || in.Bytes != 10 {
				t.Fatalf("loaded %+v, %v", in, err)
			}
		})
	}
}

// TestTrustedPastFullSlots: strangers with throwaway identities fill every
// slot for offers waiting on the owner, and the next stranger is told the
// daemon is busy; a device the owner trusts still gets its offer through.
// All of them share the loopback address, whose own limit is lifted here.
func TestTrustedPastFullSlots(t *testing.T) {
	sender := startNode(t, nodeOpts{})
	receiver := startNode(t, nodeOpts{perAddr: maxPending + 2, trusted: func(p Peer) bool { return p.ID == sender.id.ID.String() }})
	for i := range maxPending {
		cert, _ := guestCert(t)
		r := dialGuest(t, receiver, fmt.Sprintf("throwaway-%02d", i), cert, fmt.Sprintf("slot%04d", i), 1)
		r.send(offerOf(fmt.Sprintf("slot%04d", i), Entry{Path: "x", Size: 1}))
		receiver.wait(fmt.Sprintf("slot%04d", i), func(i Info) bool { return i.State == StatePending })
	}
	cert, _ := guestCert(t)
	r := dialGuest(t, receiver, "throwaway-full", cert, "slotfull", 1)
	r.send(offerOf("slotfull", Entry{Path: "x", Size: 1}))
	want := fmt.Sprintf("too many offers are waiting for an answer (the limit is %d); try again later", maxPending)
	if c := r.expect(MsgDecline); c.Code != proto.CodeBusy || c.Text != want {
		t.Fatalf("a stranger past the slots: %s %q; want %s %q", c.Code, c.Text, proto.CodeBusy, want)
	}
	src := filepath.Join(t.TempDir(), "a.txt")
	writeRandom(t, src, 1000)
	id, err := sender.m.Send(receiver.direct(), []string{src})
	if err != nil {
		t.Fatal(err)
	}
	// The receiver holds it, waiting for its owner; the sender is not told
	// to go away.
	receiver.wait(id, func(i Info) bool { return i.State == StatePending })
	if out, _ := sender.m.Get(id); out.State.Final() {
		t.Fatalf("the trusted device's offer: %s %s", out.State, out.Error)
	}
}
