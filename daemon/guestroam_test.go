package daemon

import (
	"os/exec"
	"strings"
	"testing"
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
	l, d, b, id := shapedGuest(t)
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

	_, sent := phoneSendsThrough(t, d, b, id, size, func() {
		watchReconnects()
		roam(t, l, prefix+".77")
	})
	if sent < size || sent > size+inFlightSlack {
		t.Errorf("the phone put %d bytes on the wire for a file of %d", sent, size)
	}

	// Its socket to the laptop's hub went with the old address, silently:
	// the page noticed when its ping went unanswered, and opened another.
	backOnHub()

	// The laptop sends to the phone, which roams again.
	info := laptopSendsThrough(t, d, b, id, size, func() {
		watchReconnects()
		roam(t, l, prefix+".78")
	})
	backOnHub()
	if info.Sent < size || info.Sent > size+inFlightSlack {
		t.Errorf("the laptop put %d bytes on the wire for a file of %d", info.Sent, size)
	}
}
