package daemon

import (
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ferry-dev/ferry/daemon/transfer"
)

// TestGuestPicksAgain: a phone sending a file to a laptop is reloaded
// mid-file, which loses the File the page held. Its person picks the same
// file again for the same laptop; the page is the same sender (its guest ID
// and its DTLS certificate are kept), so the laptop continues what it holds
// instead of starting over, and not one byte it held crosses the link again.
func TestGuestPicksAgain(t *testing.T) {
	l := newGuestLAN(t)
	// Slow the page's side of the link, so the file is still on its way
	// when the page reloads.
	shapeLink(t, l.ns, "eth0", "40mbit")
	d, base := startLANDaemon(t, l, "laptop", nil)
	b := guestPage(t, l, base+"/")
	id := guestID(t, b)
	showPageOnFailure(t, b)
	const size = 48 << 20
	src, sum := randomFile(t, "video.bin", size)
	sendFromPage(t, b, d.ID().String(), src)
	first := pendingFrom(t, d, id)
	if err := d.manager.Accept(first.ID); err != nil {
		t.Fatal(err)
	}
	awaitInfo(t, d, first.ID, "12 MiB received", func(i transfer.Info) bool { return i.Done >= 12<<20 })
	b.run(t, chromedp.Reload())
	b.waitText(t, "#link-state", "Connected")
	held := awaitInfo(t, d, first.ID, "the laptop noticing the page is gone", func(i transfer.Info) bool { return i.State == transfer.StateInterrupted })
	if again := guestID(t, b); again != id {
		t.Fatalf("the reloaded page says hello as %s, not %s", again, id)
	}

	b.waitText(t, "#people", "laptop")
	sendFromPage(t, b, d.ID().String(), src)
	second := pendingFrom(t, d, id)
	if err := d.manager.Accept(second.ID); err != nil {
		t.Fatal(err)
	}
	b.waitText(t, "#transfers", "Continuing: laptop already had")
	info := awaitTransfer(t, d, second.ID)
	if info.State != transfer.StateDone {
		t.Fatalf("the second send: %s %q", info.State, info.Error)
	}
	if len(info.Resumed) == 0 || info.Resumed[0] < held.Done {
		t.Fatalf("the second send started from %v; the laptop held %d", info.Resumed, held.Done)
	}
	if info.Arrived != size-info.Resumed[0] {
		t.Fatalf("%d bytes crossed the link for the %d the laptop was missing", info.Arrived, size-info.Resumed[0])
	}
	if fileSum(t, filepath.Join(d.cfg.Downloads, "video.bin")) != sum {
		t.Fatal("the file on disk differs from the one the page sent")
	}
	b.waitText(t, "#transfers", "Sent to laptop, every file verified")
	if old, _ := d.manager.Get(first.ID); old.State != transfer.StateCancelled {
		t.Fatalf("the first transfer shows %s %q, not continued", old.State, old.Error)
	}
	t.Logf("held %d when the page reloaded; the second send carried %d of %d", held.Done, info.Arrived, size)
	b.screenshot(t, "guest-continued", 390, 844)
	b.assertClean(t)
}
