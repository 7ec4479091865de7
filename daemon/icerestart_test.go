package daemon

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ferry-dev/ferry/daemon/transfer"
)

// dropPath drops every UDP packet that the process called proc in the
// namespace sends from the ports its connections use now, as a firewall or
// a NAT that forgets a flow does: the connection's path is dead, the hub
// (TCP) is untouched, and a connection gathered anew, on new ports, gets
// through. It returns the ports.
func dropPath(t *testing.T, l *guestLAN, proc string) []int {
	t.Helper()
	// The ICE sockets are the unconnected ones; Chromium's DNS sockets are
	// connected, and 5353 is mDNS.
	out, err := exec.Command("ip", "netns", "exec", l.ns, "ss", "-uanpH").CombinedOutput()
	if err != nil {
		t.Fatalf("ss: %v %s", err, out)
	}
	var ports []int
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 4 || fields[0] != "UNCONN" || !strings.Contains(line, `(("`+proc+`"`) {
			continue
		}
		local := fields[3]
		port, err := strconv.Atoi(local[strings.LastIndex(local, ":")+1:])
		if err != nil {
			t.Fatalf("ss gave a local address %q", local)
		}
		if port != 5353 {
			ports = append(ports, port)
		}
	}
	if len(ports) == 0 {
		t.Fatalf("%s has no ICE socket:\n%s", proc, out)
	}
	tc := func(args ...string) string {
		out, err := exec.Command("tc", append([]string{"-n", l.ns}, args...)...).CombinedOutput()
		if err != nil {
			// As shapeLink: a kernel without htb or u32 cannot run it.
			t.Skipf("skipped: cannot drop a path with tc: tc %s: %v %s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	// Without tc's drop action in every kernel, the packets go to a class
	// that lets a packet through every few minutes, and queues one.
	// Everything else keeps the link's 40 Mbit/s.
	if !strings.Contains(tc("qdisc", "show", "dev", "eth0"), "htb") {
		tc("qdisc", "replace", "dev", "eth0", "root", "handle", "1:", "htb", "default", "10")
		tc("class", "add", "dev", "eth0", "parent", "1:", "classid", "1:10", "htb", "rate", "40mbit", "burst", "256kb")
		tc("class", "add", "dev", "eth0", "parent", "1:", "classid", "1:20", "htb", "rate", "8bit", "ceil", "8bit", "burst", "1", "cburst", "1")
		tc("qdisc", "add", "dev", "eth0", "parent", "1:20", "handle", "20:", "pfifo", "limit", "1")
	}
	for _, p := range ports {
		tc("filter", "add", "dev", "eth0", "parent", "1:", "protocol", "ip", "prio", "1", "u32",
			"match", "ip", "protocol", "17", "0xff", "match", "ip", "sport", strconv.Itoa(p), "0xffff", "flowid", "1:20")
	}
	return ports
}

// TestGuestICERestart: the path of a connection between a phone and a
// laptop dies in the middle of a file while the hub stays up, in each
// direction. The offerer (the page when it sends, the daemon when the
// laptop sends) restarts ICE on the same session: the transfer goes on
// where it was, with no new session and no resume, every byte put on the
// channel once, and the page says it is reconnecting meanwhile.
func TestGuestICERestart(t *testing.T) {
	l, d, b, id := shapedGuest(t)
	const size = 32 << 20

	watchPaused := func() {
		b.eval(t, `window.paused = 0; new MutationObserver(() => {
			if (document.getElementById('transfers').textContent.includes('reconnecting')) window.paused++;
		}).observe(document.body, {childList: true, characterData: true, subtree: true}); true`, nil)
	}

	cut := func() {
		watchPaused()
		t.Logf("dropping UDP on the page's ports %v", dropPath(t, l, "chromium"))
	}
	info, sent := phoneSendsThrough(t, d, b, id, size, cut)
	if len(info.Resumed) != 0 || sent != size {
		t.Errorf("the phone's send was made again (resumed at %v, %d bytes on the channel for a file of %d), not restarted in place", info.Resumed, sent, size)
	}
	b.waitTrue(t, `window.paused > 0`)

	// The laptop sends; the path dies again.
	info = laptopSendsThrough(t, d, b, id, size, cut)
	if len(info.Resumed) != 0 || info.Sent != size {
		t.Errorf("the laptop's send was made again (resumed at %v, %d bytes on the channel for a file of %d), not restarted in place", info.Resumed, info.Sent, size)
	}
	b.waitTrue(t, `window.paused > 0`)
}

// ferryInNamespace runs `ferry run` called name inside the LAN's namespace,
// as a second computer on the Wi-Fi, receiving every file, and returns the
// address of its hub. It stops the process when the test ends.
func ferryInNamespace(t *testing.T, l *guestLAN, name string) string {
	t.Helper()
	dir := t.TempDir()
	f := &ferryProc{drained: make(chan struct{}), log: filepath.Join(dir, "ferry.log")}
	// ip netns exec execs ferry: the process is ferry itself.
	f.cmd = exec.Command("ip", "netns", "exec", l.ns, ferryBinary(t), "run", "--data-dir", filepath.Join(dir, "data"),
		"--downloads", filepath.Join(dir, "downloads"), "--name", name, "--port", "0", "--interfaces", "eth0",
		"--mdns=false", "--accept", "all", "--log-file", f.log)
	line := f.start(t)
	// ferry VERSION: NAME (ID) on port N, saving to ...
	m := regexp.MustCompile(`on port (\d+)`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("ferry run printed %q", line)
	}
	return l.guestAddr + ":" + m[1]
}

// TestDaemonICERestart: between two computers, the receiver's UDP path
// dies in the middle of a file while its hub stays reachable. The sending
// daemon restarts ICE, the receiving one answers on its session, and the
// file goes on with no new session, every byte sent once.
func TestDaemonICERestart(t *testing.T) {
	l := newGuestLAN(t)
	shapeLink(t, "", l.hostIf, "40mbit")
	d, _ := startLANDaemon(t, l, "laptop", nil)
	hub := ferryInNamespace(t, l, "desktop")
	const size = 32 << 20
	src, _ := randomFile(t, "to the desktop.bin", size)
	id, err := transfers{d}.Send(hub, []string{src})
	if err != nil {
		t.Fatal(err)
	}
	awaitInfo(t, d, id, "8 MiB sent", func(i transfer.Info) bool { return i.Done >= 8<<20 })
	t.Logf("dropping UDP on the desktop's ports %v", dropPath(t, l, "ferry"))
	info := awaitTransfer(t, d, id)
	t.Logf("the laptop's send: %s, resumed at %v, %d bytes on the channel", info.State, info.Resumed, info.Sent)
	if info.State != transfer.StateDone || info.Verified != 1 {
		t.Fatalf("the laptop's send: %s %q, %d verified", info.State, info.Error, info.Verified)
	}
	if len(info.Resumed) != 0 || info.Sent != size {
		t.Errorf("the send was made again (resumed at %v, %d bytes on the channel for a file of %d), not restarted in place", info.Resumed, info.Sent, size)
	}
}
