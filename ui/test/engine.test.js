// Unit tests of the browser's file protocol engine without WebRTC: the
// receiver (ui/js/engine/incoming.js) fed control texts and chunk messages
// through a fake link, the sender's pure parts and its conversation loop
// (ui/js/engine/outgoing.js), and the guest page's pure people helpers
// (ui/js/guest/people.js). The rules are those of docs/protocol.md, section 2.
//
// The receiver keeps files in the page's store (ui/js/engine/store.js); the
// tests give it the plain-HTTP MemoryStore, whose finished files are object
// URLs Node can read back. A verified file is reported once the store has
// closed it, a promise later, so the tests let promises settle (flush).
// The receiver closes its link one second after it fails, declines or
// cancels; the tests use node:test's mock timers for that second.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { resolveObjectURL } from 'node:buffer';
import {
  encodeControl, decodeControl, putChunkHeader, pageEntries, ChunkHeaderBytes, MaxChunkBytes, MaxControlBytes,
} from '../js/codec.js';
import { Incoming, badPath, isFinal } from '../js/engine/incoming.js';
import { MemoryStore } from '../js/engine/store.js';
import { Outgoing, manifest, position } from '../js/engine/outgoing.js';
import { visible, guestName, normalizeCode } from '../js/guest/people.js';

// ---------------------------------------------------------------------------
// Helpers

const TRANSFER = 'k3qf7zq2m5xw';
const PAYLOAD = MaxChunkBytes - ChunkHeaderBytes; // the most one chunk carries
const sha = (bytes) => createHash('sha256').update(bytes).digest('hex');
function bytesOf(n, seed = 1) {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

/** flush lets pending promises settle (setImmediate is not mocked). */
const flush = () => new Promise((ok) => setImmediate(ok));

/** SpyStore is the MemoryStore, noting which transfers were discarded. */
class SpyStore extends MemoryStore {
  constructor(limit) {
    super(limit);
    this.discarded = [];
  }

  discard(transfer) {
    this.discarded.push(transfer);
    super.discard(transfer);
  }
}

/** slowStore is a SpyStore whose finish waits until the test calls one of store.release. */
function slowStore() {
  const store = new SpyStore(1 << 30);
  const finish = store.finish.bind(store);
  store.release = [];
  store.finish = (...args) => new Promise((ok) => store.release.push(() => ok(finish(...args))));
  return store;
}

/** chunkMsg builds a ferry-data message: the 12-byte header, then payload. */
function chunkMsg(file, offset, payload) {
  const b = new Uint8Array(ChunkHeaderBytes + payload.length);
  putChunkHeader(b, file, offset);
  b.set(payload, ChunkHeaderBytes);
  return b;
}

/** offerText encodes an offer carrying all of entries, count them all unless told. */
const offerText = (entries, count = entries.length) =>
  encodeControl({ type: 'offer', transfer: TRANSFER, name: 'Alice', count, bytes: entries.reduce((n, e) => n + (e.size || 0), 0), entries });

/**
 * receiver makes an Incoming with a fake link whose control channel records
 * what the engine sends, decoded by the codec; one the protocol would refuse
 * is marked invalid (see assertValid). Timers are mocked for the test.
 */
const mocked = new WeakSet(); // tests whose timers are mocked already
function receiver(t, { limit = 1 << 30, store = new SpyStore(limit), peerName = 'Alice' } = {}) {
  if (!mocked.has(t)) t.mock.timers.enable({ apis: ['setTimeout'] });
  mocked.add(t);
  const sent = [];
  const r = { sent, changes: 0, store };
  r.inc = new Incoming({
    hub: {}, peer: 'PEER', peerName, peerKind: 'daemon', conn: TRANSFER, session: 1, sdp: '',
    store, changed: () => r.changes++,
  });
  r.link = {
    closed: false,
    ctrl: {
      readyState: 'open',
      // A throw here would be swallowed by Incoming.send, so a message the
      // protocol refuses is recorded with why, for the test to see.
      send(text) {
        const d = decodeControl(text);
        sent.push(d.ok ? d.msg : { ...JSON.parse(text), invalid: d.text });
      },
    },
    close() { this.closed = true; },
  };
  r.inc.link = r.link;
  r.types = () => sent.map((m) => m.type);
  r.last = () => sent.at(-1);
  return r;
}

/** assertValid checks that every message sent is one the protocol takes. */
function assertValid(r) {
  for (const m of r.sent) assert.equal(m.invalid, undefined, `the receiver sent a message the protocol refuses: ${JSON.stringify(m).slice(0, 200)}`);
}

/** offered brings a receiver to pending with entries, in one offer message. */
function offered(t, entries, opts) {
  const r = receiver(t, opts);
  r.inc.control(offerText(entries));
  assert.equal(r.inc.state, 'pending', `offer of ${JSON.stringify(entries)} not pending: ${r.inc.error}`);
  return r;
}

/** accepted brings a receiver to active with entries. */
function accepted(t, entries, opts) {
  const r = offered(t, entries, opts);
  r.inc.accept();
  assert.equal(r.inc.state, 'active');
  return r;
}

/** sendBytes feeds file i's bytes from offset in chunks of at most size. */
function sendBytes(inc, i, bytes, { from = 0, size = PAYLOAD } = {}) {
  for (let p = from; p < bytes.length; p += size) inc.chunk(chunkMsg(i, p, bytes.subarray(p, Math.min(bytes.length, p + size))));
}

const fileEnd = (i, hex) => encodeControl({ type: 'file-end', file: i, sha256: hex });

/**
 * assertFailed checks the end of a transfer refused for bad input: one error
 * with the code went out last, the transfer failed with its text, nothing
 * (or only the files verified before) is offered to the person, and the link
 * closes a second later.
 */
async function assertFailed(t, r, code, { saved = 0, valid = true } = {}) {
  await flush(); // a file being stored must not be reported after the failure
  if (valid) assertValid(r);
  const m = r.last();
  assert.equal(m?.type, 'error', `last message sent: ${JSON.stringify(m)}`);
  assert.equal(m.code, code, `error text: ${m.text}`);
  assert.equal(r.sent.filter((x) => x.type === 'error').length, 1, 'one error');
  assert.ok(!r.types().includes('done'), 'no done');
  assert.equal(r.inc.state, 'failed');
  assert.ok(m.text.length > 0 && r.inc.error.startsWith(m.text.replace(/\u2026$/, '')), 'the page shows the reason sent (the wire may cut it short)');
  assert.equal(r.inc.saved.length, saved, 'files offered to the person');
  assert.ok(r.store.discarded.includes(r.inc.id), 'what the store holds of the transfer is discarded');
  assert.equal(r.inc.link.closed, false, 'the error has a second to leave before the link closes');
  t.mock.timers.tick(1000);
  assert.equal(r.inc.link.closed, true, 'the link closes after the error');
}

// ---------------------------------------------------------------------------
// Incoming: the offer

test('incoming: an offer paged over offer + entries messages is pending once count entries arrived', async (t) => {
  // Guards: pages are collected in order, the transfer waits (no answer, no
  // change) until count entries arrived, then it is pending with the totals.
  const r = receiver(t);
  const wire = [{ path: 'album', dir: true }];
  for (let i = 1; i < 600; i++) wire.push({ path: `album/p${String(i).padStart(4, '0')}.jpg`, size: i, mtime: 1700000000000 + i });
  const pages = pageEntries(wire, MaxControlBytes, { transfer: TRANSFER, name: 'Alice' });
  assert.deepEqual(pages.map((m) => m.type), ['offer', 'entries', 'entries'], 'the fixture pages three times');
  pages.forEach((m, i) => {
    assert.equal(r.inc.state, 'connecting', `before page ${i}`);
    r.inc.control(encodeControl(m));
  });
  assert.equal(r.inc.state, 'pending', r.inc.error);
  assert.deepEqual(r.sent, [], 'the receiver says nothing until the person answers');
  assert.ok(r.changes >= 1, 'the page is told the offer is complete');
  assert.equal(r.inc.transfer, TRANSFER);
  assert.equal(r.inc.senderName, 'Alice');
  assert.equal(r.inc.count, 600);
  assert.deepEqual(r.inc.entries.map((e) => e.path), wire.map((e) => e.path), 'entries kept in the order sent');
  assert.deepEqual(r.inc.entries.map((e) => e.size), wire.map((e) => e.size || 0));
  assert.equal(r.inc.files, 599);
  assert.equal(r.inc.bytes, (599 * 600) / 2);
  assert.equal(r.inc.tooBig, false);
});

test('incoming: accept sends accept {file 0, offset 0} and makes the transfer active', async (t) => {
  // Guards: accept answers the sender exactly once and only from pending.
  const r = receiver(t);
  r.inc.accept();
  assert.equal(r.inc.state, 'connecting', 'nothing to accept before the offer');
  assert.deepEqual(r.sent, []);
  r.inc.control(offerText([{ path: 'a.txt', size: 3 }]));
  r.inc.accept();
  assert.equal(r.inc.state, 'active');
  assert.deepEqual(r.sent, [{ type: 'accept', file: 0, offset: 0 }]);
  r.inc.accept();
  assert.equal(r.sent.length, 1, 'a second accept sends nothing');
});

test('incoming: an offer of folders only is done as soon as it is accepted', async (t) => {
  // Guards: checkAllDone on accept; a transfer with no file bytes still ends.
  const r = offered(t, [{ path: 'empty', dir: true }, { path: 'empty/sub', dir: true }]);
  r.inc.accept();
  assert.deepEqual(r.types(), ['accept', 'done']);
  assert.equal(r.inc.state, 'done');
});

// ---------------------------------------------------------------------------
// Incoming: receiving files

test('incoming: chunks in order and file-end with the right SHA-256 give file-ok each, then done', async (t) => {
  // Guards: the whole happy path; file-ok carries the index and path, done
  // follows the last file-ok, and each saved blob holds exactly the bytes.
  const a = bytesOf(100_000, 7); // two chunks
  const b = bytesOf(5, 9);
  const r = accepted(t, [
    { path: 'docs', dir: true },
    { path: 'docs/a.txt', size: a.length },
    { path: 'b.bin', size: b.length },
    { path: 'empty.txt', size: 0 },
  ]);
  sendBytes(r.inc, 1, a);
  assert.deepEqual(r.types(), ['accept'], 'no file-ok before file-end');
  r.inc.control(fileEnd(1, sha(a)));
  await flush();
  assert.deepEqual(r.last(), { type: 'file-ok', file: 1, path: 'docs/a.txt' });
  assert.equal(r.inc.state, 'active');
  sendBytes(r.inc, 2, b);
  r.inc.control(fileEnd(2, sha(b)));
  await flush();
  assert.equal(r.inc.state, 'active', 'the empty file is not verified yet');
  r.inc.control(fileEnd(3, sha(new Uint8Array(0))));
  await flush();
  assert.deepEqual(r.sent, [
    { type: 'accept', file: 0, offset: 0 },
    { type: 'file-ok', file: 1, path: 'docs/a.txt' },
    { type: 'file-ok', file: 2, path: 'b.bin' },
    { type: 'file-ok', file: 3, path: 'empty.txt' },
    { type: 'done' },
  ]);
  assert.equal(r.inc.state, 'done');
  assert.equal(r.inc.error, '');
  assert.equal(r.inc.verified, 3);
  assert.equal(r.inc.done, r.inc.bytes);
  assert.deepEqual(r.inc.saved.map((s) => [s.path, s.size, s.sha256]), [
    ['docs/a.txt', a.length, sha(a)], ['b.bin', b.length, sha(b)], ['empty.txt', 0, sha(new Uint8Array(0))],
  ]);
  for (const [s, want] of r.inc.saved.map((s, i) => [s, [a, b, new Uint8Array(0)][i]])) {
    const blob = resolveObjectURL(s.url);
    assert.ok(blob, `${s.path} has an object URL`);
    assert.deepEqual(new Uint8Array(await blob.arrayBuffer()), want, `${s.path} holds the bytes sent`);
  }
});

test('incoming: the store gets each payload alone, as a view of its message', async (t) => {
  // Guards: chunk() hands the store the payload without its 12-byte header
  // and without a copy (a data channel gives every message a buffer of its
  // own), at the chunk's offset.
  const data = bytesOf(10);
  const r = accepted(t, [{ path: 'a', size: 10 }]);
  const writes = [];
  const write = r.inc.store.write.bind(r.inc.store);
  r.inc.store.write = (transfer, index, offset, bytes) => {
    writes.push({ index, offset, bytes });
    write(transfer, index, offset, bytes);
  };
  const msg = chunkMsg(0, 0, data.subarray(0, 4));
  r.inc.chunk(msg);
  r.inc.chunk(chunkMsg(0, 4, data.subarray(4)));
  assert.equal(writes.length, 2);
  assert.equal(writes[0].bytes.buffer, msg.buffer, 'no copy');
  assert.equal(writes[0].bytes.byteOffset, msg.byteOffset + 12);
  assert.deepEqual([...writes[1].bytes], [...data.subarray(4)]);
  assert.equal(writes[1].offset, 4);
  r.inc.control(fileEnd(0, sha(data)));
  await flush();
  assert.equal(r.inc.state, 'done', r.inc.error);
  assert.deepEqual(new Uint8Array(await resolveObjectURL(r.inc.saved[0].url).arrayBuffer()), data);
});

test('incoming: a file-end that overtakes the last chunks is verified when they arrive', async (t) => {
  // Guards: control and data are separate channels; the file is finished on
  // the chunk that completes it once its file-end came first.
  const a = bytesOf(3 * PAYLOAD + 10);
  const r = accepted(t, [{ path: 'a.bin', size: a.length }]);
  sendBytes(r.inc, 0, a.subarray(0, PAYLOAD));
  r.inc.control(fileEnd(0, sha(a)));
  assert.deepEqual(r.types(), ['accept'], 'not verified while bytes are missing');
  sendBytes(r.inc, 0, a, { from: PAYLOAD });
  await flush();
  assert.deepEqual(r.types(), ['accept', 'file-ok', 'done']);
  assert.equal(r.inc.state, 'done');
});

test('incoming: progress goes out once per MiB received', async (t) => {
  // Guards: PROGRESS_EVERY; received counts the bytes held in all.
  const a = bytesOf((1 << 20) + 1000);
  const r = accepted(t, [{ path: 'big', size: a.length }]);
  sendBytes(r.inc, 0, a);
  const progress = r.sent.filter((m) => m.type === 'progress');
  assert.equal(progress.length, 1);
  assert.ok(progress[0].received >= 1 << 20 && progress[0].received <= a.length, `received ${progress[0].received}`);
  r.inc.control(fileEnd(0, sha(a)));
  await flush();
  assert.deepEqual(r.types(), ['accept', 'progress', 'file-ok', 'done']);
});

test('incoming: file-ok and done wait until the store has the file', async (t) => {
  // Guards: a file is reported verified only once the store closed it (an
  // OPFS write may still fail), and done only after every file-ok.
  const store = slowStore();
  const a = bytesOf(3);
  const b = bytesOf(4);
  const r = accepted(t, [{ path: 'a', size: 3 }, { path: 'b', size: 4 }], { store });
  r.inc.chunk(chunkMsg(0, 0, a));
  r.inc.control(fileEnd(0, sha(a)));
  r.inc.chunk(chunkMsg(1, 0, b));
  r.inc.control(fileEnd(1, sha(b)));
  await flush();
  assert.deepEqual(r.types(), ['accept'], 'nothing before the store is done');
  assert.equal(r.inc.state, 'active');
  store.release[0]();
  await flush();
  assert.deepEqual(r.types(), ['accept', 'file-ok'], 'no done while b is being stored');
  assert.equal(r.inc.state, 'active');
  store.release[1]();
  await flush();
  assert.deepEqual(r.types(), ['accept', 'file-ok', 'file-ok', 'done']);
  assert.equal(r.inc.state, 'done');
  assert.deepEqual(r.inc.saved.map((x) => x.path), ['a', 'b']);
});

test('incoming: a file the store cannot keep fails the transfer with storage', async (t) => {
  // Guards: finish()'s rejection path: error storage, nothing saved.
  const store = new SpyStore(1 << 30);
  store.finish = async () => { throw new Error('QuotaExceededError'); };
  const a = bytesOf(3);
  const r = accepted(t, [{ path: 'a', size: 3 }], { store });
  r.inc.chunk(chunkMsg(0, 0, a));
  r.inc.control(fileEnd(0, sha(a)));
  await assertFailed(t, r, 'storage');
  assert.match(r.inc.error, /QuotaExceededError/);
});

test('incoming: a file still being stored when the transfer fails is not reported', async (t) => {
  // Guards: the state check after the store's finish: no file-ok or saved
  // file after a failure.
  const store = slowStore();
  const a = bytesOf(3);
  const r = accepted(t, [{ path: 'a', size: 3 }, { path: 'b', size: 1 }], { store });
  r.inc.chunk(chunkMsg(0, 0, a));
  r.inc.control(fileEnd(0, sha(a)));
  r.inc.chunk(chunkMsg(1, 5, bytesOf(1)));
  store.release[0]();
  await assertFailed(t, r, 'bad-offset');
  assert.ok(!r.types().includes('file-ok'));
});

test('incoming: a store that takes the chunk\'s buffer still counts its bytes', async (t) => {
  // Guards: DiskStore.write posts the bytes with their buffer transferred,
  // which empties the Uint8Array the engine holds: chunk() must count the
  // bytes before the write (reading copy.length after it counted 0, and the
  // next chunk was refused bad-offset).
  const store = new SpyStore(1 << 30);
  const write = store.write.bind(store);
  store.write = (transfer, index, offset, bytes) => {
    const { port1 } = new MessageChannel();
    const kept = bytes.slice();
    port1.postMessage(bytes, [bytes.buffer]); // as DiskStore.write does to its worker
    port1.close();
    assert.equal(bytes.length, 0, 'the buffer went with the message');
    write(transfer, index, offset, kept);
  };
  const a = bytesOf(2 * PAYLOAD);
  const r = accepted(t, [{ path: 'a', size: a.length }], { store });
  sendBytes(r.inc, 0, a);
  r.inc.control(fileEnd(0, sha(a)));
  await flush();
  assert.equal(r.inc.state, 'done', r.inc.error);
  assert.equal(r.inc.done, a.length);
});

// ---------------------------------------------------------------------------
// Incoming: bad input is answered with its code and fails the transfer

const ONE = [{ path: 'a.txt', size: 3 }];
const WITH_DIR = [{ path: 'd', dir: true }, { path: 'd/a.txt', size: 3 }];

// Each case: the entries accepted (or null: only the receiver, no offer;
// or {pending: entries}: offered, not accepted), what goes wrong, the code
// expected, and how many files stay saved.
const badInput = [
  ['chunk for an unknown file', ONE, (inc) => inc.chunk(chunkMsg(5, 0, bytesOf(1))), 'unknown-file'],
  ['chunk for a directory entry', WITH_DIR, (inc) => inc.chunk(chunkMsg(0, 0, bytesOf(1))), 'unknown-file'],
  ['chunk at a wrong offset (a gap at the start)', ONE, (inc) => inc.chunk(chunkMsg(0, 1, bytesOf(1))), 'bad-offset'],
  ['chunk at a wrong offset (a gap later)', ONE, (inc) => { inc.chunk(chunkMsg(0, 0, bytesOf(1))); inc.chunk(chunkMsg(0, 2, bytesOf(1))); }, 'bad-offset'],
  ['chunk at a wrong offset (sent again)', ONE, (inc) => { inc.chunk(chunkMsg(0, 0, bytesOf(2))); inc.chunk(chunkMsg(0, 0, bytesOf(2))); }, 'bad-offset'],
  ['chunk for a file already verified', [...ONE, { path: 'b', size: 1 }], async (inc) => {
    inc.chunk(chunkMsg(0, 0, bytesOf(3)));
    inc.control(fileEnd(0, sha(bytesOf(3))));
    await flush();
    inc.chunk(chunkMsg(0, 3, bytesOf(1)));
  }, 'bad-offset', 1],
  ['chunk past the announced size (in one chunk)', ONE, (inc) => inc.chunk(chunkMsg(0, 0, bytesOf(4))), 'too-many-bytes'],
  ['chunk past the announced size (the second chunk)', ONE, (inc) => { inc.chunk(chunkMsg(0, 0, bytesOf(2))); inc.chunk(chunkMsg(0, 2, bytesOf(2))); }, 'too-many-bytes'],
  ['chunk for an empty file', [{ path: 'e', size: 0 }, ...ONE], (inc) => inc.chunk(chunkMsg(0, 0, bytesOf(1))), 'too-many-bytes'],
  ['chunk with a header and no payload', ONE, (inc) => inc.chunk(chunkMsg(0, 0, new Uint8Array(0))), 'bad-message'],
  ['file-end with a SHA-256 of other bytes', ONE, (inc) => { inc.chunk(chunkMsg(0, 0, bytesOf(3))); inc.control(fileEnd(0, sha(bytesOf(3, 2)))); }, 'hash-mismatch'],
  ['file-end with a bad hash, chunks last', ONE, (inc) => { inc.control(fileEnd(0, sha(bytesOf(3, 2)))); inc.chunk(chunkMsg(0, 0, bytesOf(3))); }, 'hash-mismatch'],
  ['file-end for an unknown file', ONE, (inc) => inc.control(fileEnd(1, sha(bytesOf(3)))), 'unknown-file'],
  ['file-end for a directory entry', WITH_DIR, (inc) => inc.control(fileEnd(0, sha(bytesOf(3)))), 'unknown-file'],
  ['file-end for a file already verified', [...ONE, { path: 'b', size: 1 }], async (inc) => {
    inc.chunk(chunkMsg(0, 0, bytesOf(3)));
    inc.control(fileEnd(0, sha(bytesOf(3))));
    await flush();
    inc.control(fileEnd(0, sha(bytesOf(3))));
  }, 'bad-message', 1],
  ['file-end with a malformed sha256', ONE, (inc) => inc.control('{"type":"file-end","file":0,"sha256":"ABC"}'), 'bad-message'],
  ['chunk before accept', { pending: ONE }, (inc) => inc.chunk(chunkMsg(0, 0, bytesOf(1))), 'bad-message'],
  ['file-end before accept', { pending: ONE }, (inc) => inc.control(fileEnd(0, sha(bytesOf(3)))), 'bad-message'],
  ['chunk before the offer', null, (inc) => inc.chunk(chunkMsg(0, 0, bytesOf(1))), 'bad-message'],
  ['entries before the offer', null, (inc) => inc.control(encodeControl({ type: 'entries', entries: ONE })), 'bad-message'],
  ['a second offer', { pending: ONE }, (inc) => inc.control(offerText(ONE)), 'bad-message'],
  ['a second offer while the first is still paged', null, (inc) => { inc.control(offerText(ONE, 2)); inc.control(offerText(ONE, 2)); }, 'bad-message'],
  ['entries after the offer was complete', { pending: ONE }, (inc) => inc.control(encodeControl({ type: 'entries', entries: [{ path: 'b', size: 1 }] })), 'bad-message'],
  ['more entries than count (an entries page)', null, (inc) => {
    inc.control(offerText(ONE, 2));
    inc.control(encodeControl({ type: 'entries', entries: [{ path: 'b', size: 1 }, { path: 'c', size: 1 }] }));
  }, 'bad-message'],
  ['more entries than count (the offer itself)', null, (inc) => inc.control(offerText([...ONE, { path: 'b', size: 1 }], 1)), 'bad-message'],
  ['a control message over 65,536 bytes', null, (inc) => inc.control(JSON.stringify({ type: 'cancel', code: 'cancelled', text: 'x'.repeat(MaxControlBytes) })), 'too-large'],
  ['binary on the control channel', null, (inc) => inc.control(new TextEncoder().encode(offerText(ONE)).buffer), 'bad-message'],
  ['malformed JSON on the control channel', null, (inc) => inc.control('{"type":"offer",'), 'bad-message'],
  ['an unknown type', null, (inc) => inc.control('{"type":"teleport"}'), 'unknown-type'],
  ['a receiver message from the sender (accept)', ONE, (inc) => inc.control(encodeControl({ type: 'accept' })), 'bad-message'],
  ['a receiver message from the sender (done)', ONE, (inc) => inc.control(encodeControl({ type: 'done' })), 'bad-message'],
  ['a receiver message from the sender (file-ok)', ONE, (inc) => inc.control(encodeControl({ type: 'file-ok', file: 0, path: 'a.txt' })), 'bad-message'],
];

for (const [name, setup, act, code, saved = 0] of badInput) {
  test(`incoming: bad input: ${name} → error ${code}, failed`, async (t) => {
    // Guards: each refusal of the receiver's view and its error code
    // (docs/protocol.md, "Error codes"), and that nothing unverified is saved.
    let r;
    if (setup === null) r = receiver(t);
    else if (setup.pending) r = offered(t, setup.pending);
    else r = accepted(t, setup);
    await act(r.inc);
    await assertFailed(t, r, code, { saved });
  });
}

test('incoming: after a failure, chunks are ignored and the failed file is dropped', async (t) => {
  // Guards: chunk() stops at a final state; fail() has the store drop what
  // it held.
  const r = accepted(t, [{ path: 'a', size: 6 }]);
  r.inc.chunk(chunkMsg(0, 0, bytesOf(3)));
  r.inc.chunk(chunkMsg(0, 9, bytesOf(1)));
  assert.equal(r.inc.state, 'failed');
  const n = r.sent.length;
  r.inc.chunk(chunkMsg(0, 3, bytesOf(3)));
  r.inc.chunk(chunkMsg(7, 0, bytesOf(3)));
  assert.equal(r.sent.length, n, 'no answer to chunks after the failure');
  assert.deepEqual(r.store.discarded, [r.inc.id]);
  assert.equal(r.store.files.size, 0, 'the bytes held are let go');
  assert.deepEqual(r.inc.saved, []);
});

test('incoming: files verified before a failure stay saved', async (t) => {
  // Guards: docs/protocol.md "Failure": files already verified stay.
  const r = accepted(t, [{ path: 'ok', size: 3 }, { path: 'bad', size: 3 }]);
  r.inc.chunk(chunkMsg(0, 0, bytesOf(3)));
  r.inc.control(fileEnd(0, sha(bytesOf(3))));
  await flush();
  r.inc.chunk(chunkMsg(1, 0, bytesOf(3)));
  r.inc.control(fileEnd(1, sha(bytesOf(4))));
  await assertFailed(t, r, 'hash-mismatch', { saved: 1 });
  assert.equal(r.inc.saved[0].path, 'ok');
  assert.equal(r.inc.verified, 1);
});

// Paths badPath refuses, each against a rule of docs/protocol.md. The last
// two quote a path long enough that the error text is clipped to the
// protocol's 1,024 bytes.
const BAD_NAMES = [
  ['../x', 'a .. component'],
  ['a/../../x', 'a .. component'],
  ['..', 'a .. component'],
  ['./x', 'a . component'],
  ['/etc/passwd', 'absolute'],
  ['C:x', 'a drive letter'],
  ['c:\\x', 'a drive letter'],
  ['a\\b', 'a backslash'],
  ['', 'empty'],
  ['a//b', 'an empty component'],
  ['a/', 'an empty component'],
  ['a\u0000b', 'NUL'],
  ['a\nb', 'a control character'],
  ['a\u001fb', 'a control character'],
  ['a\u007fb', 'a control character (DEL)'],
  ['a/'.repeat(2048) + 'a', 'over 4,096 bytes'],
  ['é'.repeat(2049), 'over 4,096 bytes of UTF-8 (2,049 characters)'],
];

for (const [p, why] of BAD_NAMES) {
  const long = new TextEncoder().encode(p).length > 4096;
  test(`incoming: bad name ${JSON.stringify(p.length > 40 ? p.slice(0, 20) + '…' : p)} (${why}) → bad-name`, async (t) => {
    // Guards: the manifest rules of docs/protocol.md, checked as entries
    // arrive, so the person never sees such a name.
    assert.notEqual(badPath(p), '', 'badPath refuses it');
    const r = receiver(t);
    r.inc.control(offerText([{ path: 'fine.txt', size: 1 }, { path: p, size: 1 }]));
    await assertFailed(t, r, 'bad-name', { valid: !long });
  });
}

test('incoming: an error text stays within the protocol\'s 1,024 bytes, however long the path', {
}, async (t) => {
  // Guards: decodeControl refuses an error whose text is over 1,024 bytes,
  // so the receiver must cut its texts to fit.
  const long = 'd/'.repeat(450) + 'f.bin'; // 905 bytes: a fine name
  assert.equal(badPath(long), '');
  const r = accepted(t, [{ path: long, size: 3 }]);
  r.inc.chunk(chunkMsg(0, 0, bytesOf(3)));
  r.inc.control(fileEnd(0, sha(bytesOf(4))));
  assert.equal(r.inc.state, 'failed');
  assertValid(r);
  assert.equal(r.last().code, 'hash-mismatch');

  const n = receiver(t);
  n.inc.control(offerText([{ path: 'a/'.repeat(2048) + 'a', size: 1 }]));
  assertValid(n);
  assert.equal(n.last().code, 'bad-name');
});

test('incoming: a bad name in a later page fails the transfer before it is pending', async (t) => {
  // Guards: addEntries checks every page, not only the offer's.
  const r = receiver(t);
  r.inc.control(offerText([{ path: 'a', size: 1 }], 3));
  r.inc.control(encodeControl({ type: 'entries', entries: [{ path: 'b', size: 1 }, { path: '../c', size: 1 }] }));
  await assertFailed(t, r, 'bad-name');
});

for (const [name, pages] of [
  ['in one page', [[{ path: 'a', size: 1 }, { path: 'b', size: 1 }, { path: 'a', size: 2 }]]],
  ['across pages', [[{ path: 'x/a', size: 1 }], [{ path: 'x/b', size: 1 }], [{ path: 'x/a', size: 1 }]]],
  ['a folder and a file', [[{ path: 'a', dir: true }, { path: 'a', size: 1 }]]],
]) {
  test(`incoming: a path listed twice (${name}) → bad-name`, async (t) => {
    // Guards: the duplicate check over the whole manifest.
    const r = receiver(t);
    const count = pages.flat().length;
    r.inc.control(offerText(pages[0], count));
    for (const p of pages.slice(1)) r.inc.control(encodeControl({ type: 'entries', entries: p }));
    await assertFailed(t, r, 'bad-name');
  });
}

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
// people.js

const MEMBERS = [
  { id: 'g-self', name: 'Me', kind: 'guest', rooms: ['ABC234'] },
  { id: 'g-zoe', name: 'Zoe', kind: 'guest', rooms: ['ABC234'] },
  { id: 'd-studio', name: 'studio', kind: 'daemon', rooms: [] },
  { id: 'g-anna', name: 'Anna', kind: 'guest', rooms: ['XYZ789', 'ABC234'] },
  { id: 'd-attic', name: 'attic', kind: 'daemon', rooms: ['ABC234'] },
  { id: 'g-bob', name: 'bob', kind: 'guest' },
];

test('visible: nearby is everyone but me, daemons first, then by name', () => {
  // Guards: self is left out, no room filter for nearby, the order.
  const before = JSON.stringify(MEMBERS);
  assert.deepEqual(visible(MEMBERS, 'g-self', '').map((m) => m.id), ['d-attic', 'd-studio', 'g-anna', 'g-bob', 'g-zoe']);
  assert.equal(JSON.stringify(MEMBERS), before, 'the members given are left as they were');
});

test('visible: a code room shows only its members', () => {
  // Guards: the room filter, members without rooms, daemons in rooms.
  assert.deepEqual(visible(MEMBERS, 'g-self', 'ABC234').map((m) => m.id), ['d-attic', 'g-anna', 'g-zoe']);
  assert.deepEqual(visible(MEMBERS, 'g-self', 'XYZ789').map((m) => m.id), ['g-anna']);
  assert.deepEqual(visible(MEMBERS, 'g-self', 'QQQQQQ'), []);
  assert.deepEqual(visible([], 'g-self', ''), []);
});

test('guestName picks an adjective and an animal from two bytes', () => {
  // Guards: the indexing, wrap-around, and that the lists give 400 distinct names.
  assert.equal(guestName([0, 0]), 'Amber Badger');
  assert.equal(guestName(new Uint8Array([19, 19])), 'Witty Wolf');
  assert.equal(guestName([20, 20]), 'Amber Badger', 'wraps around');
  assert.equal(guestName(new Uint8Array([255, 255])), 'Silver Seal');
  const names = new Set();
  for (let a = 0; a < 256; a++) for (let b = 0; b < 256; b++) names.add(guestName([a, b]));
  assert.equal(names.size, 400);
  for (const n of names) assert.match(n, /^[A-Z][a-z]+ [A-Z][a-z]+$/);
});

test('normalizeCode takes a code in any case, with spaces or dashes', () => {
  // Guards: docs/protocol.md "Code rooms": 6 characters of
  // ABCDEFGHJKMNPQRSTUVWXYZ23456789, typed in any case with spaces or dashes.
  assert.equal(normalizeCode('ABC234'), 'ABC234');
  assert.equal(normalizeCode('abc234'), 'ABC234');
  assert.equal(normalizeCode(' abc-234 '), 'ABC234');
  assert.equal(normalizeCode('a b\tc-2-3\n4'), 'ABC234');
  assert.equal(normalizeCode('XYZ789'), 'XYZ789');
});

test('normalizeCode refuses what is not a code', () => {
  // Guards: length and alphabet (no 0, O, 1, I or L), other separators.
  for (const s of ['', 'ABC23', 'ABC2345', 'ABC230', 'ABC23O', 'ABC231', 'ABC23I', 'ABC23L', 'abc23l', 'ABC.234', 'ABC_234', 'ÄBC234', null, undefined, 123456]) {
    assert.equal(normalizeCode(s), '', JSON.stringify(s));
  }
});
