// Where a transfer the page receives into the browser's storage stands,
// kept in IndexedDB so that it outlives a reload: its manifest, the bytes
// held of each file, each file's SHA-256 state and the files verified. A
// save is written only once the store has every byte it counts on disk.
// After a reload the page takes the transfer up from there when its sender
// reconnects (docs/protocol.md, "Resume").

import { idbAll, idbDelete, idbPut } from '../idb.js';
import { Sha256 } from '../sha256.js';
import { Incoming, isFinal, RESUME_WAIT } from './incoming.js';

const KEEP_FOR = 24 * 3600 * 1000; // a transfer not taken up within this is dropped

export class Keeper {
  constructor(store) {
    this.store = store;
    this.chain = Promise.resolve(); // saves and removals, in order
  }

  /** load returns the transfers kept from earlier visits, dropping old ones. */
  static async load() {
    const fresh = [];
    for (const r of await idbAll('transfers')) {
      if (r && typeof r.id === 'string' && Date.now() - r.at < KEEP_FOR) fresh.push(r);
      else if (r?.id) await idbDelete('transfers', r.id);
    }
    return fresh;
  }

  /** save records where inc stands, once its bytes so far are on disk. */
  save(inc) {
    const rec = snapshot(inc);
    this.chain = this.chain
      .then(() => this.store.sync(inc.key))
      .then(() => (isFinal(inc.state) ? null : idbPut('transfers', inc.key, rec)))
      .catch((err) => console.warn(`ferry: where ${inc.id} stands is not kept: ${err.message}`));
  }

  forget(inc) {
    this.chain = this.chain.then(() => idbDelete('transfers', inc.key)).catch(() => {});
  }

  /**
   * restore makes the transfer of a kept record again, interrupted: its
   * sender's next session continues it (Incoming.reconnect), and if none
   * comes within RESUME_WAIT it has failed.
   */
  async restore(rec, { hub, changed, download }) {
    const inc = new Incoming({
      hub, peer: rec.peer, peerName: rec.peerName, peerKind: rec.peerKind, conn: rec.conn, session: rec.session, sdp: '',
      store: this.store, changed, download, keeper: this,
    });
    Object.assign(inc, {
      transfer: rec.transfer, count: rec.count, senderName: rec.senderName, entries: rec.entries, files: rec.files,
      bytes: rec.bytes, held: rec.held, finished: rec.finished, want: rec.want, verified: rec.verified, done: rec.done,
      firstSession: rec.session, state: 'active', interrupted: true, key: rec.id, cert: rec.cert || '',
    });
    inc.hashes = rec.hashes.map((s, i) => (s ? Sha256.restore(s) : rec.finished[i] ? null : new Sha256()));
    for (const f of rec.saved) {
      inc.saved.push({ ...f, url: await this.store.url(inc.key, f.index, f.path.split('/').pop()) });
    }
    inc.giveUp = setTimeout(() => {
      if (inc.interrupted && !isFinal(inc.state)) inc.end('failed', `${inc.peerName} did not come back to finish the transfer`);
    }, RESUME_WAIT);
    return inc;
  }
}

/**
 * snapshot is where inc stands, as plain data, under the key its files
 * have in the store (a transfer that continued an earlier one keeps that
 * one's), with its sender's certificate, which a new offer of the same
 * files must match to continue it. A file verified but not yet
 * closed in the store counts as not begun: it is received again.
 */
export function snapshot(inc) {
  const saved = new Set(inc.saved.map((f) => f.index));
  const held = [...inc.held];
  const finished = inc.entries.map((e, i) => !!e.dir || saved.has(i));
  // The sender goes on from the first file not finished, so what is held
  // of a file after it is received again too.
  const first = finished.indexOf(false);
  const restart = held.map((_, i) => (inc.finished[i] && !finished[i]) || (first >= 0 && i > first && held[i] > 0));
  let done = inc.done;
  for (let i = 0; i < held.length; i++) {
    if (restart[i]) {
      done -= held[i];
      held[i] = 0;
    }
  }
  return {
    id: inc.key, cert: inc.cert, at: Date.now(), peer: inc.peer, peerName: inc.peerName, peerKind: inc.peerKind, conn: inc.conn,
    session: inc.session, transfer: inc.transfer, count: inc.count, senderName: inc.senderName,
    entries: inc.entries, files: inc.files, bytes: inc.bytes, held, finished, want: [...inc.want],
    verified: saved.size, done,
    hashes: inc.hashes.map((h, i) => (h && !inc.finished[i] && !restart[i] ? h.save() : null)),
    saved: inc.saved.map(({ path, size, sha256, index }) => ({ path, size, sha256, index })),
  };
}
