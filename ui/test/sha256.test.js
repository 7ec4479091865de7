// Runs the SHA-256 vectors of docs/testdata/sha256.json (computed with Go's
// crypto/sha256; see its README.md) against ui/js/sha256.js.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Sha256, sha256hex, sha256Padding } from '../js/sha256.js';

const cases = JSON.parse(readFileSync(new URL('../../docs/testdata/sha256.json', import.meta.url), 'utf8'));

function fromHex(s) {
  assert.match(s, /^(?:[0-9a-f]{2})*$/i, 'hex digits in pairs');
  return new Uint8Array(Buffer.from(s, 'hex'));
}

// expandText returns the string a text or hex field gives: a string, or
// {join: [pieces]} where a piece is a string or {repeat: s, count: n}.
function expandText(src) {
  if (typeof src === 'string') return src;
  assert.deepEqual(Object.keys(src), ['join'], 'a string or a join rule');
  return src.join.map((p) => (typeof p === 'string' ? p : p.repeat.repeat(p.count))).join('');
}

const input = (c) => ('hex' in c ? fromHex(expandText(c.hex)) : new TextEncoder().encode(expandText(c.text)));

// hashParts hashes bytes fed in the parts that cuts (positions) make.
function hashParts(bytes, cuts) {
  const h = new Sha256();
  let prev = 0;
  for (const cut of [...cuts, bytes.length]) {
    assert.ok(cut >= prev && cut <= bytes.length, `cut ${cut} is out of order or beyond the input`);
    h.update(bytes.subarray(prev, cut));
    prev = cut;
  }
  return h.hex();
}

// A small seeded generator (mulberry32), so that a failing split can be
// found again.
function random(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

for (const c of cases) {
  test(`sha256: ${c.name}`, () => {
    const bytes = input(c);
    assert.equal(bytes.length, c.length);
    assert.equal(sha256hex(bytes), c.sha256);
    for (const cuts of c.splits ?? []) assert.equal(hashParts(bytes, cuts), c.sha256, `split ${cuts}`);
  });
}

test('sha256: random splits equal the whole', () => {
  const rand = random(20240611);
  for (const c of cases) {
    const bytes = input(c);
    for (let round = 0; round < 8; round++) {
      // Few cuts anywhere, or many close together (every size from 0 to
      // 130 bytes, around the 64-byte block).
      const many = round % 2 === 1 && bytes.length > 0;
      const n = many ? Math.min(200, bytes.length) : Math.floor(rand() * 6);
      let cuts;
      if (many) {
        const start = Math.floor(rand() * bytes.length);
        cuts = [start];
        for (let i = 1; i < n; i++) cuts.push(Math.min(bytes.length, cuts[i - 1] + Math.floor(rand() * 131)));
      } else {
        cuts = Array.from({ length: n }, () => Math.floor(rand() * (bytes.length + 1))).sort((a, b) => a - b);
      }
      assert.equal(hashParts(bytes, cuts), c.sha256, `${c.name}, cuts ${cuts.slice(0, 20)}`);
    }
  }
});

test('sha256: every kind of byte container', () => {
  const c = cases.find((x) => x.name === 'every byte value');
  const bytes = input(c);
  const buf = new ArrayBuffer(bytes.length + 10);
  new Uint8Array(buf, 5).set(bytes);
  assert.equal(new Sha256().update(bytes.slice().buffer).hex(), c.sha256);
  assert.equal(new Sha256().update(new DataView(buf, 5, bytes.length)).hex(), c.sha256);
  assert.equal(new Sha256().update(new Uint8Array(buf, 5, bytes.length)).hex(), c.sha256);
  assert.equal(new Sha256().update(new Uint16Array(buf, 6, 100)).update(bytes.subarray(201)).hex(),
    sha256hex(new Uint8Array([...new Uint8Array(buf, 6, 200), ...bytes.subarray(201)])));
  assert.equal(toHex(new Sha256().update(bytes).digest()), c.sha256);
  assert.throws(() => new Sha256().update('abc'), TypeError);
});

test('sha256: one digest, no update after it', () => {
  const h = new Sha256().update(new Uint8Array([1]));
  h.digest();
  assert.throws(() => h.digest());
  assert.throws(() => h.update(new Uint8Array([2])));
  assert.throws(() => h.hex());
});

test('sha256: the length in bits beyond 32 bits', () => {
  // FIPS 180-4 §5.1.1: 0x80, zeros up to 56 bytes modulo 64, then the
  // length in bits, 64-bit big-endian.
  const p = sha256Padding(2 ** 29); // 2^32 bits
  assert.equal(p.length, 64);
  assert.equal(toHex(p), '80' + '00'.repeat(55) + '0000000100000000');
  const q = sha256Padding(2 ** 53 - 1); // 63 bytes modulo 64
  assert.equal(q.length, 65);
  assert.equal(toHex(q), '80' + '00'.repeat(56) + '00fffffffffffff8');
  assert.equal(toHex(sha256Padding(55)), '80' + '00000000000001b8');
  assert.equal(sha256Padding(56).length, 72);
  assert.throws(() => sha256Padding(2 ** 53), RangeError);
  assert.throws(() => sha256Padding(-1), RangeError);
});

function toHex(b) {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

test('sha256: a clone hashes what went before and leaves the original going on', () => {
  const data = new Uint8Array(200).map((_, i) => (i * 7) & 255);
  const h = new Sha256().update(data.subarray(0, 70));
  const prefix = h.clone().hex();
  assert.equal(prefix, sha256hex(data.subarray(0, 70)));
  h.update(data.subarray(70));
  assert.equal(h.hex(), sha256hex(data));
});

test('sha256: a saved state, restored, goes on to the same hash', () => {
  const data = new Uint8Array(1000).map((_, i) => (i * 13) & 255);
  for (const cut of [0, 1, 63, 64, 65, 500]) {
    const h = new Sha256().update(data.subarray(0, cut));
    const saved = structuredClone(h.save());
    assert.equal(Sha256.restore(saved).update(data.subarray(cut)).hex(), sha256hex(data), `cut at ${cut}`);
  }
  assert.throws(() => Sha256.restore({ h: [1, 2], block: new Uint8Array(0), length: 0 }));
  assert.throws(() => Sha256.restore({ h: new Array(8).fill(0), block: new Uint8Array(3), length: 64 }));
});
