package daemon

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/ferry-dev/ferry/daemon/datadir"
)

// TestGuestScreens walks the guest page through what its top says: the
// welcome of a page with nobody else yet, with the page's own address as
// a QR code; nothing once it is in a room; the words for a room code that
// names no room; the connection to the computer lost; and a browser
// without WebRTC told so before anything else.
func TestGuestScreens(t *testing.T) {
	l := newGuestLAN(t)
	ln, err := net.Listen("tcp", l.hostAddr+":0")
	if err != nil {
		t.Fatal(err)
	}
	_, stop := runTestDaemonWith(t, "laptop", t.TempDir(), func(c *Config) {
		c.Listener = ln
		c.Interfaces = []string{"lo", l.hostIf}
		c.Accept = datadir.AcceptNone
		c.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	})
	base := "http://" + ln.Addr().String()
	b := guestPage(t, l, base+"/")
	showPageOnFailure(t, b)

	b.waitText(t, "#screen h2", "Send files to anyone nearby")
	var drawn bool
	b.eval(t, `document.querySelector('#screen svg.qr path')?.getAttribute('d').length > 0`, &drawn)
	if !drawn {
		t.Error("the welcome has no QR code of the page's address")
	}
	if got := b.text(t, "#screen .page-address"); got != ln.Addr().String() {
		t.Errorf("the welcome gives the address %q, want %q", got, ln.Addr().String())
	}
	b.screenshot(t, "guest-landing", 390, 844)
	b.screenshot(t, "guest-landing", 1280, 800)

	b.click(t, "#screen button")
	b.waitText(t, "#people-h", "In room ")
	b.waitTrue(t, `document.getElementById('screen').hidden`)
	b.click(t, "#room-leave")
	b.waitText(t, "#screen h2", "Send files to anyone nearby")

	b.run(t, chromedp.SetValue("#join-code", "ABCD2345"))
	b.click(t, `#join-form button[type=submit]`)
	b.waitText(t, "#room-note", "No room ABCD2345 here: the code may be mistyped, or the room has ended")
	b.run(t, chromedp.SetValue("#join-code", "not a code"))
	b.click(t, `#join-form button[type=submit]`)
	b.waitText(t, "#room-note", "A room code is 8 letters and digits")

	b.assertClean(t)

	// A browser without WebRTC: the page loads with RTCPeerConnection gone.
	old := newBrowser(t, inNamespace(l.ns))
	old.run(t, chromedp.Func(func(ctx context.Context, tab *chromedp.Target) error {
		_, err := cdp.Call(ctx, tab, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `delete window.RTCPeerConnection`})
		return err
	}))
	old.open(t, base+"/")
	old.waitText(t, "#screen h2", "This browser is too old for ferry")
	old.waitText(t, "#screen p", "WebRTC")

	// Past here the page logs its failing reconnections: not problems.
	stop()
	b.waitText(t, "#screen h2", "Lost the connection to laptop; reconnecting")
	b.waitText(t, "#link-state", "Reconnecting")
	b.screenshot(t, "guest-lost", 390, 844)

}
