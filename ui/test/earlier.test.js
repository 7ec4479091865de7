// A new offer that continues an earlier transfer (ui/js/engine/earlier.js
// and Incoming.continueFrom): a sending page reloaded mid-file picks the
// same files again, and this page goes on from what it holds
// (docs/protocol.md, "Continuing an earlier transfer").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveObjectURL } from 'node:buffer';
import { decodeControl, encodeControl } from '../js/codec.js';
import { Incoming } from '../js/engine/incoming.js';
import { sameFiles, sdpFingerprint, continues } from '../js/engine/earlier.js';
import { snapshot } from '../js/engine/kept.js';
import { SpyStore, sha, bytesOf, flush, chunkMsg, fileEnd, sendBytes } from './receiver.js';

const FP = (b) => Array.from({ length: 32 }, () => b).join(':'); // a fingerprint of 32 bytes b
const sdp = (fp, hash = 'sha-256') =>
  ['v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0', 'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
    'c=IN IP4 0.0.0.0', 'a=mid:0', `a=fingerprint:${hash} ${fp}`, 'a=sctp-port:5000', ''].join('\r\n');

test('earlier: sdpFingerprint takes the session-level fingerprint, else the bundled section, else the first', () => {
  // Guards: the protocol's order, the hash named sha-256, the form of the value.
  const session = ['v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0', `a=fingerprint:SHA-256 ${FP('aa')}`, 'a=group:BUNDLE 1',
    'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'a=mid:0', `a=fingerprint:sha-256 ${FP('BB')}`,
    'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'a=mid:1', `a=fingerprint:sha-256 ${FP('CC')}`, ''].join('\r\n');
  assert.equal(sdpFingerprint(session), FP('AA'), 'session level first, in upper case');
  const bundled = session.replace(/^a=fingerprint:SHA-256 .*\r\n/m, '');
  assert.equal(sdpFingerprint(bundled), FP('CC'), 'then the section BUNDLE names');
  assert.equal(sdpFingerprint(bundled.replace('a=group:BUNDLE 1', 'a=group:BUNDLE 7')), FP('BB'), 'then the first section');
  assert.equal(sdpFingerprint(sdp(FP('0f'))), FP('0F'));
  assert.equal(sdpFingerprint(sdp(FP('0f'), 'sha-1')), '', 'another hash is no fingerprint to hold anyone to');
  assert.equal(sdpFingerprint(sdp('AB:CD')), '', 'a value that is not 32 bytes');
  assert.equal(sdpFingerprint(sdp(FP('0f')).replace(/^a=fingerprint.*\r\n/m, '')), '');
  assert.equal(sdpFingerprint(''), '');
  assert.equal(sdpFingerprint(undefined), '');
});

test('earlier: sameFiles wants every entry equal, and every file with a modification time', () => {
  const a = [{ path: 'd', dir: true }, { path: 'd/x', size: 5, mtime: 1700000000000 }];
  assert.equal(sameFiles(a, structuredClone(a)), true);
  for (const [why, b] of [
    ['another size', [a[0], { ...a[1], size: 6 }]],
    ['another time', [a[0], { ...a[1], mtime: 1700000000001 }]],
    ['another path', [a[0], { ...a[1], path: 'd/y' }]],
    ['a folder for a file', [a[0], { path: 'd/x', dir: true }]],
    ['an entry less', [a[0]]],
    ['another order', [a[1], a[0]]],
  ]) assert.equal(sameFiles(a, b), false, why);
  const untimed = [{ path: 'x', size: 5 }];
  assert.equal(sameFiles(untimed, structuredClone(untimed)), false, 'without times two different files look the same');
  assert.equal(sameFiles([], []), false);
});

const ENTRIES = [
  { path: 'one.bin', size: 3000, mtime: 1700000000000 },
  { path: 'two.bin', size: 5000, mtime: 1700000000001 },
];
const ONE_BIN = bytesOf(3000, 3);
const TWO_BIN = bytesOf(5000, 7);

/**
 * make is a receiver of ENTRIES on connection conn, pending, whose sender
 * offered with a certificate of fingerprint fp; see receiver.js.
 */
const mocked = new WeakSet(); // tests whose timers are mocked already
function make(t, { conn, fp = FP('11'), peer = 'g-sender-0001', store }) {
  if (!mocked.has(t)) t.mock.timers.enable({ apis: ['setTimeout'] });
  mocked.add(t);
  const sent = [];
  const inc = new Incoming({
    hub: {}, peer, peerName: 'Phone', peerKind: 'guest', conn, session: 1, sdp: sdp(fp), store, changed: () => {},
  });
  inc.link = { ctrl: { readyState: 'open', send: (text) => sent.push(decodeControl(text).msg) }, close() {} };
  inc.control(encodeControl({ type: 'offer', transfer: conn, name: 'Phone', count: ENTRIES.length, bytes: 8000, entries: ENTRIES }));
  return { inc, sent };
}

/** interrupted is a transfer that verified one.bin and holds `held` bytes of two.bin when its sender's page went. */
async function interrupted(t, store, held) {
  const old = make(t, { conn: 'firsttry01', store });
  old.inc.accept();
  sendBytes(old.inc, 0, ONE_BIN, { size: 1000 });
  old.inc.control(fileEnd(0, sha(ONE_BIN)));
  await flush();
  sendBytes(old.inc, 1, TWO_BIN.subarray(0, held), { size: 1000 });
  old.inc.lost(old.inc.link, new Error('the connection was lost'));
  assert.equal(old.inc.interrupted, true);
  return old.inc;
}

test('earlier: the same files from the same sender go on from what the earlier transfer holds', async (t) => {
  // Guards: file-ok for the verified file, accept at the first file not
  // complete with the hash of what is held, the earlier transfer ended
  // without losing its bytes, and the file whole at the end.
  const store = new SpyStore(1 << 30);
  const old = await interrupted(t, store, 2000);
  const next = make(t, { conn: 'secondtry1', store });
  assert.equal(next.inc.state, 'pending');
  next.inc.accept();
  assert.deepEqual(next.sent, [
    { type: 'file-ok', file: 0, path: 'one.bin' },
    { type: 'accept', file: 1, offset: 2000, sha256: sha(TWO_BIN.subarray(0, 2000)) },
  ]);
  assert.equal(next.inc.continued, 3000 + 2000);
  assert.equal(next.inc.done, 5000);
  assert.equal(next.inc.verified, 1);
  assert.equal(next.inc.saved.length, 1, 'the file verified before is offered to save');
  assert.equal(old.state, 'cancelled');
  assert.equal(old.saved.length, 0, 'listed once, with the transfer that goes on');
  assert.deepEqual(store.discarded, [], 'nothing held is thrown away');
  t.mock.timers.tick(120_000);
  assert.equal(old.state, 'cancelled', 'the earlier transfer no longer waits for its sender');
  sendBytes(next.inc, 1, TWO_BIN, { from: 2000, size: 1000 });
  next.inc.control(fileEnd(1, sha(TWO_BIN)));
  await flush();
  assert.equal(next.inc.state, 'done', next.inc.error);
  assert.equal(next.sent.at(-1).type, 'done');
  const two = next.inc.saved.find((f) => f.path === 'two.bin');
  assert.deepEqual(new Uint8Array(await resolveObjectURL(two.url).arrayBuffer()), TWO_BIN);
  assert.equal(snapshot(next.inc).id, old.key, 'kept under the key the files have in the store');
  assert.equal(snapshot(next.inc).cert, FP('11'));
});

test('earlier: a sender that holds other bytes sends the file from 0, and the receiver starts it over', async (t) => {
  const store = new SpyStore(1 << 30);
  await interrupted(t, store, 2000);
  const next = make(t, { conn: 'secondtry2', store });
  next.inc.accept();
  assert.equal(next.sent.at(-1).offset, 2000);
  sendBytes(next.inc, 1, TWO_BIN, { size: 1000 });
  assert.equal(next.inc.state, 'active', next.inc.error);
  assert.equal(next.inc.continued, 3000, 'what was held of two.bin did not count');
  next.inc.control(fileEnd(1, sha(TWO_BIN)));
  await flush();
  assert.equal(next.inc.state, 'done', next.inc.error);
  const two = next.inc.saved.find((f) => f.path === 'two.bin');
  assert.deepEqual(new Uint8Array(await resolveObjectURL(two.url).arrayBuffer()), TWO_BIN, 'the old bytes are gone from the file');
  next.inc.chunk(chunkMsg(1, 0, TWO_BIN.subarray(0, 10)));
  assert.equal(next.inc.state, 'done', 'only the first chunk after the accept may start a file over');
});

test('earlier: no continuing for another certificate, another sender, other files, or a transfer still connected', async (t) => {
  // Guards: each condition of continues() on its own; a plain accept then.
  for (const [why, change] of [
    ['another certificate', { fp: FP('22') }],
    ['another guest', { peer: 'g-someone-else' }],
  ]) {
    const store = new SpyStore(1 << 30);
    const old = await interrupted(t, store, 2000);
    const next = make(t, { conn: 'secondtry3', store, ...change });
    next.inc.accept();
    assert.deepEqual(next.sent, [{ type: 'accept', file: 0, offset: 0 }], why);
    assert.equal(old.state, 'active', why);
    old.end('failed', 'done with it'); // out of the way of the next case
  }
  const store = new SpyStore(1 << 30);
  const old = await interrupted(t, store, 2000);
  const next = make(t, { conn: 'secondtry4', store });
  assert.equal(continues(next.inc, old), true);
  old.interrupted = false;
  assert.equal(continues(next.inc, old), false, 'its sender is still there');
  old.interrupted = true;
  next.inc.entries = ENTRIES.map((e) => ({ ...e, mtime: e.mtime + 1 }));
  assert.equal(continues(next.inc, old), false, 'other files');
  next.inc.entries = ENTRIES;
  assert.equal(continues(next.inc, { ...old, store: new SpyStore(1) }), false, 'another store');
  assert.equal(continues(next.inc, { ...old, storing: 1 }), false, 'a file still being closed');
  old.end('failed', 'over');
  assert.equal(continues(next.inc, old), false, 'an ended transfer');
});
