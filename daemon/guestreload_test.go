package daemon

import (
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ferry-dev/ferry/daemon/transfer"
)

// TestGuestReceiveSurvivesReload: a phone on a secure page (the HTTPS mode)
// receiving a file from a laptop into the browser's storage is reloaded
// mid-file. What it held, kept in the browser's storage with where the
// transfer stood, outlives the reload: when the laptop reconnects, the
// page asks it to go on from there, not from zero, and the file it saves
// verifies.
func TestGuestReceiveSurvivesReload(t *testing.T) {
	l := newGuestLAN(t)
	shapeLink(t, "", l.hostIf, "40mbit")
	d, _ := startLANDaemon(t, l, "laptop", func(c *Config) { c.HTTPS = true })
	b := newBrowser(t, inNamespace(l.ns), ignoringCertificateErrors())
	showPageOnFailure(t, b)
	b.open(t, "https://"+d.HTTPSAddr().String()+"/")
	b.waitText(t, "#link-state", "Connected to laptop")
	b.waitText(t, "#limits", "written to this browser's storage")
	const size = 48 << 20
	src, sum := randomFile(t, "concert.bin", size)
	out, err := transfers{d}.Send(guestID(t, b), []string{src})
	if err != nil {
		t.Fatal(err)
	}
	b.click(t, `#incoming [data-transfer] button.accept`)
	before := awaitInfo(t, d, out, "14 MiB received", func(i transfer.Info) bool { return i.Done >= 14<<20 })
	b.run(t, chromedp.Reload())
	b.waitText(t, "#transfers", "Received from laptop, every file verified")
	info := awaitTransfer(t, d, out)
	if info.State != transfer.StateDone {
		t.Fatalf("the laptop's send: %s %q", info.State, info.Error)
	}
	// The page saves where it stands every 4 MiB, so it goes on from at
	// most that far behind what it had told the laptop.
	if len(info.Resumed) == 0 || info.Resumed[0] < before.Done-(4<<20)-(1<<20) {
		t.Fatalf("the send resumed from %v; the page had told of %d bytes before the reload", info.Resumed, before.Done)
	}
	if got := saveReceived(t, b, "concert.bin"); got != sum {
		t.Fatalf("the page holds a file with SHA-256 %x, the laptop sent %x", got, sum)
	}
	t.Logf("the page told of %d bytes before the reload and took up from %d; %d bytes went out for %d", before.Done, info.Resumed[0], info.Sent, size)
}
