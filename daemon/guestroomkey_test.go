package daemon

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gorilla/websocket"
)

// tamperingRelay stands between a page and its daemon and passes
// everything on unchanged, except the DTLS fingerprint in each offer and
// answer the page sends, which it swaps for another, as a computer that
// relays signaling would to put itself in the middle of a connection.
type tamperingRelay struct {
	base    string       // the address to open pages through
	swapped atomic.Int32 // fingerprints changed so far
}

var fingerprintLine = regexp.MustCompile(`a=fingerprint:sha-256 ([0-9A-Fa-f]{2})`)

func startTamperingRelay(t *testing.T, l *guestLAN, daemonBase string) *tamperingRelay {
	t.Helper()
	target, err := url.Parse(daemonBase)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", l.hostAddr+":0")
	if err != nil {
		t.Fatal(err)
	}
	r := &tamperingRelay{base: "http://" + ln.Addr().String()}
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	mux := http.NewServeMux()
	mux.Handle("/", httputil.NewSingleHostReverseProxy(target))
	mux.HandleFunc("GET /ws", func(w http.ResponseWriter, req *http.Request) {
		page, err := up.Upgrade(w, req, nil)
		if err != nil {
			return
		}
		defer page.Close()
		hub, _, err := websocket.DefaultDialer.Dial("ws://"+target.Host+"/ws", http.Header{"Origin": {daemonBase}})
		if err != nil {
			return
		}
		defer hub.Close()
		go func() {
			defer page.Close()
			for {
				kind, b, err := hub.ReadMessage()
				if err != nil || page.WriteMessage(kind, b) != nil {
					return
				}
			}
		}()
		for {
			kind, b, err := page.ReadMessage()
			if err != nil || hub.WriteMessage(kind, r.tamper(b)) != nil {
				return
			}
		}
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return r
}

// tamper swaps the first byte of the fingerprint of an offer or answer.
func (r *tamperingRelay) tamper(b []byte) []byte {
	var m map[string]any
	if json.Unmarshal(b, &m) != nil || (m["type"] != "offer" && m["type"] != "answer") {
		return b
	}
	sdp, _ := m["sdp"].(string)
	changed := fingerprintLine.ReplaceAllStringFunc(sdp, func(line string) string {
		first := line[len(line)-2:]
		other := "00"
		if strings.EqualFold(first, "00") {
			other = "11"
		}
		return line[:len(line)-2] + other
	})
	if changed == sdp {
		return b
	}
	m["sdp"] = changed
	out, err := json.Marshal(m)
	if err != nil {
		return b
	}
	r.swapped.Add(1)
	return out
}

// TestRoomSecretCatchesRelay: a page creates a code room; its link carries
// the room's secret in the fragment. A second page opened with that link
// exchanges a file with the first, each side checking the other's signed
// fingerprint. A third page, opened with the same link but through a relay
// that swaps the fingerprints it sends, is refused in both directions, and
// both pages say why; nothing is sent.
func TestRoomSecretCatchesRelay(t *testing.T) {
	l := newGuestLAN(t)
	_, base := startLANDaemon(t, l, "alpha", nil)
	relay := startTamperingRelay(t, l, base)

	one := guestPage(t, l, base+"/")
	idOne := guestID(t, one)
	one.click(t, "#room-create")
	one.waitTrue(t, `(document.querySelector('#room a.room-link')?.href || '').includes('#s=')`)
	var link string
	one.eval(t, `document.querySelector('#room a.room-link').href`, &link)
	code := strings.TrimPrefix(strings.SplitN(link, "#", 2)[0], base+"/r/")
	secret := strings.SplitN(link, "#s=", 2)[1]
	var where string
	one.eval(t, `location.pathname + location.hash`, &where)
	if where != "/r/"+code+"#s="+secret {
		t.Errorf("the page's own address is %q, want the room's link %q", where, "/r/"+code+"#s="+secret)
	}
	var drawn int
	one.eval(t, `document.querySelector('#room svg.qr path').getAttribute('d').length`, &drawn)
	if drawn == 0 {
		t.Error("the room's QR code is empty")
	}

	two := guestPage(t, l, link)
	two.waitText(t, "#people-h", "In room "+code)
	for _, b := range []*browser{one, two} {
		t.Cleanup(func() {
			if t.Failed() {
				var s string
				b.eval(t, `document.querySelector('#transfers').innerText`, &s)
				t.Logf("transfers: %s\nproblems: %q", s, b.problems())
			}
		})
	}
	two.waitTrue(t, fmt.Sprintf(`document.querySelector('#people li[data-member=%q]') !== null`, idOne))

	// Signed both ways and checked: the file goes through.
	src, sum := randomFile(t, "signed.bin", 1<<20+7)
	sendFromPage(t, two, idOne, src)
	one.waitText(t, "#incoming", "wants to send you 1 file")
	one.click(t, `#incoming [data-transfer] button.accept`)
	one.waitText(t, "#transfers", "every file verified")
	two.waitText(t, "#transfers", "every file verified")
	for _, b := range []*browser{one, two} {
		b.waitText(t, "#transfers", "Checked with the room's secret")
	}
	if got := saveReceived(t, one, "signed.bin"); got != sum {
		t.Fatalf("the page holds a file with SHA-256 %x, the other page sent %x", got, sum)
	}

	// Through the relay: the third page's offer arrives with another
	// fingerprint, and the first page refuses it.
	three := guestPage(t, l, strings.Replace(link, base, relay.base, 1))
	idThree := guestID(t, three)
	three.waitText(t, "#people-h", "In room "+code)
	three.waitTrue(t, fmt.Sprintf(`document.querySelector('#people li[data-member=%q]') !== null`, idOne))
	one.waitTrue(t, fmt.Sprintf(`document.querySelector('#people li[data-member=%q]') !== null`, idThree))
	sendFromPage(t, three, idOne, src)
	waitTransfer(t, one, "receiving", "Refused the connection from ")
	waitTransfer(t, one, "receiving", "does not match the room's secret")
	waitTransfer(t, three, "sending", "changed it on the way")
	if n := offersShown(t, one); n != 0 {
		t.Errorf("the refused offer was shown to accept (%d offers)", n)
	}

	// The other way: the first page's offer is honest, the answer that
	// comes back through the relay is not, and the first page refuses it.
	sendFromPage(t, one, idThree, src)
	waitTransfer(t, one, "sending", "Refused the connection: its fingerprint does not match")
	waitTransfer(t, three, "receiving", "The other browser refused the connection")
	if n := relay.swapped.Load(); n < 2 {
		t.Errorf("the relay swapped %d fingerprints, want at least 2", n)
	}
	if n := offersShown(t, three); n != 0 {
		t.Errorf("the page behind the relay was offered the file to accept (%d offers)", n)
	}
	one.screenshot(t, "guest-refused", 390, 844)
	three.screenshot(t, "guest-refused-relayed", 390, 844)
}

// waitTransfer waits until the page lists a transfer tagged tag
// ("sending" or "receiving") whose text contains want.
func waitTransfer(t *testing.T, b *browser, tag, want string) {
	t.Helper()
	b.waitTrue(t, fmt.Sprintf(`[...document.querySelectorAll('#transfers li[data-transfer]')].some((li) => li.querySelector('.tag')?.textContent === %q && li.textContent.includes(%q))`, tag, want))
}

// offersShown is how many offers the page shows to accept.
func offersShown(t *testing.T, b *browser) int {
	t.Helper()
	var n int
	b.eval(t, `document.querySelectorAll('#incoming [data-transfer]').length`, &n)
	return n
}
