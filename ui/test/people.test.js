// The guest page's pure people helpers (ui/js/guest/people.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { visible, guestName, normalizeCode } from '../js/guest/people.js';

// ---------------------------------------------------------------------------
// people.js

const MEMBERS = [
  { id: 'g-self', name: 'Me', kind: 'guest', rooms: ['ABCD2345'] },
  { id: 'g-zoe', name: 'Zoe', kind: 'guest', rooms: ['ABCD2345'] },
  { id: 'd-studio', name: 'studio', kind: 'daemon', rooms: [] },
  { id: 'g-anna', name: 'Anna', kind: 'guest', rooms: ['WXYZ6789', 'ABCD2345'] },
  { id: 'd-attic', name: 'attic', kind: 'daemon', rooms: ['ABCD2345'] },
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
  assert.deepEqual(visible(MEMBERS, 'g-self', 'ABCD2345').map((m) => m.id), ['d-attic', 'g-anna', 'g-zoe']);
  assert.deepEqual(visible(MEMBERS, 'g-self', 'WXYZ6789').map((m) => m.id), ['g-anna']);
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
  // Guards: docs/protocol.md "Code rooms": 8 characters of
  // ABCDEFGHJKMNPQRSTUVWXYZ23456789, typed in any case with spaces or dashes.
  assert.equal(normalizeCode('ABCD2345'), 'ABCD2345');
  assert.equal(normalizeCode('abcd2345'), 'ABCD2345');
  assert.equal(normalizeCode(' abcd-2345 '), 'ABCD2345');
  assert.equal(normalizeCode('a b\tc d-2-3\n45'), 'ABCD2345');
  assert.equal(normalizeCode('WXYZ6789'), 'WXYZ6789');
});

test('normalizeCode refuses what is not a code', () => {
  // Guards: length and alphabet (no 0, O, 1, I or L), other separators.
  for (const s of ['', 'ABCD234', 'ABCD23456', 'ABCD2340', 'ABCD234O', 'ABCD2341', 'ABCD234I', 'ABCD234L', 'abcd234l', 'ABCD.2345', 'ABCD_2345', 'ÄBCD2345', null, undefined, 12345678]) {
    assert.equal(normalizeCode(s), '', JSON.stringify(s));
  }
});
