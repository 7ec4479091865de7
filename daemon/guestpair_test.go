package daemon

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// pairingCode waits until the page shows a pairing code and returns it.
func pairingCode(t *testing.T, b *browser) string {
	t.Helper()
	b.waitTrue(t, `(document.querySelector('#pair textarea.pair-code')?.value || '').startsWith('FERRY-PAIR-1:')`)
	var code string
	b.eval(t, `document.querySelector('#pair textarea.pair-code').value`, &code)
	return code
}

// pastePairing pastes a pairing code into the page's form and submits it.
func pastePairing(t *testing.T, b *browser, code string) {
	t.Helper()
	b.run(t, chromedp.SetValue("#pair-text", code))
	b.click(t, `#pair-form button[type=submit]`)
}

// TestGuestsPairByCode: two pages from two computers that do not know each
// other, so neither lists the other, pair by passing an offer and an
// answer by hand, as two phones on a network that hides them from each
// other would; then a file goes from one to the other, verified, over a
// connection signaled through the pairing. A pasted code that is not one
// is answered in words.
func TestGuestsPairByCode(t *testing.T) {
	l := newGuestLAN(t)
	_, baseA := startLANDaemon(t, l, "alpha", nil)
	_, baseB := startLANDaemon(t, l, "bravo", nil)
	one := guestPage(t, l, baseA+"/")
	two := guestPage(t, l, baseB+"/")
	idOne, idTwo := guestID(t, one), guestID(t, two)
	for _, b := range []*browser{one, two} {
		t.Cleanup(func() {
			if t.Failed() {
				var s string
				b.eval(t, `document.querySelector('main').innerText`, &s)
				t.Logf("page: %s\nproblems: %q", s, b.problems())
			}
		})
	}

	pastePairing(t, two, "FERRY-PAIR-1:bm90IGEgY29kZQ")
	two.waitText(t, "#pair-note", "not a pairing text: malformed JSON")

	one.click(t, "#pair-offer")
	offer := pairingCode(t, one)
	one.screenshot(t, "guest-pair-offer", 390, 844)
	pastePairing(t, two, offer)
	answer := pairingCode(t, two)
	if answer == offer || !strings.HasPrefix(answer, "FERRY-PAIR-1:") {
		t.Fatalf("the answer is %q", answer)
	}
	pastePairing(t, one, answer)
	one.waitText(t, "#pair", "Paired with")
	two.waitText(t, "#pair", "Paired with")
	one.waitTrue(t, fmt.Sprintf(`document.querySelector('#people li[data-member=%q] .tag.paired') !== null`, idTwo))
	two.waitTrue(t, fmt.Sprintf(`document.querySelector('#people li[data-member=%q] .tag.paired') !== null`, idOne))

	src, sum := randomFile(t, "paired.bin", 4<<20+5)
	sendFromPage(t, one, idTwo, src)
	two.waitText(t, "#incoming", "wants to send you 1 file")
	two.click(t, `#incoming [data-transfer] button.accept`)
	two.waitText(t, "#transfers", "every file verified")
	one.waitText(t, "#transfers", "every file verified")
	if got := saveReceived(t, two, "paired.bin"); got != sum {
		t.Fatalf("the page holds a file with SHA-256 %x, the other page sent %x", got, sum)
	}

	two.run(t, chromedp.SetValue("#message-to", idOne), chromedp.SetValue("#message-text", "hello over the pairing"))
	two.click(t, `#message-form button[type=submit]`)
	one.waitText(t, "#messages", "hello over the pairing")
	one.waitText(t, "#transfers", "Checked against the pairing code")
	two.waitText(t, "#transfers", "Checked against the pairing code")
	one.screenshot(t, "guest-paired", 390, 844)
	one.assertClean(t)
	two.assertClean(t)
}
