package daemon

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// newTwoPhoneLAN makes a LAN with two phones on it: two network
// namespaces, each joined by a veth pair to one Linux bridge here. The
// bridge carries the host's address, where daemons listen (hostAddr,
// hostIf of both guestLANs), so the two browsers reach the daemons and each
// other at layer 2 through the bridge, and either phone's link can be cut
// alone with `ip -n NS link set eth0 down`. It removes the namespaces (the
// veths go with them) and the bridge when the test ends, and skips where
// namespaces cannot be made, unless CI is set.
func newTwoPhoneLAN(t *testing.T) (one, two *guestLAN) {
	t.Helper()
	skip := func(why string, args ...any) {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set, and "+why, args...)
		}
		t.Skipf("skipped: "+why, args...)
	}
	if os.Geteuid() != 0 {
		skip("network namespaces need root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		skip("iproute2's ip command is not installed")
	}
	n := guestLANs.Add(1) // shared with newGuestLAN: one network each
	octet := 80 + os.Getpid()%100
	tag := fmt.Sprintf("%d%d", os.Getpid()%10000, n)
	bridge := "fyb" + tag
	host := fmt.Sprintf("10.%d.%d.1", octet, n%250)
	phones := []*guestLAN{
		{ns: "fyp" + tag + "a", hostIf: bridge, hostAddr: host, guestAddr: fmt.Sprintf("10.%d.%d.2", octet, n%250)},
		{ns: "fyp" + tag + "b", hostIf: bridge, hostAddr: host, guestAddr: fmt.Sprintf("10.%d.%d.3", octet, n%250)},
	}
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	if out, err := exec.Command("ip", "link", "add", bridge, "type", "bridge").CombinedOutput(); err != nil {
		skip("cannot create a bridge: %v %s", err, out)
	}
	t.Cleanup(func() {
		for _, p := range phones {
			exec.Command("ip", "netns", "del", p.ns).Run()
		}
		exec.Command("ip", "link", "del", bridge).Run()
	})
	// Frames between the phones stay frames: where br_netfilter is loaded,
	// the host's firewall would see them too. Older kernels lack the knob.
	exec.Command("ip", "link", "set", bridge, "type", "bridge", "nf_call_iptables", "0").Run()
	ip("addr", "add", host+"/24", "dev", bridge)
	ip("link", "set", bridge, "addrgenmode", "none")
	ip("link", "set", bridge, "up")
	for i, p := range phones {
		if out, err := exec.Command("ip", "netns", "add", p.ns).CombinedOutput(); err != nil {
			skip("cannot create a network namespace: %v %s", err, out)
		}
		// No IPv6 on the link, as in newGuestLAN: its late link-local
		// addresses make Chromium fail requests in flight.
		exec.Command("ip", "netns", "exec", p.ns, "sh", "-c",
			"echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6; echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6").Run()
		port := fmt.Sprintf("fyw%s%c", tag, 'a'+i)
		ip("link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", p.ns)
		ip("link", "set", port, "addrgenmode", "none")
		ip("link", "set", port, "master", bridge)
		ip("link", "set", port, "up")
		ip("-n", p.ns, "link", "set", "lo", "up")
		ip("-n", p.ns, "addr", "add", p.guestAddr+"/24", "dev", "eth0")
		ip("-n", p.ns, "link", "set", "eth0", "up")
		ip("-n", p.ns, "route", "add", "224.0.0.0/4", "dev", "eth0")
		// Chromium gathers candidates only on the interface of its default
		// route; an on-link route keeps everything inside the bridge.
		ip("-n", p.ns, "route", "add", "default", "dev", "eth0")
	}
	return phones[0], phones[1]
}

// setPhoneLink takes the phone's link down or up ("down", "up").
func setPhoneLink(t *testing.T, p *guestLAN, state string) {
	t.Helper()
	if out, err := exec.Command("ip", "-n", p.ns, "link", "set", "eth0", state).CombinedOutput(); err != nil {
		t.Fatalf("ip -n %s link set eth0 %s: %v %s", p.ns, state, err, out)
	}
}

// sent is what a page says of a transfer it sends (ui/js/engine/outgoing.js).
type sent struct {
	State     string
	Bytes     int64
	Done      int64
	SentBytes int64
	Continued int64
	Resumed   []int64
	Restarted []string
}

// watchSending makes the page's list of transfers it sends reachable as
// window.ferrySending, for waitTrue.
func watchSending(t *testing.T, b *browser) {
	t.Helper()
	b.eval(t, `import('/js/engine/outgoing.js').then((m) => { window.ferrySending = m.sending; return true; })`, nil)
}

// sending returns what the page says of the transfers it has sent since it loaded.
func sending(t *testing.T, b *browser) []sent {
	t.Helper()
	var s []sent
	b.eval(t, `import('/js/engine/outgoing.js').then((m) => m.sending.map((t) => ({
		state: t.state, bytes: t.bytes, done: t.done, sentBytes: t.sentBytes, continued: t.continued, resumed: t.resumed, restarted: t.restarted,
	})))`, &s)
	return s
}

// inFlightSlack bounds the file bytes a cut link can lose, which the sender
// sends again: what it had queued on the data channel (it queues while
// bufferedAmount is at most the high mark, 4 MiB, so at most that plus one
// chunk of 64 KiB) and what SCTP had sent and not yet had acknowledged,
// which the receiver's window bounds (Chromium's dcsctp advertises 5 MiB at
// most). The receiver goes on from every byte that reached the page.
const inFlightSlack = 4<<20 + 64<<10 + 5<<20

// b2bPages starts a daemon on a two-phone LAN and a guest page on each
// phone, the sender's link slowed to rate so a file is on its way long
// enough to cut it mid-transfer. It returns the pages and the receiver's ID.
func b2bPages(t *testing.T, rate string) (snd, rcv *browser, pSnd, pRcv *guestLAN, rcvID string) {
	t.Helper()
	pSnd, pRcv = newTwoPhoneLAN(t)
	shapeLink(t, pSnd.ns, "eth0", rate)
	_, base := startLANDaemon(t, pSnd, "laptop", nil)
	snd = guestPage(t, pSnd, base+"/")
	rcv = guestPage(t, pRcv, base+"/")
	showPageOnFailure(t, snd)
	showPageOnFailure(t, rcv)
	sndID, rcvID := guestID(t, snd), guestID(t, rcv)
	snd.waitTrue(t, fmt.Sprintf(`document.querySelector('#people li[data-member=%q]') !== null`, rcvID))
	rcv.waitTrue(t, fmt.Sprintf(`document.querySelector('#people li[data-member=%q]') !== null`, sndID))
	return snd, rcv, pSnd, pRcv, rcvID
}

// startB2B sends the file at src from snd to the page with ID rcvID, whose
// person accepts, and waits until `after` file bytes have gone out.
func startB2B(t *testing.T, snd, rcv *browser, rcvID, src string, after int64) {
	t.Helper()
	watchSending(t, snd)
	sendFromPage(t, snd, rcvID, src)
	rcv.waitText(t, "#incoming", "wants to send you 1 file")
	rcv.click(t, `#incoming [data-transfer] button.accept`)
	snd.waitTrue(t, fmt.Sprintf(`(window.ferrySending.at(-1)?.sentBytes || 0) >= %d`, after))
}

// outage keeps the phone's link down for about ten seconds from the cut:
// long enough that the sender's connection goes disconnected and its ICE
// restart finds nobody at first, short enough for that restart or its
// reconnect attempts. It holds the link down
// for that time on purpose; it waits for no event with it.
func outage(t *testing.T, p *guestLAN, snd *browser) {
	t.Helper()
	cut := time.Now()
	setPhoneLink(t, p, "down")
	snd.waitText(t, "#transfers", "lost; reconnecting")
	t.Logf("the sender paused %v after the cut", time.Since(cut).Round(time.Millisecond))
	<-time.After(time.Until(cut.Add(10 * time.Second)))
	setPhoneLink(t, p, "up")
}

// finishB2B waits for both pages to report the file verified, checks the
// received file's SHA-256 outside the page, and returns what the sender
// says of its transfer.
func finishB2B(t *testing.T, snd, rcv *browser, name string, sum [32]byte) sent {
	t.Helper()
	rcv.waitText(t, "#transfers", "every file verified")
	snd.waitText(t, "#transfers", "every file verified")
	if got := saveReceived(t, rcv, name); got != sum {
		t.Fatalf("the receiving page holds a file with SHA-256 %x, the sender's is %x", got, sum)
	}
	s := sending(t, snd)
	if len(s) == 0 {
		t.Fatal("the sending page lists no transfer")
	}
	return s[len(s)-1]
}

// TestB2BReceiverLinkDrops: a browser sends another browser a file; the
// receiving phone's link goes down for ten seconds mid-file. The sender
// shows the transfer paused, and once the link is back either its ICE
// restart brings the session back (nothing sent twice) or it makes a new
// session and the receiver goes on from the bytes it holds (no more file
// bytes sent than the file's size and what the cut lost in flight); the
// file verifies.
func TestB2BReceiverLinkDrops(t *testing.T) {
	testB2BLinkDrops(t, false)
}

// TestB2BSenderLinkDrops is TestB2BReceiverLinkDrops with the sending
// phone's link cut.
func TestB2BSenderLinkDrops(t *testing.T) {
	testB2BLinkDrops(t, true)
}

func testB2BLinkDrops(t *testing.T, cutSender bool) {
	snd, rcv, pSnd, pRcv, rcvID := b2bPages(t, "40mbit")
	const size = 32 << 20
	src, sum := randomFile(t, "walk.bin", size)
	startB2B(t, snd, rcv, rcvID, src, 8<<20)
	cut := pRcv
	if cutSender {
		cut = pSnd
	}
	// The receiver holds at least what it had acknowledged.
	acked := sending(t, snd)[0].Done
	outage(t, cut, snd)
	got := finishB2B(t, snd, rcv, "walk.bin", sum)
	if len(got.Resumed) == 1 {
		// The sender's ICE restart brought the session back once the link
		// was: nothing was resumed, so nothing may have gone twice.
		if got.SentBytes != size {
			t.Fatalf("the session was restarted in place, yet %d file bytes went out for a file of %d", got.SentBytes, size)
		}
		t.Logf("restarted in place: %d file bytes sent for %d", got.SentBytes, size)
		return
	}
	if got.Resumed[1] < acked {
		t.Fatalf("the sessions started at %v; the receiver had acknowledged %d bytes before the cut", got.Resumed, acked)
	}
	if got.SentBytes < size || got.SentBytes > size+int64(len(got.Resumed)-1)*inFlightSlack {
		t.Fatalf("%d file bytes went out in %d sessions for a file of %d (slack %d a cut)", got.SentBytes, len(got.Resumed), size, inFlightSlack)
	}
	t.Logf("sessions started at %v; %d file bytes sent for %d: %d sent again", got.Resumed, got.SentBytes, size, got.SentBytes-size)
}

// TestB2BSenderReloads: the sending page is reloaded mid-file, which loses
// the File it held. Its person picks the same file again for the same
// browser, whose person accepts; the receiver holds the first try's bytes
// in memory (a plain-HTTP page) and, the sender being the same guest with
// the same certificate, continues from them: the sender says so, and sends
// exactly the bytes the receiver was missing: nothing is lost in flight in
// the new session, so the count needs no slack.
func TestB2BSenderReloads(t *testing.T) {
	snd, rcv, _, _, rcvID := b2bPages(t, "40mbit")
	const size = 32 << 20
	src, sum := randomFile(t, "album.bin", size)
	startB2B(t, snd, rcv, rcvID, src, 10<<20)
	before := sending(t, snd)[0]
	snd.run(t, chromedp.Reload())
	snd.waitText(t, "#link-state", "Connected")
	rcv.waitText(t, "#transfers", "lost; reconnecting")
	snd.waitTrue(t, fmt.Sprintf(`document.querySelector('#people li[data-member=%q]') !== null`, rcvID))
	watchSending(t, snd)
	sendFromPage(t, snd, rcvID, src)
	rcv.waitText(t, "#incoming", "wants to send you 1 file")
	rcv.click(t, `#incoming [data-transfer] button.accept`)
	snd.waitText(t, "#transfers", "Continuing: ")
	snd.waitText(t, "#transfers", "already had")
	// The receiver's first transfer ends, handed over, its bytes kept.
	rcv.waitText(t, "#transfers", "are coming again from")
	got := finishB2B(t, snd, rcv, "album.bin", sum)
	if got.Continued < before.Done || got.Continued > size {
		t.Fatalf("the receiver continued from %d bytes; it had told of %d before the reload", got.Continued, before.Done)
	}
	if got.SentBytes != size-got.Continued || len(got.Restarted) > 0 {
		t.Fatalf("after the reload %d file bytes went out for the %d the receiver was missing (restarted %q)", got.SentBytes, size-got.Continued, got.Restarted)
	}
	t.Logf("before the reload %d bytes were sent and %d acknowledged; the receiver held %d; after it %d were sent", before.SentBytes, before.Done, got.Continued, got.SentBytes)
}

// TestB2BReceiverReloads: a browser receiving from another browser into the
// browser's storage (a secure page, the HTTPS mode) is reloaded mid-file.
// What it held and where the transfer stood outlive the reload; the
// sender's next session finds the transfer taken up again and goes on from
// there, and the file verifies. The sender sends again at most what was in
// flight at the reload and what the receiver had not yet saved where it
// stands (it saves every 4 MiB once the bytes are on disk).
func TestB2BReceiverReloads(t *testing.T) {
	pSnd, pRcv := newTwoPhoneLAN(t)
	shapeLink(t, pSnd.ns, "eth0", "40mbit")
	d, base := startLANDaemon(t, pSnd, "laptop", func(c *Config) { c.HTTPS = true })
	snd := guestPage(t, pSnd, base+"/")
	rcv := newBrowser(t, inNamespace(pRcv.ns), ignoringCertificateErrors())
	showPageOnFailure(t, snd)
	showPageOnFailure(t, rcv)
	rcv.open(t, "https://"+d.HTTPSAddr().String()+"/")
	rcv.waitText(t, "#link-state", "Connected to laptop")
	rcv.waitText(t, "#limits", "written to this browser's storage")
	rcvID := guestID(t, rcv)
	snd.waitTrue(t, fmt.Sprintf(`document.querySelector('#people li[data-member=%q]') !== null`, rcvID))
	const size = 32 << 20
	src, sum := randomFile(t, "film.bin", size)
	startB2B(t, snd, rcv, rcvID, src, 10<<20)
	acked := sending(t, snd)[0].Done
	rcv.run(t, chromedp.Reload())
	snd.waitText(t, "#transfers", "lost; reconnecting")
	got := finishB2B(t, snd, rcv, "film.bin", sum)
	const unsaved = 4<<20 + 1<<20 // a save's worth, and the receiver's progress lags by up to 1 MiB
	if len(got.Resumed) < 2 || got.Resumed[1] < acked-unsaved {
		t.Fatalf("the sessions started at %v; the receiver had acknowledged %d bytes before the reload", got.Resumed, acked)
	}
	if got.SentBytes < size || got.SentBytes > size+inFlightSlack+unsaved {
		t.Fatalf("%d file bytes went out in %d sessions for a file of %d (slack %d)", got.SentBytes, len(got.Resumed), size, inFlightSlack+unsaved)
	}
	t.Logf("acknowledged %d before the reload; sessions started at %v; %d file bytes sent for %d: %d sent again", acked, got.Resumed, got.SentBytes, size, got.SentBytes-size)
}
