package daemon

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/ferry-dev/ferry/daemon/datadir"
	"github.com/ferry-dev/ferry/daemon/proto"
)

// rogueJS is a browser peer that breaks the file protocol on purpose. Run
// in a guest page, it says hello to the page's daemon as a guest of its
// own, opens a WebRTC connection to the daemon with the protocol's two
// channels, offers one file of 8 bytes called bad.bin, and then does what
// the step says. It ignores the daemon's a=max-message-size, as a hostile
// peer would. It resolves to the first error or decline the daemon sends,
// as "code: text", or to "closed" if the connection closes first. In step
// third-channel it opens a third data channel, and resolves to what
// happens first on its control channel.
const rogueJS = `(async (daemon, step) => {
	const { ControlLabel, DataLabel, encodeControl, putChunkHeader, ChunkHeaderBytes } = await import('/js/codec.js');
	const { randomID } = await import('/js/hub.js');
	const me = 'g-rogue' + randomID(8);
	const ws = new WebSocket('ws://' + location.host + '/ws');
	const conn = randomID(16);
	const session = Date.now();
	const pc = new RTCPeerConnection();
	const ctrl = pc.createDataChannel(ControlLabel);
	const data = pc.createDataChannel(DataLabel);
	if (step === 'third-channel') pc.createDataChannel('ferry-extra');
	ctrl.binaryType = data.binaryType = 'arraybuffer';
	const answers = [];
	let wake = () => {};
	ctrl.onmessage = (e) => { answers.push(JSON.parse(e.data)); wake(); };
	ctrl.onclose = () => { answers.push({ type: 'closed' }); wake(); };
	const next = async () => {
		while (!answers.length) await new Promise((ok) => (wake = ok));
		return answers.shift();
	};
	const send = (m) => ws.send(JSON.stringify({ v: 1, to: daemon, conn, session, ...m }));
	// Candidates go after the offer, as the protocol asks.
	const held = [];
	let offered = false;
	pc.onicecandidate = (e) => {
		if (!e.candidate) return;
		if (offered) send({ type: 'candidate', candidate: e.candidate.toJSON() });
		else held.push(e.candidate.toJSON());
	};
	await new Promise((ok) => (ws.onopen = ok));
	ws.send(JSON.stringify({ v: 1, type: 'hello', kind: 'guest', from: me, name: 'Rogue' }));
	// The daemon's candidates may come before its answer: they wait for it.
	let answered = null;
	const early = [];
	ws.onmessage = (e) => {
		const m = JSON.parse(e.data);
		if (m.conn !== conn) return;
		if (m.type === 'answer') {
			answered = pc.setRemoteDescription({ type: 'answer', sdp: m.sdp.replace(/a=max-message-size:\d+/, 'a=max-message-size:1073741823') })
				.then(() => Promise.all(early.map((c) => pc.addIceCandidate(c))));
		} else if (m.type === 'candidate') {
			if (answered) answered = answered.then(() => pc.addIceCandidate(m.candidate));
			else early.push(m.candidate);
		}
	};
	await pc.setLocalDescription(await pc.createOffer());
	send({ type: 'offer', sdp: pc.localDescription.sdp });
	offered = true;
	for (const c of held) send({ type: 'candidate', candidate: c });
	const opened = Promise.all([ctrl, data].map((ch) => new Promise((ok) => (ch.onopen = ok))));
	if (step === 'third-channel') return (await next()).type;
	await opened;
	const chunk = (file, offset, payload) => {
		const b = new Uint8Array(ChunkHeaderBytes + payload.length);
		putChunkHeader(b, file, offset);
		b.set(payload, ChunkHeaderBytes);
		data.send(b);
	};
	const bytes = new TextEncoder().encode('abcdefgh');
	if (step === 'oversized') {
		ctrl.send(encodeControl({ type: 'offer', transfer: conn, name: 'x'.repeat(70000), count: 1, bytes: 8, entries: [{ path: 'bad.bin', size: 8 }] }));
	} else {
		ctrl.send(encodeControl({ type: 'offer', transfer: conn, name: 'Rogue', count: 1, bytes: 8, entries: [{ path: 'bad.bin', size: 8 }] }));
		const a = await next();
		if (a.type !== 'accept') return 'no accept but ' + JSON.stringify(a);
		if (step === 'unknown-file') chunk(7, 0, bytes);
		if (step === 'wrong-offset') chunk(0, 4, bytes);
		if (step === 'past-the-end') chunk(0, 0, new TextEncoder().encode('abcdefghijkl'));
		if (step === 'bad-hash') {
			chunk(0, 0, bytes);
			ctrl.send(encodeControl({ type: 'file-end', file: 0, sha256: '0'.repeat(64) }));
		}
	}
	for (;;) {
		const m = await next();
		if (m.type === 'error' || m.type === 'decline') { pc.close(); ws.close(); return m.code + ': ' + m.text; }
		if (m.type === 'closed') return 'closed';
	}
})`

// TestGuestBadInput: a browser peer that breaks the protocol gets the
// protocol's error code for each fault, and nothing lands under a final
// name, though this daemon accepts everything.
func TestGuestBadInput(t *testing.T) {
	l := newGuestLAN(t)
	d, base := startLANDaemon(t, l, "laptop", func(c *Config) { c.Accept = datadir.AcceptAll })
	b := guestPage(t, l, base+"/")
	for _, c := range []struct{ step, code, text string }{
		{"oversized", proto.CodeTooLarge, "control message is 70"},
		{"third-channel", "closed", ""},
		{"unknown-file", proto.CodeUnknownFile, "chunk for file 7"},
		{"wrong-offset", proto.CodeBadOffset, "expected offset 0"},
		{"past-the-end", proto.CodeTooManyBytes, "more bytes than announced for bad.bin"},
		{"bad-hash", proto.CodeHashMismatch, "bad.bin"},
	} {
		var got string
		b.eval(t, fmt.Sprintf("%s(%q, %q)", rogueJS, d.ID().String(), c.step), &got)
		t.Logf("%s: %s", c.step, got)
		if c.code == "closed" && got == "closed" {
			continue
		}
		if !strings.HasPrefix(got, c.code+": ") || !strings.Contains(got, c.text) {
			t.Errorf("%s: the daemon answered %q, want %s with %q", c.step, got, c.code, c.text)
		}
		entries, err := os.ReadDir(d.cfg.Downloads)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		for _, e := range entries {
			if !strings.HasPrefix(e.Name(), ".") {
				t.Errorf("%s: %s is in the downloads", c.step, e.Name())
			}
		}
	}
	b.assertClean(t)
}
