package daemon

import (
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/ferry-dev/ferry/daemon/transfer"
)

// TestGuestFetchesInstead: a plain-HTTP page can keep received files only
// in memory, so a phone that is offered more from a laptop than that takes
// the files as downloads instead: the laptop gives the page a link per file
// on its own HTTP port, the browser's download manager saves the file, and
// the page shows the SHA-256 the laptop computed. The link works only for
// that file; another token is refused.
func TestGuestFetchesInstead(t *testing.T) {
	l := newGuestLAN(t)
	d, base := startLANDaemon(t, l, "laptop", nil)
	b := guestPage(t, l, base+"/")
	id := guestID(t, b)
	src, sum := randomFile(t, "long video.bin", 48<<20)
	out, err := transfers{d}.Send(id, []string{src})
	if err != nil {
		t.Fatal(err)
	}
	b.waitText(t, "#incoming", "laptop wants to send you 1 file")
	b.screenshot(t, "guest-fetch-offer", 390, 844)
	saved := expectDownload(t, b)
	b.click(t, `#incoming [data-transfer] button.fetch`)
	if got := saved(); got != sum {
		t.Fatalf("the download has SHA-256 %x, the laptop sent %x", got, sum)
	}
	b.waitText(t, "#transfers", "Handed to your browser's downloads, from laptop")
	b.waitText(t, "#transfers .sha", "SHA-256 "+hex.EncodeToString(sum[:]))
	info := awaitTransfer(t, d, out)
	if info.State != transfer.StateDone || info.Done != 48<<20 || info.Verified != 1 {
		t.Fatalf("the laptop's send: %s %q, %d done, %d complete", info.State, info.Error, info.Done, info.Verified)
	}
	var href string
	b.eval(t, `document.querySelector("#transfers a.download").href`, &href)
	if !strings.Contains(href, transfer.LinkPrefix) || !strings.HasPrefix(href, base+"/") {
		t.Fatalf("the page's link is %q, not one to the laptop at %s", href, base)
	}
	// Another token than the one given is nothing.
	other := href[:strings.Index(href, transfer.LinkPrefix)+len(transfer.LinkPrefix)] + strings.Repeat("A", 32) + "/long%20video.bin"
	var status int
	b.eval(t, fmt.Sprintf(`fetch(%q).then((r) => r.status)`, other), &status)
	if status != http.StatusNotFound {
		t.Fatalf("a made-up link answered %d", status)
	}
	b.screenshot(t, "guest-downloaded", 390, 844)
	b.screenshot(t, "guest-downloaded", 1280, 800)
}
