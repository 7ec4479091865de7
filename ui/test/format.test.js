import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bytes, rate, duration, eta, percent, ago, stateWords, quality, speedWords } from '../js/format.js';

test('bytes in binary units, as the CLI prints them', () => {
  assert.equal(bytes(0), '0 B');
  assert.equal(bytes(1023), '1023 B');
  assert.equal(bytes(1024), '1.0 KiB');
  assert.equal(bytes(1536), '1.5 KiB');
  assert.equal(bytes(20 * 1024 ** 3), '20.0 GiB');
  assert.equal(bytes(-1), '?');
  assert.equal(bytes(NaN), '?');
});

test('rate, duration and eta', () => {
  assert.equal(rate(0), '–');
  assert.equal(rate(2.5e6), '2.5 MB/s');
  assert.equal(rate(113e6), '113 MB/s');
  assert.equal(duration(45), '45 s');
  assert.equal(duration(185), '3 min 05 s');
  assert.equal(duration(7620), '2 h 07 min');
  assert.equal(eta(100e6, 10e6), '10 s');
  assert.equal(eta(100, 0), '–');
  assert.equal(eta(0, 0), '0 s');
});

test('percent stays within 0 to 100', () => {
  assert.equal(percent(0, 0), 100);
  assert.equal(percent(1, 3), 33);
  assert.equal(percent(5, 3), 100);
});

test('ago', () => {
  const now = Date.parse('2026-01-01T12:00:00Z');
  assert.equal(ago('2026-01-01T11:59:58Z', now), 'just now');
  assert.equal(ago('2026-01-01T11:55:00Z', now), '5 min ago');
  assert.equal(ago('2025-12-30T12:00:00Z', now), '2 d ago');
  assert.equal(ago('not a time', now), '');
});

test('state words name the peer and the direction', () => {
  assert.equal(stateWords({ state: 'pending', direction: 'out', peerName: 'desk' }), 'Waiting for desk to accept');
  assert.equal(stateWords({ state: 'pending', direction: 'in', peerName: 'Phone' }), 'Phone wants to send you this');
  assert.equal(stateWords({ state: 'interrupted', direction: 'in', peerName: 'desk' }), 'Paused: waiting for desk to come back');
  assert.equal(stateWords({ state: 'failed', error: 'the downloads folder is full' }), 'Failed: the downloads folder is full');
  assert.equal(stateWords({ state: 'active', direction: 'out', addr: '10.0.0.2:7466' }), 'Sending to 10.0.0.2:7466');
});

test('quality names a link by its speed, and speedWords puts the two together', () => {
  // Guards: the thresholds (1 and 10 MB/s) and nothing said of an unknown speed.
  assert.equal(quality(0), '');
  assert.equal(quality(NaN), '');
  assert.equal(quality(999_999), 'slow');
  assert.equal(quality(1e6), 'medium');
  assert.equal(quality(9_999_999), 'medium');
  assert.equal(quality(10e6), 'fast');
  assert.equal(speedWords(23e6), '23 MB/s, fast link');
  assert.equal(speedWords(0), '–');
});
