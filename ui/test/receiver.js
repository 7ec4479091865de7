// What the engine's unit tests share: a receiver (ui/js/engine/incoming.js)
// driven through a fake link with control texts and chunk messages, and
// helpers to make them. The receiver keeps files in the plain-HTTP
// MemoryStore, whose finished files are object URLs Node can read back. A
// verified file is reported once the store has closed it, a promise later,
// so the tests let promises settle (flush). The receiver closes its link one
// second after it fails, declines or cancels; the tests use node:test's mock
// timers for that second.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { resolveObjectURL } from 'node:buffer';
import {
  encodeControl, decodeControl, putChunkHeader, pageEntries, ChunkHeaderBytes, MaxChunkBytes, MaxControlBytes,
} from '../js/codec.js';
import { Incoming, badPath, isFinal } from '../js/engine/incoming.js';
import { MemoryStore } from '../js/engine/store.js';
// ---------------------------------------------------------------------------
// Helpers

export const TRANSFER = 'k3qf7zq2m5xw';
export const PAYLOAD = MaxChunkBytes - ChunkHeaderBytes; // the most one chunk carries
export const sha = (bytes) => createHash('sha256').update(bytes).digest('hex');
export function bytesOf(n, seed = 1) {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

/** flush lets pending promises settle (setImmediate is not mocked). */
export const flush = () => new Promise((ok) => setImmediate(ok));

/** SpyStore is the MemoryStore, noting which transfers were discarded. */
export class SpyStore extends MemoryStore {
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
export function slowStore() {
  const store = new SpyStore(1 << 30);
  const finish = store.finish.bind(store);
  store.release = [];
  store.finish = (...args) => new Promise((ok) => store.release.push(() => ok(finish(...args))));
  return store;
}

/** chunkMsg builds a ferry-data message: the 12-byte header, then payload. */
export function chunkMsg(file, offset, payload) {
  const b = new Uint8Array(ChunkHeaderBytes + payload.length);
  putChunkHeader(b, file, offset);
  b.set(payload, ChunkHeaderBytes);
  return b;
}

/** offerText encodes an offer carrying all of entries, count them all unless told. */
export const offerText = (entries, count = entries.length) =>
  encodeControl({ type: 'offer', transfer: TRANSFER, name: 'Alice', count, bytes: entries.reduce((n, e) => n + (e.size || 0), 0), entries });

/**
 * receiver makes an Incoming with a fake link whose control channel records
 * what the engine sends, decoded by the codec; one the protocol would refuse
 * is marked invalid (see assertValid). Timers are mocked for the test.
 */
const mocked = new WeakSet(); // tests whose timers are mocked already
export function receiver(t, { limit = 1 << 30, store = new SpyStore(limit), peerName = 'Alice' } = {}) {
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
export function assertValid(r) {
  for (const m of r.sent) assert.equal(m.invalid, undefined, `the receiver sent a message the protocol refuses: ${JSON.stringify(m).slice(0, 200)}`);
}

/** offered brings a receiver to pending with entries, in one offer message. */
export function offered(t, entries, opts) {
  const r = receiver(t, opts);
  r.inc.control(offerText(entries));
  assert.equal(r.inc.state, 'pending', `offer of ${JSON.stringify(entries)} not pending: ${r.inc.error}`);
  return r;
}

/** accepted brings a receiver to active with entries. */
export function accepted(t, entries, opts) {
  const r = offered(t, entries, opts);
  r.inc.accept();
  assert.equal(r.inc.state, 'active');
  return r;
}

/** sendBytes feeds file i's bytes from offset in chunks of at most size. */
export function sendBytes(inc, i, bytes, { from = 0, size = PAYLOAD } = {}) {
  for (let p = from; p < bytes.length; p += size) inc.chunk(chunkMsg(i, p, bytes.subarray(p, Math.min(bytes.length, p + size))));
}

export const fileEnd = (i, hex) => encodeControl({ type: 'file-end', file: i, sha256: hex });

/**
 * assertFailed checks the end of a transfer refused for bad input: one error
 * with the code went out last, the transfer failed with its text, nothing
 * (or only the files verified before) is offered to the person, and the link
 * closes a second later.
 */
export async function assertFailed(t, r, code, { saved = 0, valid = true } = {}) {
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

export const ONE = [{ path: 'a.txt', size: 3 }];
export const WITH_DIR = [{ path: 'd', dir: true }, { path: 'd/a.txt', size: 3 }];

// Paths badPath refuses, each against a rule of docs/protocol.md. The last
// two quote a path long enough that the error text is clipped to the
// protocol's 1,024 bytes.
export const BAD_NAMES = [
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
