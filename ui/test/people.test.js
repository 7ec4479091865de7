// The guest page's pure people helpers (ui/js/guest/people.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { visible, guestName, normalizeCode } from '../js/guest/people.js';

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
