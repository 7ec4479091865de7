package daemon

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-dev/ferry/daemon/datadir"
	"github.com/ferry-dev/ferry/daemon/transfer"
)

// roam gives the namespace's end of the LAN another address and takes the
// old one away, as a phone that roams to another access point and gets a
// new lease does: every connection from the old address is dead, and no
// error says so.
func roam(t *testing.T, l *guestLAN, to string) {
	t.Helper()
	for _, args := range [][]string{
		// The new address is a secondary one until the old goes; without
		// promotion the kernel would drop it with the old primary.
		{"netns", "exec", l.ns, "sysctl", "-qw", "net.ipv4.conf.eth0.promote_secondaries=1"},
		{"-n", l.ns, "addr", "add", to + "/24", "dev", "eth0"},
		{"-n", l.ns, "addr", "del", l.guestAddr + "/24", "dev", "eth0"},
		{"-n", l.ns, "route", "replace", "default", "dev", "eth0"},
		{"-n", l.ns, "route", "replace", "224.0.0.0/4", "dev", "eth0"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v %s", strings.Join(args, " "), err, out)
		}
	}
	l.guestAddr = to
}

// TestGuestRoams: a phone's address changes in the middle of a file, in
// each direction. The page notices that its connection to the laptop's
// hub died with the old address (it asks, and nothing answers), opens a
// new one, and both files arrive whole, each byte sent at most once more
// than in flight.
func TestGuestRoams(t *testing.T) {
	l := newGuestLAN(t)
	shapeLink(t, "", l.hostIf, "40mbit")
	shapeLink(t, l.ns, "eth0", "40mbit")
	d, base := startLANDaemon(t, l, "laptop", func(c *Config) { c.Accept = datadir.AcceptAll })
	b := guestPage(t, l, base+"/")
	id := guestID(t, b)
	showPageOnFailure(t, b)
	const size = 32 << 20
	prefix := l.guestAddr[:strings.LastIndex(l.guestAddr, ".")]

	// The page's link pill says "Reconnecting" while it has no hub.
	watchReconnects := func() {
		b.eval(t, `window.reconnecting = 0; new MutationObserver(() => {
			if (document.getElementById('link-state').textContent.startsWith('Reconnecting')) window.reconnecting++;
		}).observe(document.getElementById('link-state'), {childList: true, characterData: true, subtree: true}); true`, nil)
	}
	backOnHub := func() {
		b.waitTrue(t, `window.reconnecting > 0 && document.getElementById('link-state').textContent.startsWith('Connected')`)
	}

	src, sum := randomFile(t, "from the phone.bin", size)
	sendFromPage(t, b, d.ID().String(), src)
	in := incomingFrom(t, d, id, 8<<20)
	watchReconnects()
	roam(t, l, prefix+".77")
	info := awaitTransfer(t, d, in.ID)
	if info.State != transfer.StateDone {
		t.Fatalf("the phone's send: %s %q", info.State, info.Error)
	}
	if got := fileSum(t, filepath.Join(d.cfg.Downloads, "from the phone.bin")); got != sum {
		t.Fatalf("the laptop holds a file with SHA-256 %x, the phone sent %x", got, sum)
	}
	sent := sending(t, b)
	t.Logf("the phone's send: resumed at %v, %d bytes on the wire", info.Resumed, sent[0].SentBytes)
	if sent[0].SentBytes < size || sent[0].SentBytes > size+inFlightSlack {
		t.Errorf("the phone put %d bytes on the wire for a file of %d", sent[0].SentBytes, size)
	}

	// Its socket to the laptop's hub went with the old address, silently:
	// the page noticed when its ping went unanswered, and opened another.
	backOnHub()

	// The laptop sends to the phone, which roams again.
	src, sum = randomFile(t, "to the phone.bin", size)
	out, err := transfers{d}.Send(id, []string{src})
	if err != nil {
		t.Fatal(err)
	}
	b.click(t, `#incoming [data-transfer] button.accept`)
	awaitInfo(t, d, out, "8 MiB sent", func(i transfer.Info) bool { return i.Done >= 8<<20 })
	watchReconnects()
	roam(t, l, prefix+".78")
	info = awaitTransfer(t, d, out)
	backOnHub()
	t.Logf("the laptop's send: %s, resumed at %v, %d bytes on the wire", info.State, info.Resumed, info.Sent)
	if info.State != transfer.StateDone || info.Sent < size || info.Sent > size+inFlightSlack {
		t.Errorf("the laptop's send: %s %q, %d bytes on the wire for a file of %d", info.State, info.Error, info.Sent, size)
	}
	b.waitText(t, "#transfers", "Received from laptop, every file verified")
	if got := saveReceived(t, b, "to the phone.bin"); got != sum {
		t.Fatalf("the phone holds a file with SHA-256 %x, the laptop sent %x", got, sum)
	}
}
