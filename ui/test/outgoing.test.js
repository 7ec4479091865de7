// The sender's pure parts and its conversation loop
// (ui/js/engine/outgoing.js), without WebRTC.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { resolveObjectURL } from 'node:buffer';
import {
  encodeControl, decodeControl, putChunkHeader, pageEntries, ChunkHeaderBytes, MaxChunkBytes, MaxControlBytes,
} from '../js/codec.js';
import { Incoming, badPath, isFinal } from '../js/engine/incoming.js';
import { Outgoing, manifest, position, sending } from '../js/engine/outgoing.js';
import {
  ONE, WITH_DIR, BAD_NAMES, TRANSFER, PAYLOAD, sha, bytesOf, flush, SpyStore, slowStore, chunkMsg, offerText, receiver, assertValid, offered, accepted, sendBytes, fileEnd, assertFailed,
} from './receiver.js';

// ---------------------------------------------------------------------------
// Outgoing: manifest and position

const file = (n, lastModified = 1700000000000) => new File([bytesOf(n)], 'f', { lastModified });

test('manifest lists folders first where paths need them, each once', () => {
  // Guards: every parent folder precedes the first file under it, none is
  // listed twice, files keep their item index, mtime only when known.
  const items = [
    { path: 'a/b/c.txt', file: file(3) },
    { path: 'a/d.txt', file: file(4, 0) },
    { path: 'e.txt', file: file(5) },
    { path: 'a/b/f.txt', file: file(6) },
    { path: 'g/h.txt', file: file(0) },
  ];
  assert.deepEqual(manifest(items), [
    { path: 'a', dir: true },
    { path: 'a/b', dir: true },
    { path: 'a/b/c.txt', size: 3, item: 0, mtime: 1700000000000 },
    { path: 'a/d.txt', size: 4, item: 1 },
    { path: 'e.txt', size: 5, item: 2, mtime: 1700000000000 },
    { path: 'a/b/f.txt', size: 6, item: 3, mtime: 1700000000000 },
    { path: 'g', dir: true },
    { path: 'g/h.txt', size: 0, item: 4, mtime: 1700000000000 },
  ]);
  assert.deepEqual(manifest([{ path: 'x', file: file(1) }, { path: 'y', file: file(2) }]).map((e) => e.path), ['x', 'y'], 'flat: no folders');
});

test('a manifest is one the receiver takes', async (t) => {
  // Guards: the sender's manifest passes the receiver's checks (names,
  // folders before files, no duplicates) and its totals agree.
  const items = [{ path: 'a/b/c.txt', file: file(3) }, { path: 'a/d.txt', file: file(4) }, { path: 'e', file: file(5) }];
  const wire = manifest(items).map(({ item, ...e }) => e);
  const r = receiver(t);
  for (const m of pageEntries(wire)) r.inc.control(encodeControl({ ...m, transfer: TRANSFER }));
  assert.equal(r.inc.state, 'pending', r.inc.error);
  assert.equal(r.inc.files, 3);
  assert.equal(r.inc.bytes, 12);
});

test('position counts the bytes of the files before file, then offset', () => {
  // Guards: resume positions across files, folders counting nothing.
  const entries = manifest([{ path: 'd/a', file: file(10) }, { path: 'b', file: file(20) }, { path: 'd/c', file: file(30) }]);
  // d, d/a(10), b(20), d/c(30)
  assert.equal(position(entries, 0, 0), 0);
  assert.equal(position(entries, 1, 0), 0, 'after a folder');
  assert.equal(position(entries, 1, 7), 7);
  assert.equal(position(entries, 2, 0), 10);
  assert.equal(position(entries, 2, 5), 15);
  assert.equal(position(entries, 3, 29), 59);
  assert.equal(position(entries, 4, 0), 60, 'the end of the transfer');
  assert.equal(position(entries, 9, 0), 60, 'files past the end count nothing');
});

// ---------------------------------------------------------------------------
// Outgoing: the conversation after the offer

/**
 * sender makes an Outgoing whose stream is stubbed and a fake link; msgs are
 * the receiver's control messages, decoded as the control queue would.
 */
function sender(msgs, { items } = {}) {
  const s = { changes: 0, streams: [], failed: [] };
  s.out = new Outgoing({
    hub: {}, peer: 'PEER', peerName: 'Bob', myName: 'Me',
    items: items ?? [{ path: 'd/a', file: file(10) }, { path: 'b', file: file(20) }, { path: 'c', file: file(30) }],
    changed: () => s.changes++,
  });
  s.out.set('pending');
  s.link = { fail: (err) => s.failed.push(err) };
  s.streamResult = () => new Promise(() => {}); // streaming until told otherwise
  s.out.stream = (link, from, offset) => {
    assert.equal(link, s.link);
    s.streams.push([from, offset]);
    return s.streamResult();
  };
  const q = msgs.map((m) => {
    const d = decodeControl(typeof m === 'string' ? m : encodeControl(m));
    assert.ok(d.ok, d.text);
    return d.msg;
  });
  s.seen = []; // state and done when each message is taken
  s.next = () => {
    s.seen.push({ state: s.out.state, done: s.out.done, verified: s.out.verified });
    return q.length ? Promise.resolve(q.shift()) : Promise.reject(new Error('converse asked for a message after the last one'));
  };
  s.converse = () => s.out.converse(s.link, s.next);
  return s;
}

test('outgoing: accept starts streaming from its file and offset; progress, file-ok and done follow', async () => {
  // Guards: the sender's happy path: active on accept, stream called once
  // from the resume point, done and verified tracked, done ends 'done'.
  const s = sender([
    { type: 'accept' }, { type: 'progress', received: 25 }, { type: 'file-ok', file: 1, path: 'd/a' },
    { type: 'file-ok', file: 2, path: 'b' }, { type: 'progress', received: 50 }, { type: 'file-ok', file: 3, path: 'c' }, { type: 'done' },
  ]);
  assert.equal(s.out.bytes, 60);
  assert.equal(s.out.files, 3);
  await s.converse();
  assert.deepEqual(s.streams, [[0, 0]]);
  assert.deepEqual(s.seen.map((x) => x.state), ['pending', 'active', 'active', 'active', 'active', 'active', 'active']);
  assert.deepEqual(s.seen.map((x) => x.done), [0, 0, 25, 25, 25, 50, 50]);
  assert.deepEqual(s.seen.map((x) => x.verified), [0, 0, 0, 1, 2, 2, 3]);
  assert.equal(s.out.state, 'done');
  assert.equal(s.out.error, '');
  assert.equal(s.out.done, 60, 'done counts every byte');
  assert.equal(s.out.verified, 3);
  assert.ok(s.changes >= 6, 'the page hears of each change');
  assert.deepEqual(s.failed, []);
});

test('outgoing: accept {file, offset} resumes there and counts what went before', async () => {
  // Guards: the resume point reaches stream() and done starts at its position.
  const s = sender([{ type: 'accept', file: 3, offset: 4 }, { type: 'done' }]);
  await s.converse();
  assert.deepEqual(s.streams, [[3, 4]]);
  assert.equal(s.seen[1].done, 34);
});

for (const [name, msg, state, error] of [
  ['decline ends declined', { type: 'decline', code: 'declined', text: 'no thanks' }, 'declined', 'no thanks'],
  ['decline without text names the receiver', { type: 'decline', code: 'busy' }, 'declined', /Bob/],
  ['decline with code expired ends expired', { type: 'decline', code: 'expired', text: 'nobody answered' }, 'expired', 'nobody answered'],
  ['cancel ends cancelled', { type: 'cancel', code: 'cancelled', text: 'Bob cancelled the transfer' }, 'cancelled', 'Bob cancelled the transfer'],
  ['error ends failed', { type: 'error', code: 'hash-mismatch', text: 'a.txt arrived damaged' }, 'failed', 'a.txt arrived damaged'],
  ['error without text ends failed with its code', { type: 'error', code: 'no-space' }, 'failed', 'no-space'],
]) {
  test(`outgoing: ${name}`, async () => {
    // Guards: each final answer of the receiver and the state it leaves.
    const s = sender([msg]);
    await s.converse();
    assert.equal(s.out.state, state);
    if (error instanceof RegExp) assert.match(s.out.error, error);
    else assert.equal(s.out.error, error);
    assert.deepEqual(s.streams, [], 'nothing is streamed');
  });
}

test('outgoing: an error while streaming ends failed', async () => {
  // Guards: the receiver's error is final even after accept.
  const s = sender([{ type: 'accept' }, { type: 'error', code: 'hash-mismatch', text: 'damaged' }]);
  await s.converse();
  assert.equal(s.out.state, 'failed');
  assert.equal(s.out.error, 'damaged');
});

for (const type of ['offer', 'entries', 'file-end']) {
  test(`outgoing: an unexpected ${type} from the receiver ends the transfer failed`, async () => {
    // Guards: converse refuses sender-only messages. It ends the transfer
    // itself: a throw would make run() take it for a lost connection and
    // connect again.
    const msg = {
      offer: { type: 'offer', transfer: TRANSFER, count: 1, entries: ONE },
      entries: { type: 'entries', entries: ONE },
      'file-end': { type: 'file-end', file: 0, sha256: sha(bytesOf(1)) },
    }[type];
    const s = sender([{ type: 'accept' }, msg]);
    await s.converse();
    assert.equal(s.out.state, 'failed');
    assert.match(s.out.error, new RegExp(`unexpected ${type}`));
  });
}

test('outgoing: a second accept ends the transfer failed', async () => {
  // Guards: one stream per connection.
  const s = sender([{ type: 'accept' }, { type: 'accept' }]);
  await s.converse();
  assert.equal(s.out.state, 'failed');
  assert.match(s.out.error, /accepted twice/);
  assert.equal(s.streams.length, 1);
});

test('outgoing: a stream that fails fails the link', async () => {
  // Guards: streaming.catch(link.fail): a read or send error ends the
  // connection, which ends the conversation.
  const s = sender([{ type: 'accept' }]);
  const boom = new Error('the file could not be read');
  s.streamResult = () => Promise.reject(boom);
  await assert.rejects(s.converse(), /after the last one/);
  await new Promise((ok) => setImmediate(ok));
  assert.deepEqual(s.failed, [boom]);
});

test('outgoing: an accept past the end of the manifest fails', {
}, async () => {
  // Guards: the resume point is checked as the daemon's sender checks it.
  const s = sender([{ type: 'accept', file: 9, offset: 0 }]);
  await s.converse().catch(() => {}); // today: streams nothing, then waits for a message
  assert.equal(s.out.state, 'failed');
  assert.deepEqual(s.streams, []);
});
// ---------------------------------------------------------------------------
// Outgoing: continuing what the receiver already holds

/** streamed runs the real stream() over a fake link and returns the chunks' (file, offset) and the file-end hashes. */
async function streamed(content, offset, held) {
  const out = new Outgoing({ hub: {}, peer: 'PEER', peerName: 'Bob', myName: 'Me', items: [{ path: 'a', file: new File([content], 'a', { lastModified: 1700000000000 }) }], changed: () => {} });
  const chunks = [];
  const ends = [];
  const link = {
    maxChunk: (n) => Math.min(n, ChunkHeaderBytes + 1000),
    data: {
      bufferedAmount: 0,
      send: (m) => {
        chunks.push(new DataView(m.buffer, m.byteOffset).getUint32(8));
        payload += m.length - ChunkHeaderBytes;
      },
    },
    ctrl: { send: (text) => ends.push(decodeControl(text).msg) },
  };
  let payload = 0;
  out.done = offset;
  out.continued = offset;
  await out.stream(link, 0, offset, held);
  return { out, first: chunks[0], ends, payload };
}

test('outgoing: sentBytes counts the file bytes put on the data channel, in every session', async () => {
  // Guards: the counter adds each chunk's payload, not its header, and
  // keeps adding across streams (a session after a lost connection); the
  // page lists the transfer for whoever inspects it.
  const content = bytesOf(5000);
  const { out, payload } = await streamed(content, 3000, sha(content.subarray(0, 3000)));
  assert.equal(payload, 2000);
  assert.equal(out.sentBytes, 2000, 'what was held is not sent');
  assert.ok(sending.includes(out));
  const again = { ...out.link, maxChunk: () => ChunkHeaderBytes + 700, data: { bufferedAmount: 0, send() {} }, ctrl: { send() {} } };
  await out.stream(again, 0, 0, '');
  assert.equal(out.sentBytes, 2000 + 5000);
  const other = await streamed(content, 3000, sha(bytesOf(3000).map((b) => b ^ 1)));
  assert.equal(other.out.sentBytes, 5000, 'a file sent from its start counts whole');
});

test('outgoing: resumed lists where each accept had the transfer start', async () => {
  const s = sender([{ type: 'accept', file: 3, offset: 4 }, { type: 'done' }]);
  await s.converse();
  assert.deepEqual(s.out.resumed, [34]);
});

test('outgoing: an accept whose held hash matches goes on from its offset', async () => {
  // Guards: the receiver's held bytes are the sender's own, so nothing
  // before the offset is sent again and the whole file's hash still ends it.
  const content = bytesOf(5000);
  const { out, first, ends } = await streamed(content, 3000, sha(content.subarray(0, 3000)));
  assert.equal(first, 3000);
  assert.deepEqual(out.restarted, []);
  assert.equal(out.continued, 3000);
  assert.equal(ends[0].sha256, sha(content));
});

test('outgoing: an accept whose held hash differs sends the file from its start', async () => {
  // Guards: a receiver holding other bytes (another version of the file)
  // gets it from offset 0, and the page says so; done counts from zero.
  const content = bytesOf(5000);
  const { out, first, ends } = await streamed(content, 3000, sha(bytesOf(3000).map((b) => b ^ 1)));
  assert.equal(first, 0);
  assert.deepEqual(out.restarted, ['a']);
  assert.equal(out.continued, 0);
  assert.equal(out.done, 0);
  assert.equal(ends[0].sha256, sha(content));
});

test('outgoing: the offer asks the receiver for the hash of what it holds', () => {
  // Guards: checkHeld is on the first page only, and the pages still fit.
  const wire = Array.from({ length: 600 }, (_, i) => ({ path: `folder/${'x'.repeat(80)}-${i}`, size: 1, mtime: 1 }));
  const msgs = pageEntries(wire, MaxControlBytes, { transfer: TRANSFER, checkHeld: true });
  assert.equal(decodeControl(encodeControl(msgs[0])).msg.checkHeld, true);
  assert.ok(msgs.slice(1).every((m) => !('checkHeld' in m)));
  for (const m of msgs) assert.ok(encodeControl(m).length <= MaxControlBytes);
});
