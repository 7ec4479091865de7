// Where a received transfer stands, as kept for after a reload
// (ui/js/engine/kept.js): what a reloaded page may take up and what it
// must receive again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { snapshot } from '../js/engine/kept.js';
import { Sha256 } from '../js/sha256.js';

function standing() {
  const done = new Sha256();
  done.update(new Uint8Array(10)).hex(); // a verified file's hash is ended
  return {
    id: 'k3qf7zq2m5xw', peer: 'P', peerName: 'laptop', peerKind: 'daemon', conn: 'k3qf7zq2m5xw', session: 7,
    transfer: 'k3qf7zq2m5xw', count: 4, senderName: 'laptop', files: 3, bytes: 60,
    entries: [{ path: 'd', dir: true }, { path: 'd/a', size: 10 }, { path: 'b', size: 20 }, { path: 'c', size: 30 }],
    held: [0, 10, 20, 4], finished: [true, true, true, false], want: ['', 'x'.repeat(64), 'y'.repeat(64), ''],
    hashes: [null, done, new Sha256().update(new Uint8Array(20)), new Sha256().update(new Uint8Array(4))],
    saved: [{ path: 'd/a', size: 10, sha256: 'x'.repeat(64), index: 1, url: 'blob:x' }], verified: 2, done: 34,
  };
}

test('kept: a file verified but not yet closed, and what follows it, are received again', () => {
  // Guards: b is finished in memory but not in the store, so it goes again
  // from 0, and c, after it, too; a stays verified; the sums follow.
  const s = snapshot(standing());
  assert.deepEqual(s.finished, [true, true, false, false]);
  assert.deepEqual(s.held, [0, 10, 0, 0]);
  assert.equal(s.done, 10);
  assert.equal(s.verified, 1);
  assert.deepEqual(s.hashes, [null, null, null, null]);
  assert.deepEqual(s.saved, [{ path: 'd/a', size: 10, sha256: 'x'.repeat(64), index: 1 }], 'no URL is kept: it dies with the page');
  assert.deepEqual(structuredClone(s), s, 'plain data, as IndexedDB stores it');
});

test('kept: a file under way keeps its bytes and its hash state', () => {
  // Guards: the first file not finished is taken up where it stands.
  const inc = standing();
  inc.saved.push({ path: 'b', size: 20, sha256: 'y'.repeat(64), index: 2, url: 'blob:y' });
  inc.hashes[2] = null;
  const s = snapshot(inc);
  assert.deepEqual(s.held, [0, 10, 20, 4]);
  assert.equal(s.done, 34);
  assert.equal(Sha256.restore(s.hashes[3]).update(new Uint8Array(26)).hex(), new Sha256().update(new Uint8Array(30)).hex());
});
