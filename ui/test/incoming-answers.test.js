// The receiver's answers and ends: the size limit, decline, cancel, a lost
// connection and the sender's next session, and the naming rules of
// docs/protocol.md. See receiver.js for how it is driven.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { resolveObjectURL } from 'node:buffer';
import {
  encodeControl, decodeControl, putChunkHeader, pageEntries, ChunkHeaderBytes, MaxChunkBytes, MaxControlBytes,
} from '../js/codec.js';
import { Incoming, badPath, isFinal } from '../js/engine/incoming.js';
import {
  ONE, WITH_DIR, BAD_NAMES, TRANSFER, PAYLOAD, sha, bytesOf, flush, SpyStore, slowStore, chunkMsg, offerText, receiver, assertValid, offered, accepted, sendBytes, fileEnd, assertFailed,
} from './receiver.js';

// ---------------------------------------------------------------------------
// Incoming: memory limit, declining, cancelling

test('incoming: an offer over the memory limit sets tooBig and accept() does nothing', async (t) => {
  // Guards: a plain-HTTP page holds files in memory; it must not accept
  // more than its store's limit, and must still show the offer.
  const r = offered(t, [{ path: 'a', size: 600 }, { path: 'b', size: 500 }], { limit: 1000 });
  assert.equal(r.inc.tooBig, true);
  r.inc.accept();
  assert.equal(r.inc.state, 'pending');
  assert.deepEqual(r.sent, [], 'no accept goes out');
});

test('incoming: an offer of exactly the memory limit is not too big', async (t) => {
  // Guards: the limit is inclusive (bytes > store.limit is too big).
  const r = offered(t, [{ path: 'a', size: 1000 }], { limit: 1000 });
  assert.equal(r.inc.tooBig, false);
  r.inc.accept();
  assert.equal(r.inc.state, 'active');
});

test('incoming: decline sends decline with code declined, and the link closes a second later', async (t) => {
  // Guards: decline's message, state and the delayed close; decline only
  // from pending.
  const r = offered(t, ONE);
  r.inc.decline();
  assert.equal(r.sent.length, 1);
  assert.equal(r.last().type, 'decline');
  assert.equal(r.last().code, 'declined');
  assert.equal(r.inc.state, 'declined');
  assert.ok(isFinal(r.inc.state));
  assert.equal(r.link.closed, false);
  t.mock.timers.tick(1000);
  assert.equal(r.link.closed, true);
  r.inc.decline();
  r.inc.accept();
  assert.equal(r.sent.length, 1, 'nothing more after declining');
  assert.equal(r.inc.state, 'declined');
});

test('incoming: declining a too-big offer says why, with code declined', async (t) => {
  // Guards: the sender learns the reason is the browser's memory.
  const r = offered(t, [{ path: 'a', size: 5000 }], { limit: 1000 });
  r.inc.decline();
  assert.equal(r.last().type, 'decline');
  assert.equal(r.last().code, 'declined');
  assert.match(r.last().text, /5000 bytes/);
  assert.equal(r.inc.state, 'declined');
});

test('incoming: decline does nothing unless the offer is pending', async (t) => {
  // Guards: decline's state check (no decline while connecting or active).
  const r = receiver(t);
  r.inc.decline();
  assert.equal(r.inc.state, 'connecting');
  r.inc.control(offerText(ONE));
  r.inc.accept();
  r.inc.decline();
  assert.equal(r.inc.state, 'active');
  assert.deepEqual(r.types(), ['accept']);
});

test('incoming: cancel from the sender ends the transfer cancelled, without an answer', async (t) => {
  // Guards: a sender's cancel is final and is not answered; its text is shown.
  const r = accepted(t, [{ path: 'a', size: 10 }]);
  r.inc.chunk(chunkMsg(0, 0, bytesOf(4)));
  r.inc.control(encodeControl({ type: 'cancel', code: 'cancelled', text: 'Alice cancelled the transfer' }));
  assert.equal(r.inc.state, 'cancelled');
  assert.equal(r.inc.error, 'Alice cancelled the transfer');
  assert.deepEqual(r.types(), ['accept']);
  r.inc.chunk(chunkMsg(0, 4, bytesOf(6)));
  assert.deepEqual(r.types(), ['accept'], 'chunks after the cancel are ignored');
  assert.deepEqual(r.inc.saved, []);
});

test('incoming: cancel from the sender while pending, without text, names the sender', async (t) => {
  // Guards: the default text when the sender gives none.
  const r = offered(t, ONE, { peerName: 'Bob' });
  r.inc.control(encodeControl({ type: 'cancel', code: 'cancelled' }));
  assert.equal(r.inc.state, 'cancelled');
  assert.match(r.inc.error, /Bob/);
});

test('incoming: an error from the sender fails the transfer, without an answer', async (t) => {
  // Guards: the sender's error is shown and not answered with another error.
  const r = accepted(t, ONE);
  r.inc.control(encodeControl({ type: 'error', code: 'storage', text: 'the disk went away' }));
  assert.equal(r.inc.state, 'failed');
  assert.match(r.inc.error, /the disk went away/);
  assert.deepEqual(r.types(), ['accept']);
});

test('incoming: cancel by the person sends cancel with code cancelled, once', async (t) => {
  // Guards: the receiver's own cancel and that it does nothing once final.
  const r = accepted(t, [{ path: 'a', size: 10 }]);
  r.inc.cancel();
  assert.equal(r.inc.state, 'cancelled');
  assert.equal(r.last().type, 'cancel');
  assert.equal(r.last().code, 'cancelled');
  r.inc.cancel();
  assert.equal(r.sent.filter((m) => m.type === 'cancel').length, 1);
  t.mock.timers.tick(1000);
  assert.equal(r.link.closed, true);
});

for (const [how, end] of [
  ['the sender cancels', (r) => r.inc.control(encodeControl({ type: 'cancel', code: 'cancelled', text: 'stop' }))],
  ['the person cancels', (r) => r.inc.cancel()],
  ['the sender never comes back', (r) => { r.inc.lost(r.inc.link, new Error('gone')); r.t.mock.timers.tick(60_000); }],
]) {
  test(`incoming: the store lets go of an unfinished transfer when ${how}`, {
  }, async (t) => {
    // Guards: docs/protocol.md "Failure": unfinished files are deleted;
    // a transfer that ends without done must not keep holding its bytes.
    const r = accepted(t, [{ path: 'a', size: 10 }]);
    r.t = t;
    r.inc.chunk(chunkMsg(0, 0, bytesOf(4)));
    end(r);
    assert.ok(isFinal(r.inc.state) && r.inc.state !== 'done', r.inc.state);
    assert.ok(r.store.discarded.includes(r.inc.id), 'the store is told to discard the transfer');
    assert.equal(r.store.files.size, 0, 'no bytes held');
  });
}

test('incoming: nothing is sent on a control channel that is not open', async (t) => {
  // Guards: send() checks readyState and swallows a throwing send.
  const r = offered(t, ONE);
  r.link.ctrl.readyState = 'closing';
  r.inc.accept();
  assert.equal(r.inc.state, 'active');
  assert.deepEqual(r.sent, []);
  r.link.ctrl.readyState = 'open';
  r.link.ctrl.send = () => { throw new Error('InvalidStateError'); };
  r.inc.cancel();
  assert.equal(r.inc.state, 'cancelled');
});

test('incoming: control messages after the transfer ended change nothing', {
}, async (t) => {
  // Guards: a final state is final, as isFinal says and the daemon does.
  const a = bytesOf(3);
  const r = accepted(t, [{ path: 'a', size: 3 }]);
  r.inc.chunk(chunkMsg(0, 0, a));
  r.inc.control(fileEnd(0, sha(a)));
  await flush();
  assert.equal(r.inc.state, 'done');
  r.inc.control(encodeControl({ type: 'cancel', code: 'cancelled', text: 'too late' }));
  assert.equal(r.inc.state, 'done', 'a late cancel does not undo done');
  r.inc.control(encodeControl({ type: 'error', code: 'storage', text: 'too late' }));
  assert.equal(r.inc.state, 'done', 'a late error does not undo done');
  assert.equal(r.inc.error, '');

  const f = receiver(t);
  f.inc.control('{"type":"teleport"}');
  assert.equal(f.inc.state, 'failed');
  const text = f.inc.error;
  f.inc.control(encodeControl({ type: 'entries', entries: ONE }));
  f.inc.control(fileEnd(0, sha(a)));
  assert.equal(f.sent.length, 1, 'one error, not one per later message');
  assert.equal(f.inc.error, text, 'the first reason stays');
});

// ---------------------------------------------------------------------------
// Incoming: a lost connection and the sender's next session (resume)

/**
 * reconnecting stubs connect() so that reconnect() gives the receiver a new
 * fake link (recorded in r.links) instead of a WebRTC connection.
 */
function reconnecting(r) {
  r.links = [r.link];
  r.connects = [];
  r.inc.connect = (session, sdp) => {
    r.connects.push([session, sdp]);
    const link = { closed: false, ctrl: r.link.ctrl, close() { this.closed = true; } };
    r.links.push(link);
    r.inc.link = link;
  };
  return r;
}

test('incoming: after a lost connection, the sender\'s next session resumes at the first file not complete', async (t) => {
  // Guards: lost() marks the transfer interrupted; reconnect() takes a
  // higher session and closes the old link; the offer sent again is answered
  // accept {file, offset} from the bytes held; the bytes of both sessions
  // make one file with one hash.
  const a = bytesOf(10, 1);
  const b = bytesOf(10, 2);
  const r = reconnecting(accepted(t, [{ path: 'd', dir: true }, { path: 'd/a', size: 10 }, { path: 'b', size: 10 }]));
  sendBytes(r.inc, 1, a);
  r.inc.control(fileEnd(1, sha(a)));
  await flush();
  sendBytes(r.inc, 2, b.subarray(0, 4));
  r.inc.lost(r.link, new Error('ICE failed'));
  assert.equal(r.inc.state, 'active');
  assert.equal(r.inc.interrupted, true);
  r.inc.reconnect({ session: 2, sdp: 'v=0' });
  assert.deepEqual(r.connects, [[2, 'v=0']]);
  assert.equal(r.links[0].closed, true, 'the old link is closed');
  assert.equal(r.inc.interrupted, false);
  r.inc.control(offerText([{ path: 'd', dir: true }, { path: 'd/a', size: 10 }, { path: 'b', size: 10 }]));
  assert.deepEqual(r.last(), { type: 'accept', file: 2, offset: 4 });
  r.inc.chunk(chunkMsg(2, 4, b.subarray(4)));
  r.inc.control(fileEnd(2, sha(b)));
  await flush();
  assert.equal(r.inc.state, 'done', r.inc.error);
  assert.deepEqual(r.types(), ['accept', 'file-ok', 'accept', 'file-ok', 'done']);
  assert.deepEqual(r.inc.saved.map((x) => x.sha256), [sha(a), sha(b)], 'the resumed file is whole');
  assertValid(r);
});

test('incoming: a stale session is ignored, and a sender that does not come back fails the transfer', async (t) => {
  // Guards: reconnect() takes only a higher session; lost() gives up after
  // a minute without one.
  const r = reconnecting(accepted(t, ONE));
  r.inc.lost(r.link, new Error('gone'));
  r.inc.reconnect({ session: 1, sdp: '' });
  assert.deepEqual(r.connects, [], 'session 1 is not above the current one');
  t.mock.timers.tick(59_999);
  assert.equal(r.inc.state, 'active');
  t.mock.timers.tick(1);
  assert.equal(r.inc.state, 'failed');
  assert.match(r.inc.error, /did not come back/);
});

test('incoming: a connection lost before the offer was complete fails at once', async (t) => {
  // Guards: there is nothing to resume before the manifest is whole.
  const r = receiver(t);
  r.inc.control(offerText(ONE, 2));
  r.inc.lost(r.link, new Error('gone'));
  assert.equal(r.inc.state, 'failed');
});

test('incoming: an offer that changed on reconnecting is refused', async (t) => {
  // Guards: replay() holds the sender to the same transfer and count.
  const r = reconnecting(accepted(t, ONE));
  r.inc.reconnect({ session: 2, sdp: '' });
  r.inc.control(offerText([...ONE, { path: 'b', size: 1 }]));
  await assertFailed(t, r, 'bad-message');
});

test('incoming: a reconnect while the offer is still paged lets the manifest complete', {
}, async (t) => {
  // Guards: a sender that reconnects mid-offer sends the whole offer again;
  // the receiver must end up pending (or failed), never stuck.
  const entries = [{ path: 'a', size: 1 }, { path: 'b', size: 1 }];
  const r = reconnecting(receiver(t));
  r.inc.control(offerText(entries.slice(0, 1), 2));
  r.inc.reconnect({ session: 2, sdp: '' });
  r.inc.control(offerText(entries.slice(0, 1), 2));
  r.inc.control(encodeControl({ type: 'entries', entries: entries.slice(1) }));
  assert.equal(r.inc.state, 'pending');
  assert.deepEqual(r.inc.entries.map((e) => e.path), ['a', 'b']);
});

// ---------------------------------------------------------------------------
// badPath against docs/protocol.md ("An entry ... The receiver refuses a
// manifest (error bad-name) with a path that ...")

test('badPath accepts ordinary relative paths', () => {
  // Guards: no false refusals of honest names.
  for (const p of ['a.txt', 'photos/2024/a b.jpg', 'ünïcødé/名前.txt', 'what?', '.hidden', 'a..b', 'x'.repeat(255), 'console.log', 'COM10', 'LPT', 'my con.txt']) {
    assert.equal(badPath(p), '', JSON.stringify(p));
  }
  assert.equal(badPath('a/'.repeat(2047) + 'ab'), '', 'exactly 4,096 bytes is allowed');
});

test('badPath refuses what it checks today', () => {
  // Guards: each rule badPath implements (see BAD_NAMES).
  for (const [p, why] of BAD_NAMES) assert.notEqual(badPath(p), '', `${why}: ${JSON.stringify(p.slice(0, 40))}`);
  assert.notEqual(badPath(undefined), '', 'a missing path');
});

test('badPath refuses a component over 255 bytes', () => {
  // Guards: "a component over 255 bytes".
  assert.notEqual(badPath('x'.repeat(256)), '');
  assert.notEqual(badPath('dir/' + 'é'.repeat(128)), '', '256 bytes of UTF-8 in 128 characters');
});

test('badPath refuses a component ending in a dot or a space', () => {
  // Guards: names Windows would strip into another name.
  for (const p of ['x.', 'x ', 'a./b', 'a /b', 'dir/file.txt.', 'dir/file.txt ']) assert.notEqual(badPath(p), '', JSON.stringify(p));
});

test('badPath refuses reserved device names, with any extension', () => {
  // Guards: CON, PRN, AUX, NUL, COM0–COM9, LPT0–LPT9, in any case, with any extension.
  for (const p of ['CON', 'con', 'Prn.txt', 'dir/AUX', 'nul.tar.gz', 'COM0', 'com9.log', 'LPT1.txt', 'a/lpt9']) {
    assert.notEqual(badPath(p), '', JSON.stringify(p));
  }
});

test('incoming: a path under an entry that is a file → bad-name', async (t) => {
  // Guards: the tree rule of the manifest, whichever order the entries come in.
  for (const entries of [
    [{ path: 'a', size: 1 }, { path: 'a/b', size: 1 }],
    [{ path: 'a/b/c', size: 1 }, { path: 'a/b', size: 1 }],
  ]) {
    const r = receiver(t);
    r.inc.control(offerText(entries));
    assert.equal(r.last()?.code, 'bad-name', JSON.stringify(entries));
    assert.equal(r.inc.state, 'failed');
  }
});
