// A transfer this page sends (docs/protocol.md, "A transfer, sender's
// view"): offer the manifest, wait for accept {file, offset}, send each
// file's chunks under bufferedAmount backpressure, each followed by its
// SHA-256, until the receiver says done.

import { Link } from '../rtc.js';
import { Sha256 } from '../sha256.js';
import { encodeControl, decodeControl, putChunkHeader, pageEntries, ChunkHeaderBytes, MaxChunkBytes, MaxControlBytes } from '../codec.js';
import { randomID } from '../hub.js';

const HIGH = 4 << 20; // stop queueing above this many buffered bytes
const LOW = 1 << 20; // and go on below this
const READ = 4 << 20; // bytes read from a file at once
const OPEN_WAIT = 30_000; // for the receiver to answer and the channels to open
const RETRIES = 8; // new sessions in a row after a lost connection

/**
 * sending lists every transfer this page has started sending, oldest
 * first, so that the page's state can be read from outside the views (the
 * browser tests read each one's sentBytes here).
 */
export const sending = [];

export class Outgoing {
  /**
   * @param {{hub, peer: string, peerName: string, myName: string, items: {file: File, path: string}[], changed: () => void}} o
   */
  constructor({ hub, peer, peerName, myName, items, changed }) {
    this.id = randomID(16);
    this.direction = 'out';
    Object.assign(this, { hub, peer, peerName, myName, items, changed });
    this.entries = manifest(items);
    this.files = items.length;
    this.bytes = items.reduce((n, it) => n + it.file.size, 0);
    this.done = 0;
    this.verified = 0;
    this.state = 'connecting';
    this.error = '';
    this.link = null;
    this.cancelled = false;
    this.interrupted = false; // the connection broke; making it again
    this.attempt = 0; // of the new connections after a break, the one under way
    this.retries = RETRIES;
    this.continued = 0; // bytes the receiver held from an earlier transfer of the same files
    this.restarted = []; // files the receiver held other bytes of, sent from their start
    this.accepted = false;
    this.sentBytes = 0; // file bytes put on the data channel, in every session
    this.resumed = []; // where each session's accept had the transfer start, in bytes
    sending.push(this);
  }

  /**
   * run drives the transfer to its end. A connection that breaks after it
   * was up is made again with a higher session number, up to RETRIES times
   * in a row; the receiver answers the offer sent again with where to go
   * on from.
   */
  async run() {
    let session = Date.now();
    let connected = false;
    for (let tries = 0; ; tries++, session = Math.max(session + 1, Date.now())) {
      if (tries > 0 || connected) await hubReady(this.hub, OPEN_WAIT);
      const link = new Link({ hub: this.hub, peer: this.peer, conn: this.id, session, offerer: true });
      this.link = link;
      link.onstall = (stalled) => {
        this.interrupted = stalled;
        this.changed();
      };
      try {
        const ctrl = this.controlQueue(link);
        await within(link.open(), OPEN_WAIT, `${this.peerName} did not answer`);
        connected = true;
        tries = 0;
        this.interrupted = false;
        this.attempt = 0;
        const wire = this.entries.map((e) => (e.dir ? { path: e.path, dir: true } : { path: e.path, size: e.size, ...(e.mtime ? { mtime: e.mtime } : {}) }));
        // checkHeld: an accept that says how far the receiver is also gives the
        // hash of what it holds, which stream() checks before going on.
        for (const m of pageEntries(wire, MaxControlBytes, { transfer: this.id, name: this.myName, bytes: this.bytes, checkHeld: true })) {
          link.ctrl.send(encodeControl(m));
        }
        if (this.state === 'connecting') this.set('pending');
        else this.changed();
        await this.converse(link, ctrl);
        // The transfer has ended: the connection goes, once what was said
        // last has had a moment to leave.
        setTimeout(() => link.close(), 1000);
        return;
      } catch (err) {
        link.close();
        if (isFinalState(this.state)) return;
        if (this.cancelled) return this.end('cancelled', 'You cancelled the transfer.');
        const why = err.message || String(err);
        if (!connected) return this.end('failed', why);
        if (tries >= RETRIES) return this.end('failed', `Gave up after ${RETRIES} attempts to reconnect to ${this.peerName}: ${why}`);
        this.interrupted = true;
        this.attempt = tries + 1;
        this.changed();
        await new Promise((ok) => setTimeout(ok, Math.min(250 * 2 ** tries, 5000)));
        if (this.cancelled) return;
      }
    }
  }

  /** controlQueue gives the control channel's messages one at a time, in order. */
  controlQueue(link) {
    const waiting = [];
    const queued = [];
    link.onlost = (err) => waiting.splice(0).forEach((w) => w.fail(err));
    const push = (m) => (waiting.length ? waiting.shift().ok(m) : queued.push(m));
    const attach = () => {
      link.ctrl.onmessage = (e) => {
        const r = typeof e.data === 'string' ? decodeControl(e.data) : { ok: false, code: 'bad-message', text: 'binary message on the control channel' };
        push(r.ok ? r.msg : { type: 'error', code: r.code, text: `the receiver sent a bad message: ${r.text}` });
      };
    };
    link.readyPromise.then(attach, () => {});
    return () =>
      queued.length ? Promise.resolve(queued.shift()) : new Promise((ok, fail) => waiting.push({ ok, fail }));
  }

  async converse(link, next) {
    let streaming = null;
    for (;;) {
      // A failure while streaming fails the link, which fails next().
      const m = await next();
      switch (m.type) {
        case 'accept':
          if (streaming) return this.end('failed', `${this.peerName} accepted twice`);
          if ((m.file || 0) > this.entries.length) return this.end('failed', `${this.peerName} asked to resume past the end`);
          this.done = position(this.entries, m.file || 0, m.offset || 0);
          // The first accept of a transfer that starts past zero continues
          // an earlier one whose files the receiver kept.
          if (!this.accepted) this.continued = this.done;
          this.accepted = true;
          this.resumed.push(this.done);
          this.set('active');
          streaming = this.stream(link, m.file || 0, m.offset || 0, m.sha256 || '');
          streaming.catch((err) => link.fail(err));
          break;
        case 'progress':
          this.done = m.received || 0;
          this.changed();
          break;
        case 'file-ok':
          this.verified++;
          this.changed();
          break;
        case 'done':
          this.done = this.bytes;
          this.end('done', '');
          return;
        case 'decline':
          this.end(m.code === 'expired' ? 'expired' : 'declined', m.text || `${this.peerName} declined`);
          return;
        case 'cancel':
          this.end('cancelled', m.text || `${this.peerName} cancelled`);
          return;
        case 'error':
          this.end('failed', m.text || m.code);
          return;
        default:
          return this.end('failed', `${this.peerName} sent an unexpected ${m.type}`);
      }
    }
  }

  /**
   * stream sends from file `from` at `offset`. held, when the receiver gives
   * it, is the hash of the bytes it holds before offset: if this file's own
   * first bytes hash otherwise, the receiver holds something else, and the
   * file goes from its start (docs/protocol.md, "Resume").
   */
  async stream(link, from, offset, held) {
    const chunk = link.maxChunk(MaxChunkBytes);
    const step = chunk - ChunkHeaderBytes;
    const data = link.data;
    data.bufferedAmountLowThreshold = LOW;
    // send() copies what it is given, so one buffer serves every chunk.
    const msg = new Uint8Array(chunk);
    for (let i = from; i < this.entries.length; i++) {
      const e = this.entries[i];
      if (e.dir) continue;
      const file = this.items[e.item].file;
      let h = new Sha256();
      let off = i === from ? offset : 0;
      // The hash covers the whole file: on resume, read what went before.
      for (let p = 0; p < off; p += READ) h.update(new Uint8Array(await file.slice(p, Math.min(off, p + READ)).arrayBuffer()));
      if (off > 0 && held && h.clone().hex() !== held) {
        this.continued = Math.max(0, this.continued - off);
        this.done -= off;
        this.restarted.push(e.path);
        this.changed();
        off = 0;
        h = new Sha256();
      }
      // The next block is read while this one goes out.
      const read = (p) => {
        const r = file.slice(p, Math.min(e.size, p + READ)).arrayBuffer();
        r.catch(() => {}); // a failed read is reported where it is awaited
        return r;
      };
      let next = off < e.size ? read(off) : null;
      while (off < e.size) {
        const block = new Uint8Array(await next);
        if (block.length === 0) throw new Error(`${e.path} is shorter than when it was offered`);
        next = off + block.length < e.size ? read(off + block.length) : null;
        h.update(block);
        for (let p = 0; p < block.length; p += step) {
          const n = Math.min(step, block.length - p);
          putChunkHeader(msg, i, off + p);
          msg.set(block.subarray(p, p + n), ChunkHeaderBytes);
          if (data.bufferedAmount > HIGH) await drained(data);
          if (this.cancelled) throw new Error('cancelled');
          data.send(n === step ? msg : msg.subarray(0, ChunkHeaderBytes + n));
          this.sentBytes += n;
        }
        off += block.length;
      }
      link.ctrl.send(encodeControl({ type: 'file-end', file: i, sha256: h.hex() }));
    }
  }

  cancel() {
    if (['done', 'declined', 'failed', 'cancelled', 'expired'].includes(this.state)) return;
    this.cancelled = true;
    try {
      this.link?.ctrl?.send(encodeControl({ type: 'cancel', code: 'cancelled', text: `${this.myName} cancelled the transfer` }));
    } catch {
      // the connection is gone already
    }
    this.end('cancelled', 'You cancelled the transfer.');
    this.link?.close();
  }

  set(state) {
    this.state = state;
    this.changed();
  }

  end(state, error) {
    this.state = state;
    this.error = error;
    this.changed();
  }
}

/** hubReady resolves once the hub is connected, or after ms regardless. */
function hubReady(hub, ms) {
  if (hub.connected || typeof hub.addEventListener !== 'function') return Promise.resolve();
  return new Promise((ok) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      hub.removeEventListener('state', onState);
      ok();
    }
    function onState(e) {
      if (e.detail.connected) done();
    }
    hub.addEventListener('state', onState);
  });
}

function isFinalState(s) {
  return ['done', 'declined', 'failed', 'cancelled', 'expired'].includes(s);
}

/** within rejects with a message when p has not settled after ms. */
function within(p, ms, message) {
  let timer;
  return Promise.race([p, new Promise((_, fail) => (timer = setTimeout(() => fail(new Error(message)), ms)))]).finally(() => clearTimeout(timer));
}

function drained(ch) {
  return new Promise((ok, fail) => {
    ch.addEventListener('bufferedamountlow', ok, { once: true });
    ch.addEventListener('close', () => fail(new Error('the connection was lost')), { once: true });
  });
}

/** manifest lists the items as offer entries, folders first where paths need them. */
export function manifest(items) {
  const entries = [];
  const dirs = new Set();
  items.forEach((it, item) => {
    const parts = it.path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const d = parts.slice(0, i).join('/');
      if (!dirs.has(d)) {
        dirs.add(d);
        entries.push({ path: d, dir: true });
      }
    }
    const e = { path: it.path, size: it.file.size, item };
    if (it.file.lastModified) e.mtime = it.file.lastModified;
    entries.push(e);
  });
  return entries;
}

/** position is the byte position in the whole transfer of (file, offset). */
export function position(entries, file, offset) {
  let n = 0;
  for (let i = 0; i < file && i < entries.length; i++) n += entries[i].size || 0;
  return n + offset;
}
