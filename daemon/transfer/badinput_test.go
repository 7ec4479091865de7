package transfer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"github.com/ferry-dev/ferry/daemon/proto"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ferry-dev/ferry/daemon/signal"
	"github.com/pion/webrtc/v4"
)

// raw is a hand-driven sender: a real session to a real receiver, through
// which a test sends whatever it likes.
type raw struct {
	t    *testing.T
	s    *session
	ctrl chan Control
}

// dialRaw connects a raw sender to the hub at to, as from.
func dialRaw(t *testing.T, from *node, to string, conn string) *raw {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	sub, err := from.m.cfg.Dialer.Open(ctx, to, conn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sub.Close)
	return newRaw(t, from.m.cfg.API, from.m.cert, conn, 1, sub.Send, sub.C)
}

var maxMessageSize = regexp.MustCompile(`a=max-message-size:\d+`)

// newRaw offers session num of conn with cert over send and connects it
// with the answer and candidates that arrive on in.
func newRaw(t *testing.T, api *webrtc.API, cert webrtc.Certificate, conn string, num uint64, send func(signal.Message) error, in <-chan signal.Message) *raw {
	t.Helper()
	s, err := newSession(api, cert, conn, num, send)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.close)
	s.holdCandidates()
	r := &raw{t: t, s: s, ctrl: make(chan Control, 64)}
	for _, label := range []string{ControlLabel, DataLabel} {
		dc, err := s.pc.CreateDataChannel(label, nil)
		if err != nil {
			t.Fatal(err)
		}
		if label == ControlLabel {
			dc.OnMessage(func(dm webrtc.DataChannelMessage) {
				var c Control
				json.Unmarshal(dm.Data, &c)
				r.ctrl <- c
			})
		}
		s.addChannel(dc)
	}
	offer, _ := s.pc.CreateOffer(nil)
	s.pc.SetLocalDescription(offer)
	send(signal.Message{Type: signal.TypeOffer, Conn: conn, Session: num, SDP: offer.SDP})
	s.release()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case <-s.ready:
			return r
		case m := <-in:
			switch {
			case m.Session != num:
			case m.Type == signal.TypeAnswer:
				// A hostile sender ignores the receiver's
				// a=max-message-size; Pion would refuse to send past it.
				sdp := maxMessageSize.ReplaceAllString(m.SDP, "a=max-message-size:1073741823")
				if err := s.setRemote(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp}); err != nil {
					t.Fatal(err)
				}
			case m.Type == signal.TypeCandidate:
				s.addCandidate(m.Candidate)
			case m.Type == signal.TypeError:
				t.Fatalf("the receiver refused the session: %s %s", m.Code, m.Text)
			}
		case <-timeout:
			t.Fatal("raw session did not connect")
		}
	}
}

func (r *raw) text(s string) { r.s.ctrl.SendText(s) }

func (r *raw) send(c Control) { r.s.sendControl(c) }

func (r *raw) chunk(file int, off int64, payload []byte) {
	b := make([]byte, ChunkHeaderBytes+len(payload))
	PutChunkHeader(b, file, off)
	copy(b[ChunkHeaderBytes:], payload)
	r.s.data.Send(b)
}

// expect waits for a control message of type typ and returns it.
func (r *raw) expect(typ string) Control {
	r.t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case c := <-r.ctrl:
			if c.Type == typ {
				return c
			}
			if c.Type == MsgError || c.Type == MsgDecline {
				r.t.Fatalf("got %s %s: %s; want %s", c.Type, c.Code, c.Text, typ)
			}
		case <-timeout:
			r.t.Fatalf("timed out waiting for %s", typ)
		}
	}
}

func offerOf(id string, entries ...Entry) Control {
	return Control{Type: MsgOffer, Transfer: id, Name: "raw", Count: len(entries), Entries: entries}
}

func hexSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestBadInput(t *testing.T) {
	sender := startNode(t, nodeOpts{})
	receiver := startNode(t, nodeOpts{autoAccept: true})
	long := strings.Repeat("n", 300)
	tests := []struct {
		name     string
		do       func(r *raw, id string)
		reply    string // control message type the receiver answers with
		code     string
		text     string
		state    State
		leftover []string // names in the downloads folder afterwards
	}{
		{"unknown message type", func(r *raw, id string) { r.text(`{"type":"teleport"}`) },
			MsgError, proto.CodeUnknownType, `unknown control message type "teleport"`, "", nil},
		{"malformed JSON", func(r *raw, id string) { r.text(`{"type":"offer",`) },
			MsgError, proto.CodeBadMessage, "malformed control message: unexpected EOF", "", nil},
		{"oversized control message", func(r *raw, id string) { r.text(`{"type":"offer","name":"` + strings.Repeat("x", 70000) + `"}`) },
			MsgError, proto.CodeTooLarge, "control message is 70026 bytes (the limit is 65536)", "", nil},
		{"chunk for an unknown file", func(r *raw, id string) {
			r.send(offerOf(id, Entry{Path: "a", Size: 4}))
			r.expect(MsgAccept)
			r.chunk(3, 0, []byte("abcd"))
		}, MsgError, proto.CodeUnknownFile, "chunk for file 3, which the offer does not list as a file", StateFailed, nil},
		{"chunk at a wrong offset", func(r *raw, id string) {
			r.send(offerOf(id, Entry{Path: "a", Size: 8}))
			r.expect(MsgAccept)
			r.chunk(0, 4, []byte("abcd"))
		}, MsgError, proto.CodeBadOffset, "chunk for a at offset 4; expected offset 0", StateFailed, nil},
		{"chunk past the announced size", func(r *raw, id string) {
			r.send(offerOf(id, Entry{Path: "a", Size: 4}))
			r.expect(MsgAccept)
			r.chunk(0, 0, []byte("abcdef"))
		}, MsgError, proto.CodeTooManyBytes, "more bytes than announced for a (4 bytes)", StateFailed, nil},
		{"more bytes than announced", func(r *raw, id string) {
			r.send(offerOf(id, Entry{Path: "a", Size: 4}))
			r.expect(MsgAccept)
			r.chunk(0, 0, []byte("abcd"))
			r.chunk(0, 4, []byte("e"))
		}, MsgError, proto.CodeTooManyBytes, "more bytes than announced for a (4 bytes)", StateFailed, nil},
		{"name ../x", func(r *raw, id string) { r.send(offerOf(id, Entry{Path: "../x", Size: 1})) },
			MsgError, proto.CodeBadName, `bad file name "../x": ".." is not allowed`, StateFailed, nil},
		{"name /etc/passwd", func(r *raw, id string) { r.send(offerOf(id, Entry{Path: "/etc/passwd", Size: 1})) },
			MsgError, proto.CodeBadName, `bad file name "/etc/passwd": absolute paths are not allowed`, StateFailed, nil},
		{`name C:\x`, func(r *raw, id string) { r.send(offerOf(id, Entry{Path: `C:\x`, Size: 1})) },
			MsgError, proto.CodeBadName, `bad file name "C:\\x": drive letters are not allowed`, StateFailed, nil},
		{"name con", func(r *raw, id string) { r.send(offerOf(id, Entry{Path: "con", Size: 1})) },
			MsgError, proto.CodeBadName, `bad file name "con": "con" is a reserved device name`, StateFailed, nil},
		{"empty name", func(r *raw, id string) { r.send(offerOf(id, Entry{Path: "", Size: 1})) },
			MsgError, proto.CodeBadName, `bad file name "": the name is empty`, StateFailed, nil},
		{"name with NUL", func(r *raw, id string) { r.send(offerOf(id, Entry{Path: "a\x00b", Size: 1})) },
			MsgError, proto.CodeBadName, `bad file name "a\x00b": the name contains a NUL byte`, StateFailed, nil},
		{"name 300 bytes long", func(r *raw, id string) { r.send(offerOf(id, Entry{Path: long, Size: 1})) },
			MsgError, proto.CodeBadName, `bad file name "` + long + `": a component is 300 bytes long (the limit is 255)`, StateFailed, nil},
		{"hash mismatch", func(r *raw, id string) {
			r.send(offerOf(id, Entry{Path: "h.txt", Size: 4}))
			r.expect(MsgAccept)
			r.chunk(0, 0, []byte("abcd"))
			r.send(Control{Type: MsgFileEnd, File: 0, SHA256: hexSum([]byte("abce"))})
		}, MsgError, proto.CodeHashMismatch, "h.txt: SHA-256 mismatch: sender says " + hexSum([]byte("abce")) + ", received " + hexSum([]byte("abcd")), StateFailed, nil},
		{"too many items", func(r *raw, id string) {
			r.text(fmt.Sprintf(`{"type":"offer","transfer":"%s","count":%d,"entries":[{"path":"a"}]}`, id, MaxEntries+1))
		}, MsgError, proto.CodeTooManyFiles, "offer has 100001 items (the limit is 100000)", "", nil},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := fmt.Sprintf("badinput%02d", i)
			r := dialRaw(t, sender, receiver.addr, id)
			tt.do(r, id)
			c := r.expect(tt.reply)
			if c.Code != tt.code || c.Text != tt.text {
				t.Fatalf("receiver answered %s %q; want %s %q", c.Code, c.Text, tt.code, tt.text)
			}
			if tt.state != "" {
				in := receiver.wait(id, final)
				if in.State != tt.state || in.Code != tt.code {
					t.Fatalf("receiver's transfer: %+v", in)
				}
			}
			entries, _ := os.ReadDir(receiver.dl)
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			if strings.Join(names, ",") != strings.Join(tt.leftover, ",") {
				t.Fatalf("downloads folder holds %v; want %v", names, tt.leftover)
			}
		})
	}
}

func TestBigOfferIsPaged(t *testing.T) {
	sender := startNode(t, nodeOpts{})
	receiver := startNode(t, nodeOpts{})
	r := dialRaw(t, sender, receiver.addr, "manyfiles1")
	const n = 20000
	var page []Entry
	for i := 0; i < n; i++ {
		page = append(page, Entry{Path: fmt.Sprintf("many/f%05d.txt", i), Size: 1})
		if len(page) == MaxEntriesPerPage || i == n-1 {
			if i < MaxEntriesPerPage {
				r.send(Control{Type: MsgOffer, Transfer: "manyfiles1", Count: n, Entries: page})
			} else {
				r.send(Control{Type: MsgEntries, Entries: page})
			}
			page = nil
		}
	}
	in := receiver.wait("manyfiles1", func(i Info) bool { return i.State == StatePending && i.Files == n })
	if in.Bytes != n || len(in.Items) != 20 {
		t.Fatalf("pending offer of 20,000 files shows %+v", in)
	}
}

func TestSenderVanishesMidFile(t *testing.T) {
	sender := startNode(t, nodeOpts{})
	receiver := startNode(t, nodeOpts{autoAccept: true})
	r := dialRaw(t, sender, receiver.addr, "vanishing1")
	r.send(offerOf("vanishing1", Entry{Path: "v.bin", Size: 1 << 20}))
	r.expect(MsgAccept)
	r.chunk(0, 0, make([]byte, 1000))
	receiver.wait("vanishing1", func(i Info) bool { return i.Done == 1000 })
	r.s.pc.Close()
	in := receiver.wait("vanishing1", func(i Info) bool { return i.State != StateActive })
	if in.State != StateInterrupted {
		t.Fatalf("receiver after the sender vanished: %+v", in)
	}
	if _, err := os.Stat(filepath.Join(receiver.dl, "v.bin")); !os.IsNotExist(err) {
		t.Fatal("an incomplete file has its final name")
	}
	st, err := os.Stat(filepath.Join(receiver.dl, "v.bin.part"))
	if err != nil || st.Size() != 1000 {
		t.Fatalf("part file: %v, %v; want 1000 bytes kept for a resume", st, err)
	}
	if _, err := os.Stat(filepath.Join(receiver.dir, "transfers", "vanishing1.json")); err != nil {
		t.Fatalf("resume state not saved: %v", err)
	}
}

func TestSecondOfferWhilePending(t *testing.T) {
	sender := startNode(t, nodeOpts{})
	receiver := startNode(t, nodeOpts{})
	first := dialRaw(t, sender, receiver.addr, "pendingone")
	first.send(offerOf("pendingone", Entry{Path: "a", Size: 1}))
	receiver.wait("pendingone", func(i Info) bool { return i.State == StatePending && i.Files == 1 })
	second := dialRaw(t, sender, receiver.addr, "pendingtwo")
	second.send(offerOf("pendingtwo", Entry{Path: "b", Size: 1}))
	c := second.expect(MsgDecline)
	if c.Code != proto.CodeBusy || c.Text != "an earlier offer from this device is still waiting for an answer" {
		t.Fatalf("second offer answered %s %q", c.Code, c.Text)
	}
	if in, _ := receiver.m.Get("pendingone"); in.State != StatePending {
		t.Fatalf("the first offer is now %s", in.State)
	}
}

func TestDownloadsFolderRemovedWhileRunning(t *testing.T) {
	sender := startNode(t, nodeOpts{})
	receiver := startNode(t, nodeOpts{autoAccept: true})
	src := filepath.Join(t.TempDir(), "a.txt")
	want := writeRandom(t, src, 1000)
	id, _ := sender.m.Send(receiver.direct(), []string{src})
	sender.wait(id, final)
	if err := os.RemoveAll(receiver.dl); err != nil {
		t.Fatal(err)
	}
	id, _ = sender.m.Send(receiver.direct(), []string{src})
	if out := sender.wait(id, final); out.State != StateDone {
		t.Fatalf("send after the folder was removed: %+v", out)
	}
	if got := fileHash(t, filepath.Join(receiver.dl, "a.txt")); got != want {
		t.Fatal("file in the recreated folder differs")
	}
}

// TestDownloadsFolderFull mounts a 1 MiB tmpfs as the downloads folder.
func TestDownloadsFolderFull(t *testing.T) {
	dl := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", dl).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs (needs root): %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dl).Run() })
	sender := startNode(t, nodeOpts{})
	receiver := startNode(t, nodeOpts{autoAccept: true, downloads: dl})
	os.WriteFile(filepath.Join(dl, "mine.txt"), []byte("the owner's file"), 0o644)

	// Too big for the free space: declined before anything is written.
	big := filepath.Join(t.TempDir(), "big.bin")
	writeRandom(t, big, 2<<20)
	id, _ := sender.m.Send(receiver.direct(), []string{big})
	out := sender.wait(id, final)
	if out.State != StateDeclined || out.Code != proto.CodeNoSpace || !strings.Contains(out.Error, "not enough space in the downloads folder") {
		t.Fatalf("offer larger than the free space: %+v", out)
	}

	// Fits when offered, but the disk fills up during the transfer.
	r := dialRaw(t, sender, receiver.addr, "fillingup1")
	r.send(offerOf("fillingup1", Entry{Path: "f.bin", Size: 900 << 10}))
	r.expect(MsgAccept)
	filler, _ := os.Create(filepath.Join(dl, "filler"))
	filler.Write(make([]byte, 600<<10))
	filler.Close()
	for off := int64(0); off < 900<<10; off += 32 << 10 {
		r.chunk(0, off, make([]byte, 32<<10))
	}
	c := r.expect(MsgError)
	if c.Code != proto.CodeNoSpace || !strings.Contains(c.Text, "the downloads folder is full") {
		t.Fatalf("disk full during the transfer: %s %q", c.Code, c.Text)
	}
	if b, _ := os.ReadFile(filepath.Join(dl, "mine.txt")); string(b) != "the owner's file" {
		t.Fatal("the owner's file was damaged")
	}
	for _, name := range []string{"f.bin", "f.bin.part"} {
		if _, err := os.Stat(filepath.Join(dl, name)); !os.IsNotExist(err) {
			t.Errorf("%s left after the failure: %v", name, err)
		}
	}
}
