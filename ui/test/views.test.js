import { test } from 'node:test';
import assert from 'node:assert/strict';
import { phoneLink } from '../js/views/device.js';
import { devices } from '../js/views/nearby.js';
import { summary } from '../js/views/transfers.js';

test('the phone link is the first LAN address, IPv6 in brackets', () => {
  assert.equal(phoneLink({ addresses: ['127.0.0.1', '192.168.1.5'], port: 7466, phone: 'http://192.168.1.5:7466/' }), 'http://192.168.1.5:7466/');
  assert.equal(phoneLink({ addresses: ['127.0.0.1'], port: 7466 }), '');
  assert.equal(phoneLink(null), '');
});

test('nearby lists daemons and guests, never this device, each once', () => {
  const state = {
    status: { id: 'SELF' },
    peers: [{ id: 'D1', name: 'desk', trusted: true }],
    nearby: [
      { id: 'SELF', name: 'me', kind: 'daemon', home: 'SELF' },
      { id: 'D1', name: 'desk', kind: 'daemon', home: 'D1' },
      { id: 'D2', name: 'attic', kind: 'daemon', home: 'D2' },
      { id: 'g1', name: 'Phone', kind: 'guest', home: 'D1' },
    ],
  };
  const got = devices(state);
  assert.deepEqual(got.map((d) => [d.id, d.kind]), [['D1', 'daemon'], ['D2', 'daemon'], ['g1', 'guest']]);
  assert.equal(got[0].trusted, true);
  assert.equal(got[1].linkedOnly, true);
  assert.equal(got[2].homeName, 'desk');
});

test('a transfer is summed up by its top-level items', () => {
  assert.equal(summary({ items: ['photo.jpg'], files: 1 }), 'photo.jpg');
  assert.equal(summary({ items: ['Holiday', 'Holiday/a.jpg', 'Holiday/b.jpg', 'notes.txt'], files: 3 }), 'Holiday and 1 more');
  assert.equal(summary({ items: [], files: 2 }), '2 files');
});
