import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initialState, reduce, speed, incoming, current, history, newOffers, newMessages, SPEED_WINDOW } from '../js/state.js';

const snap = (boot, transfers = []) => ({
  type: 'snapshot',
  at: 0,
  data: { boot, status: { name: 'laptop' }, peers: [], rooms: { nearby: [], rooms: [] }, transfers, messages: [] },
});

test('a snapshot replaces everything and a new boot is noticed', () => {
  let s = reduce(initialState(), snap('b1'));
  assert.equal(s.connected, true);
  assert.equal(s.status.name, 'laptop');
  assert.equal(s.restarted, false);
  s = reduce(s, { type: 'lost' });
  assert.equal(s.connected, false);
  s = reduce(s, snap('b1'));
  assert.equal(s.restarted, false);
  s = reduce(s, snap('b2'));
  assert.equal(s.restarted, true);
});

test('speed over a rolling window', () => {
  const t = (done) => [{ id: 'x', direction: 'out', state: 'active', done, bytes: 100e6 }];
  let s = reduce(initialState(), snap('b', t(0)));
  s = reduce(s, { type: 'transfers', at: 1000, data: t(10e6) });
  s = reduce(s, { type: 'transfers', at: 2000, data: t(30e6) });
  assert.equal(speed(s, 'x'), 15e6);
  s = reduce(s, { type: 'transfers', at: 2000 + SPEED_WINDOW, data: t(40e6) });
  assert.equal(speed(s, 'x'), 10e6 / (SPEED_WINDOW / 1000));
  assert.equal(speed(s, 'nope'), 0);
  s = reduce(s, { type: 'transfers', at: 9000, data: [{ id: 'x', state: 'done', done: 100e6 }] });
  assert.equal(speed(s, 'x'), 0);
});

test('incoming, current and history', () => {
  const ts = [
    { id: 'a', direction: 'in', state: 'pending', started: '2026-01-01T10:00:02Z' },
    { id: 'b', direction: 'in', state: 'pending', started: '2026-01-01T10:00:01Z' },
    { id: 'c', direction: 'out', state: 'pending', started: '2026-01-01T10:00:00Z' },
    { id: 'd', direction: 'in', state: 'done', started: '2026-01-01T09:00:00Z' },
  ];
  const s = reduce(initialState(), snap('b', ts));
  assert.deepEqual(incoming(s).map((t) => t.id), ['b', 'a']);
  assert.deepEqual(current(s).map((t) => t.id), ['c']);
  assert.deepEqual(history(s).map((t) => t.id), ['d']);
  const more = reduce(s, { type: 'transfers', at: 1, data: [...ts, { id: 'e', direction: 'in', state: 'pending', started: '2026-01-01T10:00:03Z' }] });
  assert.deepEqual(newOffers(s, more), ['e']);
});

test('messages and settings arrive whole', () => {
  const s0 = reduce(initialState(), snap('b'));
  const s1 = reduce(s0, { type: 'messages', at: 1, data: [{ id: 'm1', direction: 'in', text: 'hi' }, { id: 'm2', direction: 'out', text: 'yo' }] });
  assert.equal(s1.messages.length, 2);
  assert.deepEqual(newMessages(s0, s1).map((m) => m.id), ['m1']);
  const s2 = reduce(s1, { type: 'status', at: 2, data: { status: { name: 'desk' }, settings: { accept: 'all' } } });
  assert.equal(s2.status.name, 'desk');
  assert.equal(s2.settings.accept, 'all');
});

test('unknown events change nothing', () => {
  const s = initialState();
  assert.equal(reduce(s, { type: 'wave', data: {} }), s);
});
