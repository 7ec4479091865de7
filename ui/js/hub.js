// The guest's connection to its daemon's signaling hub (docs/protocol.md,
// "The mesh, guests and rooms"): hello as a guest, presence, rooms, routed
// signaling and texts. It reconnects by itself with backoff; the daemon
// takes the same guest ID back as the same guest, never a second one.
// Pairings made by hand (pair/link.js) are attached to it: their members
// join the list, and what is sent to them goes over the pairing.

const VERSION = 1;
// A connection over which nothing came for PING_EVERY is asked whether it
// is alive; one that does not answer within PONG_WAIT is taken as dead and
// opened again. A phone that moved to another access point keeps a socket
// from an address it no longer has, which no error ever closes.
export const PING_EVERY = 10000;
export const PONG_WAIT = 5000;

export class Hub extends EventTarget {
  /** @param {{url: string, id: string, name: string}} opts */
  constructor({ url, id, name }) {
    super();
    this.url = url;
    this.id = id;
    this.name = name;
    this.daemon = null; // {id, name} of the daemon that served the page
    this.ws = null;
    this.connected = false;
    this.backoff = 500;
    this.stopped = false;
    this.members = []; // as the daemon's presence lists them
    this.rooms = [];
    this.paired = new Set();
  }

  start() {
    this.stopped = false;
    this.open();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.pingTimer);
    clearTimeout(this.pongTimer);
    if (this.ws) this.ws.close();
  }

  open() {
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.onopen = () => ws.send(JSON.stringify({ v: VERSION, type: 'hello', kind: 'guest', from: this.id, name: this.name }));
    ws.onmessage = (e) => {
      this.heard(ws);
      let m;
      try {
        m = JSON.parse(e.data);
      } catch {
        return;
      }
      this.receive(m);
    };
    ws.onclose = () => this.dropped(ws);
    this.heard(ws);
  }

  /** heard notes that ws is alive, and asks again after PING_EVERY. */
  heard(ws) {
    clearTimeout(this.pingTimer);
    clearTimeout(this.pongTimer);
    this.pingTimer = setTimeout(() => {
      if (this.ws !== ws || ws.readyState !== WebSocket.OPEN) return;
      ws.send(JSON.stringify({ v: VERSION, type: 'ping' }));
      this.pongTimer = setTimeout(() => {
        try {
          ws.close();
        } catch {
          // already closing
        }
        this.dropped(ws);
      }, PONG_WAIT);
    }, PING_EVERY);
  }

  /** dropped opens the connection again after ws ended or went quiet. */
  dropped(ws) {
    if (this.ws !== ws) return;
    this.ws = null;
    clearTimeout(this.pingTimer);
    clearTimeout(this.pongTimer);
    const was = this.connected;
    this.connected = false;
    if (was) this.emit('state', { connected: false });
    if (this.stopped) return;
    setTimeout(() => this.open(), this.backoff);
    this.backoff = Math.min(this.backoff * 2, 10000);
  }

  receive(m) {
    switch (m.type) {
      case 'welcome':
        this.daemon = { id: m.from, name: m.name };
        this.connected = true;
        this.backoff = 500;
        this.emit('state', { connected: true, daemon: this.daemon });
        return;
      case 'presence':
        this.members = m.members || [];
        this.rooms = m.rooms || [];
        this.publish();
        return;
      case 'pong':
        return;
      case 'joined':
        this.emit('joined', { room: m.room });
        return;
      case 'text':
        this.emit('text', m);
        return;
      case 'offer':
      case 'answer':
      case 'candidate':
      case 'bye':
        this.emit('signal', m);
        return;
      case 'error':
        if (m.conn) this.emit('signal', m);
        else this.emit('problem', m);
    }
  }

  /**
   * attach takes a pairing's messages as the hub's own. A paired browser is
   * one member that speaks only for itself; a paired computer lists its
   * members as its hub does, and relays to them.
   */
  attach(p) {
    p.members = [];
    this.paired.add(p);
    p.addEventListener('message', (e) => this.fromPaired(p, e.detail));
    p.addEventListener('state', (e) => {
      if (e.detail.state !== 'closed') return;
      this.paired.delete(p);
      this.publish();
    });
  }

  fromPaired(p, m) {
    const browser = p.peer?.kind === 'guest';
    switch (m.type) {
      case 'hello':
        if (!browser || m.from !== p.peer.id) return;
        p.members = [{ id: p.peer.id, name: String(m.name || p.peer.name).slice(0, 64), kind: 'guest', home: '', paired: true }];
        return this.publish();
      case 'presence':
        if (browser || !Array.isArray(m.members)) return;
        p.members = m.members.filter((x) => x && typeof x.id === 'string').map((x) => ({ ...x, paired: true }));
        return this.publish();
      case 'text':
      case 'offer':
      case 'answer':
      case 'candidate':
      case 'bye':
      case 'error':
        if (browser) Object.assign(m, { from: p.peer.id, name: p.members[0]?.name || p.peer.name });
        if (m.type === 'text') return this.emit('text', m);
        if (m.type === 'error' && !m.conn) return;
        return this.emit('signal', m);
    }
  }

  /** pairingOf returns the pairing that reaches id, if one does. */
  pairingOf(id) {
    for (const p of this.paired) if (p.members.some((x) => x.id === id)) return p;
    return null;
  }

  publish() {
    const members = [...this.members];
    for (const p of this.paired) for (const x of p.members) if (!members.some((y) => y.id === x.id)) members.push(x);
    this.emit('presence', { members, rooms: this.rooms });
  }

  /** send sends one message; it reports false when the hub is not connected. */
  send(m) {
    const p = m.to ? this.pairingOf(m.to) : null;
    if (p) return p.send(m);
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify({ v: VERSION, ...m }));
    return true;
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

/** randomID returns n random characters of a-z and 2-7 (crypto.getRandomValues works on plain-HTTP pages). */
export function randomID(n) {
  const b = new Uint8Array(n);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => ALPHABET[x & 31]).join('');
}
