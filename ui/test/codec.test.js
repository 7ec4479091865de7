// Runs the shared vectors of docs/testdata (see its README.md) against
// ui/js/codec.js; daemon/transfer/vectors_test.go runs the same cases
// against the daemon's codec.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  decodeControl, encodeControl, pageEntries, putChunkHeader, decodeChunk, utf8Length,
  MaxControlBytes, MaxEntriesPerPage, ChunkHeaderBytes,
} from '../js/codec.js';

const load = (name) => JSON.parse(readFileSync(new URL(`../../docs/testdata/${name}`, import.meta.url), 'utf8'));

function fromHex(s) {
  assert.match(s, /^(?:[0-9a-f]{2})*$/i, 'hex digits in pairs');
  return new Uint8Array(Buffer.from(s, 'hex'));
}
const toHex = (b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

// expandText returns the string a text or hex field gives: a string, or
// {join: [pieces]} where a piece is a string or {repeat: s, count: n}.
function expandText(src) {
  if (typeof src === 'string') return src;
  assert.deepEqual(Object.keys(src), ['join'], 'a string or a join rule');
  return src.join.map((p) => {
    if (typeof p === 'string') return p;
    assert.deepEqual(Object.keys(p).sort(), ['count', 'repeat'], 'a piece is a string or a repeat');
    return p.repeat.repeat(p.count);
  }).join('');
}
const expandBytes = (src) => fromHex(expandText(src));

// expandValue expands the rules of a decoded message: {join: [...]} is a
// string and an array element {repeat: v, count: n} is n copies of v.
function expandValue(v) {
  if (Array.isArray(v)) {
    return v.flatMap((e) => {
      const isRepeat = e !== null && typeof e === 'object' && !Array.isArray(e)
        && Object.keys(e).sort().join() === 'count,repeat';
      return isRepeat ? Array.from({ length: e.count }, () => expandValue(e.repeat)) : [expandValue(e)];
    });
  }
  if (v !== null && typeof v === 'object') {
    if (Object.keys(v).join() === 'join') return expandText(v);
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, expandValue(x)]));
  }
  return v;
}

// expect returns what the browser must do for a case: the case's outcome,
// or the one its "js" field records.
function expect(c) {
  if (!c.js) return c;
  assert.ok(c.js.why, 'a "js" outcome says why');
  return c.js;
}

const controlCases = load('control.json');

test('control.json: names are unique and every case decodes or encodes', () => {
  const names = new Set();
  for (const c of controlCases) {
    assert.ok(c.name && !names.has(c.name), `name ${JSON.stringify(c.name)} is empty or repeated`);
    names.add(c.name);
    assert.ok('ok' in c || c.encode === true, c.name);
    assert.ok(('text' in c) !== ('hex' in c), `${c.name}: text or hex`);
  }
  assert.ok(controlCases.length > 100);
});

for (const c of controlCases) {
  if (!('ok' in c)) continue;
  test(`decodeControl: ${c.name}`, () => {
    // A data channel delivers a text message decoded from UTF-8, invalid
    // bytes replaced as the WHATWG decoder does.
    const text = 'hex' in c ? new TextDecoder().decode(expandBytes(c.hex)) : expandText(c.text);
    const want = expect(c);
    const got = decodeControl(text);
    if (!want.ok) {
      assert.deepEqual({ ok: got.ok, code: got.code }, { ok: false, code: want.code }, got.text ?? 'decoded');
      assert.equal(typeof got.text, 'string');
      return;
    }
    assert.equal(got.ok, true, got.text);
    assert.deepEqual(got.msg, expandValue(want.msg));
    // What decodes encodes to a message that decodes the same.
    const again = decodeControl(encodeControl(got.msg));
    assert.equal(again.ok, true, again.text);
    assert.deepEqual(again.msg, got.msg);
  });
}

for (const c of controlCases) {
  if (!c.encode) continue;
  test(`encodeControl: ${c.name}`, () => {
    const msg = expandValue(c.msg);
    if (c.js?.throws) {
      assert.ok(c.js.why, 'a "js" outcome says why');
      assert.throws(() => encodeControl(msg), { name: c.js.throws });
      return;
    }
    assert.equal(encodeControl(msg), expandText(c.text));
  });
}

const chunks = load('chunks.json');

for (const c of chunks.decode) {
  test(`decodeChunk: ${c.name}`, () => {
    const b = expandBytes(c.hex);
    const want = expect(c);
    // The same bytes as a Uint8Array, an ArrayBuffer and a view at an odd
    // offset into a larger buffer.
    const inner = new Uint8Array(b.length + 8).fill(0xee);
    inner.set(b, 3);
    for (const input of [b, b.slice().buffer, inner.subarray(3, 3 + b.length)]) {
      const got = decodeChunk(input);
      if (!want.ok) {
        assert.deepEqual({ ok: got.ok, code: got.code }, { ok: false, code: want.code });
        continue;
      }
      assert.equal(got.ok, true, got.text);
      assert.deepEqual({ file: got.file, offset: got.offset }, { file: want.file, offset: want.offset });
      assert.equal(toHex(got.payload), toHex(expandBytes(want.payload)));
    }
  });
}

for (const c of chunks.put) {
  test(`putChunkHeader: ${c.name}`, () => {
    const b = new Uint8Array(ChunkHeaderBytes + 1).fill(0xee);
    const buf = new ArrayBuffer(ChunkHeaderBytes + 5);
    const view = new DataView(buf, 3, ChunkHeaderBytes);
    if (c.js?.throws) {
      assert.ok(c.js.why, 'a "js" outcome says why');
      assert.throws(() => putChunkHeader(b, c.file, c.offset), { name: c.js.throws });
      assert.throws(() => putChunkHeader(view, c.file, c.offset), { name: c.js.throws });
      return;
    }
    putChunkHeader(b, c.file, c.offset);
    assert.equal(toHex(b), c.hex + 'ee');
    putChunkHeader(view, c.file, c.offset);
    assert.equal(toHex(new Uint8Array(buf)), '000000' + c.hex + '0000');
    // The header decodes back to what was put.
    const chunk = new Uint8Array(ChunkHeaderBytes + 1);
    putChunkHeader(chunk, c.file, c.offset);
    const got = decodeChunk(chunk);
    if (c.file <= 100_000) assert.deepEqual({ ok: got.ok, file: got.file, offset: got.offset }, { ok: true, file: c.file, offset: c.offset });
  });
}

// pageEntries: a manifest split into an offer and entries messages.

const encodedSize = (m) => utf8Length(encodeControl(m));

// checkPages checks the pages of entries: an offer then entries messages,
// each decodable, at most 256 entries and maxBytes encoded, each one full
// (the next entry would not fit), carrying every entry in order.
function checkPages(pages, entries, maxBytes = MaxControlBytes, head = {}) {
  assert.equal(pages[0].type, 'offer');
  assert.equal(pages[0].count, entries.length);
  assert.equal(pages[0].bytes, head.bytes ?? entries.reduce((s, e) => s + (e.size ?? 0), 0));
  if (head.transfer) assert.equal(pages[0].transfer, head.transfer);
  for (const p of pages.slice(1)) assert.deepEqual(Object.keys(p).sort(), ['entries', 'type']);
  assert.ok(pages.slice(1).every((p) => p.type === 'entries'));
  assert.deepEqual(pages.flatMap((p) => p.entries), entries);
  pages.forEach((p, i) => {
    const size = encodedSize(p);
    assert.ok(p.entries.length >= 1 && p.entries.length <= MaxEntriesPerPage, `page ${i}: ${p.entries.length} entries`);
    assert.ok(size <= maxBytes, `page ${i}: ${size} bytes`);
    const d = decodeControl(encodeControl(p));
    assert.equal(d.ok, true, `page ${i}: ${d.text}`);
    assert.equal(d.msg.entries.length, p.entries.length);
    if (i + 1 < pages.length && p.entries.length < MaxEntriesPerPage) {
      const more = { ...p, entries: [...p.entries, pages[i + 1].entries[0]] };
      assert.ok(encodedSize(more) > maxBytes, `page ${i} of ${size} bytes could have held the next entry`);
    }
  });
}

const head = { transfer: 'k3qf7zq2m5xwj4rr', name: 'studio' };

test('pageEntries: 256 entries a page', () => {
  const entries = Array.from({ length: 1000 }, (_, i) => ({ path: `f/${i}`, size: i, mtime: 1700000000000 + i }));
  const pages = pageEntries(entries, undefined, head);
  assert.deepEqual(pages.map((p) => p.entries.length), [256, 256, 256, 232]);
  checkPages(pages, entries, MaxControlBytes, head);
  assert.deepEqual(pageEntries(entries.slice(0, 256), undefined, head).map((p) => p.entries.length), [256]);
  assert.deepEqual(pageEntries(entries.slice(0, 257), undefined, head).map((p) => p.entries.length), [256, 1]);
  assert.deepEqual(pageEntries(entries.slice(0, 768), undefined, head).map((p) => p.entries.length), [256, 256, 256]);
  assert.deepEqual(pageEntries(entries.slice(0, 1), undefined, head).map((p) => p.entries.length), [1]);
});

test('pageEntries: long paths end a page at 65536 bytes encoded', () => {
  // Paths of characters that take more bytes encoded than in UTF-16:
  // multi-byte characters and ones encodeControl escapes.
  const parts = ['é', '😀', '€', '<', '&', '"', '\\', '\u0001', '\u2028', 'a'];
  const entries = Array.from({ length: 700 }, (_, i) => {
    const n = 100 + ((i * 7919) % 900);
    const path = Array.from({ length: n }, (_, j) => parts[(i + j) % parts.length]).join('');
    return i % 5 === 0 ? { path, dir: true } : { path, size: i * 1000, mtime: i };
  });
  const pages = pageEntries(entries, undefined, head);
  assert.ok(pages.length > 3 && pages.every((p) => p.entries.length < MaxEntriesPerPage));
  checkPages(pages, entries, MaxControlBytes, head);
});

test('pageEntries: a page of exactly 65536 bytes', () => {
  // An offer whose one entry makes it exactly 65536 bytes, then an entries
  // message of exactly 65536 bytes.
  const offerBare = encodedSize({ type: 'offer', ...head, count: 3, bytes: 0, entries: [{ path: '' }] });
  const entriesBare = encodedSize({ type: 'entries', entries: [{ path: '' }] });
  const entries = [{ path: 'a'.repeat(MaxControlBytes - offerBare) }, { path: 'b'.repeat(MaxControlBytes - entriesBare) }, { path: 'c' }];
  const pages = pageEntries(entries, undefined, head);
  assert.deepEqual(pages.map((p) => p.entries.length), [1, 1, 1]);
  assert.deepEqual(pages.slice(0, 2).map(encodedSize), [MaxControlBytes, MaxControlBytes]);
  checkPages(pages, entries, MaxControlBytes, head);
  // One byte more and the entry fits no message.
  const tooLong = [{ path: 'a' }, { path: 'b'.repeat(MaxControlBytes - entriesBare + 1) }];
  assert.throws(() => pageEntries(tooLong, undefined, head), RangeError);
  assert.equal(decodeControl(encodeControl({ type: 'entries', entries: [tooLong[1]] })).code, 'too-large');
});

test('pageEntries: a smaller bound', () => {
  const entries = Array.from({ length: 300 }, (_, i) => ({ path: 'p'.repeat(i % 40) + i, size: i % 3 }));
  for (const maxBytes of [150, 151, 200, 1000]) {
    checkPages(pageEntries(entries, maxBytes, { transfer: 'abcdefgh' }), entries, maxBytes, { transfer: 'abcdefgh' });
  }
});

test('pageEntries: bytes given, and what it refuses', () => {
  const entries = [{ path: 'a', size: 5 }, { path: 'b', dir: true }];
  checkPages(pageEntries(entries, undefined, { ...head, bytes: 99 }), entries, MaxControlBytes, { ...head, bytes: 99 });
  assert.throws(() => pageEntries([], undefined, head), RangeError);
  assert.throws(() => pageEntries(entries, undefined, { ...head, count: 3 }), RangeError);
  assert.throws(() => pageEntries(Array.from({ length: 100_001 }, () => ({ path: 'a' })), undefined, head), RangeError);
});
