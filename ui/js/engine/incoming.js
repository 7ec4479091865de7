// A transfer this page receives (docs/protocol.md, "A transfer, receiver's
// view"): answer the sender's connection, collect the manifest, wait for
// the person's answer, then take each file's chunks in order, hash them as
// they come, and give a file to the person only once its SHA-256 matches.
//
// Files go to the page's store (store.js): memory on a plain-HTTP page, which
// holds at most store.limit bytes and says so before anyone accepts a larger
// offer; OPFS in a secure context.

import { Link } from '../rtc.js';
import { Sha256 } from '../sha256.js';
import { encodeControl, decodeControl, decodeChunk } from '../codec.js';
import { track, untrack, earlierFor, sdpFingerprint } from './earlier.js';

const PROGRESS_EVERY = 1 << 20;
const SAVE_EVERY = 4 << 20; // bytes between two saves of where a transfer stands (kept.js)
export const RESUME_WAIT = 60_000; // how long a lost sender has to come back

export class Incoming {
  /**
   * @param {{hub, peer: string, peerName: string, peerKind: string, conn: string, session: number, sdp: string, store, changed: () => void}} o
   */
  constructor(o) {
    Object.assign(this, o);
    this.id = o.conn;
    this.direction = 'in';
    this.state = 'connecting';
    this.error = '';
    this.entries = [];
    this.count = 0;
    this.files = 0;
    this.bytes = 0;
    this.done = 0;
    this.verified = 0;
    this.saved = []; // {path, size, url}
    this.tooBig = false;
    this.sinceProgress = 0;
    this.firstSession = o.session;
    this.storing = 0; // files verified and being closed in the store
    this.replayed = 0; // entries seen of an offer sent again on a new session
    this.interrupted = false;
    this.giveUp = 0;
    this.viaLinks = false; // the files come as downloads from the sending computer (fetch)
    this.links = []; // per entry: the URL to download it from
    this.keeper = o.keeper || null; // saves where the transfer stands, to outlive a reload (kept.js)
    this.sinceSave = 0;
    this.key = o.conn; // what the store and the keeper know its files by: an earlier transfer's once it continues one
    this.cert = sdpFingerprint(o.sdp); // of the sender's certificate, to know it again (earlier.js)
    this.continued = 0; // bytes an earlier transfer of the same files held
    this.checking = -1; // the file whose held bytes the sender checks: its first chunk may start it over
    track(this);
  }

  /**
   * canFetch says whether the files can come as downloads instead: from a
   * computer running ferry, to a page that can keep them only in memory.
   */
  get canFetch() {
    return this.peerKind === 'daemon' && this.store.kind === 'memory';
  }

  async start() {
    await this.connect(this.session, this.sdp);
  }

  /** connect answers session `session` of the sender's connection. */
  async connect(session, sdp) {
    const link = new Link({ hub: this.hub, peer: this.peer, conn: this.conn, session, offerer: false });
    this.link = link;
    link.onlost = (err) => this.lost(link, err);
    link.onstall = (stalled) => {
      this.interrupted = stalled;
      this.changed();
    };
    try {
      await link.open(sdp);
    } catch (err) {
      if (this.link === link) this.lost(link, err);
      return;
    }
    link.ctrl.onmessage = (e) => this.link === link && this.control(e.data);
    link.data.onmessage = (e) => this.link === link && this.chunk(new Uint8Array(e.data));
  }

  /**
   * lost notes that the connection broke. The sender reconnects with a new
   * session (see reconnect); if none comes within RESUME_WAIT, the
   * transfer has failed.
   */
  lost(link, err) {
    if (this.link !== link || isFinal(this.state)) return;
    if (this.state === 'connecting') return this.end('failed', `The connection to ${this.peerName} was lost: ${err.message}`);
    this.interrupted = true;
    clearTimeout(this.giveUp);
    this.giveUp = setTimeout(() => {
      if (this.interrupted && !isFinal(this.state)) this.end('failed', `The connection to ${this.peerName} was lost and did not come back: ${err.message}`);
    }, RESUME_WAIT);
    this.changed();
  }

  /**
   * reconnect takes a new session of the same connection from the sender:
   * a higher session number replaces the current one, and the transfer
   * goes on from the bytes already held; an older or equal one is stale.
   */
  reconnect(m) {
    if (!(m.session > this.session) || isFinal(this.state)) return;
    const old = this.link;
    this.session = m.session;
    if (this.state === 'connecting') {
      // The manifest was not whole: the sender's offer sent again starts it over.
      this.count = 0;
      this.entries = [];
    }
    this.replayed = 0;
    this.interrupted = false;
    clearTimeout(this.giveUp);
    if (old) {
      old.onlost = null;
      old.close();
    }
    this.changed();
    this.connect(m.session, m.sdp);
  }

  /** replay counts the entries of an offer sent again on a new session. */
  replay(m) {
    if (m.type === 'offer' && (m.transfer !== this.transfer || m.count !== this.count)) {
      return this.fail('bad-message', 'the offer changed on reconnecting');
    }
    this.replayed += m.entries.length;
    if (this.replayed > this.count) return this.fail('bad-message', `the offer sent more entries than its count of ${this.count}`);
    if (this.replayed < this.count || this.state !== 'active') return;
    // Resume at the first file not complete, from the bytes held.
    const i = this.finished.indexOf(false);
    if (i < 0) return this.checkAllDone();
    this.send({ type: 'accept', file: i, offset: this.held[i] });
  }

  control(text) {
    if (isFinal(this.state)) return;
    const r = typeof text === 'string' ? decodeControl(text) : { ok: false, code: 'bad-message', text: 'binary message on the control channel' };
    if (!r.ok) return this.fail(r.code, r.text);
    const m = r.msg;
    switch (m.type) {
      case 'offer':
        if (this.count && this.replayed === 0 && this.session !== this.firstSession) return this.replay(m);
        if (this.count) return this.fail('bad-message', 'a second offer on one connection');
        this.transfer = m.transfer;
        this.count = m.count;
        this.senderName = m.name;
        return this.addEntries(m.entries || []);
      case 'entries':
        if (this.replayed > 0 && this.replayed < this.count) return this.replay(m);
        if (!this.count || this.state !== 'connecting') return this.fail('bad-message', 'entries after the offer was complete');
        return this.addEntries(m.entries);
      case 'file-end':
        if (this.viaLinks) return this.linkHash(m.file || 0, m.sha256);
        return this.fileEnd(m.file || 0, m.sha256);
      case 'link':
        return this.gotLink(m.file || 0, m.path);
      case 'cancel':
        return this.end('cancelled', m.text || `${this.peerName} cancelled the transfer`);
      case 'error':
        return this.end('failed', `${this.peerName} reported: ${m.text || m.code}`);
      default:
        return this.fail('bad-message', `unexpected ${m.type} from the sender`);
    }
  }

  addEntries(entries) {
    if (this.entries.length + entries.length > this.count) return this.fail('bad-message', `the offer sent more entries than its count of ${this.count}`);
    for (const e of entries) {
      const bad = badPath(e.path);
      if (bad) return this.fail('bad-name', `bad file name ${JSON.stringify(e.path)}: ${bad}`);
      this.entries.push(e);
    }
    if (this.entries.length < this.count) return;
    const kinds = new Map(); // path -> is a folder
    for (const e of this.entries) {
      if (kinds.has(e.path)) return this.fail('bad-name', `bad file name ${JSON.stringify(e.path)}: it is listed twice`);
      kinds.set(e.path, !!e.dir);
    }
    for (const e of this.entries) {
      for (let d = e.path; (d = d.slice(0, Math.max(0, d.lastIndexOf('/')))) !== '';) {
        if (kinds.get(d) === false) return this.fail('bad-name', `bad file name ${JSON.stringify(e.path)}: ${JSON.stringify(d)} is a file, not a folder`);
      }
    }
    this.files = this.entries.filter((e) => !e.dir).length;
    this.bytes = this.entries.reduce((n, e) => n + (e.size || 0), 0);
    this.held = this.entries.map(() => 0);
    this.hashes = this.entries.map((e) => (e.dir ? null : new Sha256()));
    this.want = this.entries.map(() => '');
    this.finished = this.entries.map((e) => !!e.dir);
    this.tooBig = this.bytes > this.store.limit;
    this.state = 'pending';
    this.changed();
  }

  accept() {
    if (this.state !== 'pending' || this.tooBig) return;
    this.state = 'active';
    const old = earlierFor(this);
    if (old) this.continueFrom(old);
    else this.send({ type: 'accept' });
    this.keeper?.save(this);
    this.changed();
    this.checkAllDone();
  }

  /**
   * continueFrom takes over what old, an earlier transfer of the same files
   * from the same sender, holds (earlier.js): the files it verified are
   * reported as verified, and the sender is asked to go on from the first
   * file not complete, with the SHA-256 of what is held of it. A sender
   * whose own bytes hash otherwise sends that file from its start, and the
   * first chunk, at offset 0, says so (chunk).
   */
  continueFrom(old) {
    for (const k of ['key', 'held', 'hashes', 'want', 'finished', 'saved', 'verified', 'done']) this[k] = old[k];
    this.continued = this.done;
    old.handOver(this);
    for (const f of this.saved) this.send({ type: 'file-ok', file: f.index, path: f.path });
    const i = this.finished.indexOf(false);
    if (i < 0) return;
    const offset = this.held[i];
    if (offset === 0) return this.send({ type: 'accept', file: i, offset });
    this.checking = i;
    this.send({ type: 'accept', file: i, offset, sha256: this.hashes[i].clone().hex() });
  }

  /** handOver ends this transfer for next, which took over what it held. */
  handOver(next) {
    this.state = 'cancelled';
    this.error = `The files are coming again from ${next.peerName} in a new transfer, which goes on from here.`;
    this.saved = [];
    this.interrupted = false;
    clearTimeout(this.giveUp);
    untrack(this);
    this.changed();
  }

  /**
   * restart drops what is held of file i, which the sender sends again from
   * its start: it holds other bytes than what this page kept.
   */
  restart(i) {
    this.done -= this.held[i];
    this.continued = Math.max(0, this.continued - this.held[i]);
    this.held[i] = 0;
    this.hashes[i] = new Sha256();
  }

  /**
   * fetch asks the sending computer for the files as downloads from it,
   * which the browser saves on its own: nothing is held in the page.
   */
  fetch() {
    if (this.state !== 'pending' || !this.canFetch) return;
    this.viaLinks = true;
    this.links = this.entries.map(() => '');
    this.state = 'active';
    this.send({ type: 'fetch' });
    this.changed();
  }

  /** gotLink takes the URL of file i and hands it to the browser's downloads. */
  gotLink(i, path) {
    if (!this.viaLinks || this.state !== 'active') return this.fail('bad-message', 'a link the page did not ask for');
    const e = this.entries[i];
    if (!e || e.dir) return this.fail('unknown-file', `link for file ${i}, which the offer does not list as a file`);
    if (this.links[i]) return this.fail('bad-message', `a second link for ${e.path}`);
    let url;
    try {
      url = new URL(path);
    } catch {
      return this.fail('bad-message', `the link for ${e.path} is not a URL`);
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || !url.pathname.startsWith('/get/')) {
      return this.fail('bad-message', `the link for ${e.path} is not a ferry download`);
    }
    this.links[i] = url.href;
    this.download?.(url.href, e.path.split('/').pop());
    this.changed();
    this.checkHanded();
  }

  /** linkHash takes the SHA-256 of a file that comes as a download, to show. */
  linkHash(i, sha) {
    const e = this.entries[i];
    if (!e || e.dir) return this.fail('unknown-file', `file-end for file ${i}, which the offer does not list as a file`);
    this.want[i] = sha;
    this.changed();
    this.checkHanded();
  }

  /** checkHanded ends the transfer once every file has its link and hash. */
  checkHanded() {
    if (this.state !== 'active' || this.entries.some((e, i) => !e.dir && (!this.links[i] || !this.want[i]))) return;
    this.done = this.bytes;
    this.end('done', '');
    setTimeout(() => this.link.close(), 1000);
  }

  decline() {
    if (this.state !== 'pending') return;
    const text = this.tooBig
      ? `the browser on the other end cannot hold ${this.bytes} bytes in memory`
      : 'the person on the other end declined';
    this.send({ type: 'decline', code: 'declined', text });
    this.end('declined', 'You declined.');
    setTimeout(() => this.link.close(), 1000);
  }

  cancel() {
    if (isFinal(this.state)) return;
    this.send({ type: 'cancel', code: 'cancelled', text: 'the receiver cancelled the transfer' });
    this.end('cancelled', 'You cancelled the transfer.');
    setTimeout(() => this.link.close(), 1000);
  }

  chunk(b) {
    if (isFinal(this.state)) return;
    const c = decodeChunk(b);
    if (!c.ok) return this.fail(c.code, c.text);
    if (this.state !== 'active') return this.fail('bad-message', 'chunk for a transfer that is not accepted');
    const e = this.entries[c.file];
    if (!e || e.dir) return this.fail('unknown-file', `chunk for file ${c.file}, which the offer does not list as a file`);
    if (this.finished[c.file]) return this.fail('bad-offset', `chunk for ${e.path}, which is already complete`);
    if (this.checking === c.file) {
      this.checking = -1;
      if (c.offset === 0 && this.held[c.file] > 0) this.restart(c.file);
    }
    if (c.offset !== this.held[c.file]) return this.fail('bad-offset', `chunk for ${e.path} at offset ${c.offset}; expected offset ${this.held[c.file]}`);
    if (c.offset + c.payload.length > (e.size || 0)) return this.fail('too-many-bytes', `more bytes than announced for ${e.path} (${e.size || 0} bytes)`);
    // Each message arrives in a buffer of its own, so the payload is kept
    // as it is, not copied.
    const n = c.payload.length;
    this.hashes[c.file].update(c.payload);
    this.store.write(this.key, c.file, c.offset, c.payload); // may take its buffer: use n from here on
    this.held[c.file] += n;
    this.done += n;
    this.sinceProgress += n;
    this.sinceSave += n;
    if (this.keeper && this.sinceSave >= SAVE_EVERY) {
      this.sinceSave = 0;
      this.keeper.save(this);
    }
    if (this.sinceProgress >= PROGRESS_EVERY) {
      this.sinceProgress = 0;
      this.send({ type: 'progress', received: this.done });
      this.changed();
    }
    if (this.held[c.file] === (e.size || 0) && this.want[c.file]) this.finish(c.file);
  }

  fileEnd(i, sha) {
    if (this.state !== 'active') return this.fail('bad-message', 'file-end for a transfer that is not accepted');
    const e = this.entries[i];
    if (!e || e.dir) return this.fail('unknown-file', `file-end for file ${i}, which the offer does not list as a file`);
    if (this.finished[i]) return this.fail('bad-message', `file-end for ${e.path}, which is already complete`);
    if (this.checking === i) this.checking = -1;
    this.want[i] = sha;
    if (this.held[i] === (e.size || 0)) this.finish(i);
  }

  finish(i) {
    const e = this.entries[i];
    const got = this.hashes[i].hex();
    if (got !== this.want[i]) {
      return this.fail('hash-mismatch', `${e.path} arrived damaged: its SHA-256 is ${got}, the sender's is ${this.want[i]}`);
    }
    this.finished[i] = true;
    this.verified++;
    this.storing++;
    this.store.finish(this.key, i, e.path.split('/').pop()).then(
      ({ url, size }) => {
        this.storing--;
        if (this.state !== 'active') return;
        this.saved.push({ path: e.path, size, url, sha256: got, index: i });
        this.keeper?.save(this);
        this.send({ type: 'file-ok', file: i, path: e.path });
        this.changed();
        this.checkAllDone();
      },
      (err) => {
        this.storing--;
        this.fail('storage', `${e.path} could not be stored: ${err.message}`);
      },
    );
  }

  checkAllDone() {
    if (this.state !== 'active' || this.storing > 0 || this.finished.some((f) => !f)) return;
    this.send({ type: 'done' });
    this.done = this.bytes;
    this.end('done', '');
  }

  fail(code, text) {
    this.send({ type: 'error', code, text });
    this.end('failed', text);
    setTimeout(() => this.link.close(), 1000);
  }

  send(m) {
    if (m.text) m = { ...m, text: clip(m.text, 1024) }; // the protocol's limit on text
    try {
      if (this.link?.ctrl?.readyState === 'open') this.link.ctrl.send(encodeControl(m));
    } catch {
      // the connection is gone; the state says so
    }
  }

  end(state, error) {
    this.state = state;
    this.error = error;
    if (state !== 'done') this.store.discard(this.key); // unfinished files go; verified ones stay
    this.keeper?.forget(this);
    untrack(this);
    this.interrupted = false;
    clearTimeout(this.giveUp);
    this.changed();
  }
}

export function isFinal(s) {
  return ['done', 'declined', 'expired', 'cancelled', 'failed'].includes(s);
}

/**
 * badPath says what is wrong with a path from the network, or '' when it is
 * fine: the rules of docs/protocol.md that matter where names become
 * download names.
 */
export function badPath(p) {
  if (typeof p !== 'string' || p === '') return 'it is empty';
  if (p.startsWith('/') || /^[A-Za-z]:/.test(p)) return 'it is absolute';
  if (p.includes('\\')) return 'it contains a backslash';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(p)) return 'it contains a control character';
  if (new TextEncoder().encode(p).length > 4096) return 'it is longer than 4096 bytes';
  for (const c of p.split('/')) {
    if (c === '' || c === '.' || c === '..') return `it has a ${c === '' ? 'empty' : `"${c}"`} component`;
    if (new TextEncoder().encode(c).length > 255) return 'a component is longer than 255 bytes';
    if (c.endsWith('.') || c.endsWith(' ')) return 'a component ends with a dot or a space';
    if (/^(?:CON|PRN|AUX|NUL|CONIN\$|CONOUT\$|COM[0-9]|LPT[0-9])$/i.test(c.split('.')[0].replace(/ +$/, ''))) return `"${c}" is a reserved device name`;
  }
  return '';
}

/** clip cuts s to at most max bytes of UTF-8, marking the cut with an ellipsis. */
function clip(s, max) {
  const b = new TextEncoder().encode(s);
  if (b.length <= max) return s;
  return new TextDecoder().decode(b.subarray(0, max - 3)).replace(/\uFFFD$/, '') + '\u2026';
}
