// The receiver (ui/js/engine/incoming.js) taking an offer and its files,
// and refusing bad input with the protocol's error codes (docs/protocol.md,
// section 2). See receiver.js for how it is driven.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { resolveObjectURL } from 'node:buffer';
import {
  encodeControl, decodeControl, putChunkHeader, pageEntries, ChunkHeaderBytes, MaxChunkBytes, MaxControlBytes,
} from '../js/codec.js';
import { Incoming, badPath, isFinal } from '../js/engine/incoming.js';
import { MemoryStore } from '../js/engine/store.js';
import {
  ONE, WITH_DIR, BAD_NAMES, TRANSFER, PAYLOAD, sha, bytesOf, flush, SpyStore, slowStore, chunkMsg, offerText, receiver, assertValid, offered, accepted, sendBytes, fileEnd, assertFailed,
} from './receiver.js';

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
// Files that come as downloads from the sending computer (fetch)

test('fetch: links and hashes hand every file to the browser, nothing held in the page', (t) => {
  // Guards: fetch only from pending, each link handed to download once,
  // the hash kept to show, done once each file has both, no chunk expected.
  const entries = [{ path: 'clips', dir: true }, { path: 'clips/a.mov', size: 5, mtime: 1 }, { path: 'b.mov', size: 0, mtime: 1 }];
  const r = offered(t, entries);
  const downloads = [];
  r.inc.download = (url, name) => downloads.push([url, name]);
  assert.equal(r.inc.canFetch, true);
  r.inc.fetch();
  assert.equal(r.inc.state, 'active');
  assert.deepEqual(r.types(), ['fetch']);
  const a = 'http://192.0.2.7:7860/get/AAAA/a.mov';
  r.inc.control(encodeControl({ type: 'link', file: 1, path: a }));
  r.inc.control(encodeControl({ type: 'file-end', file: 1, sha256: 'a'.repeat(64) }));
  assert.equal(r.inc.state, 'active', 'b.mov has no link yet');
  r.inc.control(encodeControl({ type: 'link', file: 2, path: 'http://192.0.2.7:7860/get/BBBB/b.mov' }));
  r.inc.control(encodeControl({ type: 'file-end', file: 2, sha256: 'b'.repeat(64) }));
  assert.equal(r.inc.state, 'done', r.inc.error);
  assert.deepEqual(downloads, [[a, 'a.mov'], ['http://192.0.2.7:7860/get/BBBB/b.mov', 'b.mov']]);
  assert.deepEqual(r.inc.want, ['', 'a'.repeat(64), 'b'.repeat(64)]);
  assert.deepEqual(r.store.discarded, []);
  assertValid(r);
});

for (const [name, msg, code] of [
  ['a link to something else than a ferry download', { type: 'link', file: 1, path: 'http://192.0.2.7/elsewhere' }, 'bad-message'],
  ['a javascript: link', { type: 'link', file: 1, path: 'javascript:alert(1)//get/' }, 'bad-message'],
  ['a relative link', { type: 'link', file: 1, path: '/get/AAAA/a.mov' }, 'bad-message'],
  ['a link for a folder', { type: 'link', file: 0, path: 'http://192.0.2.7/get/AAAA/clips' }, 'unknown-file'],
  ['a link for no file', { type: 'link', file: 9, path: 'http://192.0.2.7/get/AAAA/x' }, 'unknown-file'],
]) {
  test(`fetch: ${name} fails the transfer`, (t) => {
    // Guards: the page follows only links to a ferry download of a file it was offered.
    const r = offered(t, [{ path: 'clips', dir: true }, { path: 'clips/a.mov', size: 5, mtime: 1 }]);
    const downloads = [];
    r.inc.download = (url) => downloads.push(url);
    r.inc.fetch();
    r.inc.control(encodeControl(msg));
    assert.equal(r.inc.state, 'failed');
    assert.equal(r.last().code, code);
    assert.deepEqual(downloads, []);
  });
}

test('fetch: a link nobody asked for fails; a page in a secure context or an offer from a browser cannot fetch', (t) => {
  // Guards: links only after fetch; fetch only where it is the way.
  const r = offered(t, [{ path: 'a', size: 1, mtime: 1 }]);
  r.inc.accept();
  r.inc.control(encodeControl({ type: 'link', file: 0, path: 'http://192.0.2.7/get/AAAA/a' }));
  assert.equal(r.inc.state, 'failed');
  const fromBrowser = offered(t, [{ path: 'a', size: 1, mtime: 1 }]);
  fromBrowser.inc.peerKind = 'guest';
  assert.equal(fromBrowser.inc.canFetch, false);
  fromBrowser.inc.fetch();
  assert.equal(fromBrowser.inc.state, 'pending');
  const onDisk = offered(t, [{ path: 'a', size: 1, mtime: 1 }]);
  onDisk.inc.store.kind = 'disk';
  assert.equal(onDisk.inc.canFetch, false);
});
