// The guest's connection to its daemon's signaling hub (docs/protocol.md,
// "The mesh, guests and rooms"): hello as a guest, presence, rooms, routed
// signaling and texts. It reconnects by itself with backoff; the daemon
// takes the same guest ID back as the same guest, never a second one.

const VERSION = 1;

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
  }

  start() {
    this.stopped = false;
    this.open();
  }

  stop() {
    this.stopped = true;
    if (this.ws) this.ws.close();
  }

  open() {
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.onopen = () => ws.send(JSON.stringify({ v: VERSION, type: 'hello', kind: 'guest', from: this.id, name: this.name }));
    ws.onmessage = (e) => {
      let m;
      try {
        m = JSON.parse(e.data);
      } catch {
        return;
      }
      this.receive(m);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      const was = this.connected;
      this.connected = false;
      if (was) this.emit('state', { connected: false });
      if (this.stopped) return;
      setTimeout(() => this.open(), this.backoff);
      this.backoff = Math.min(this.backoff * 2, 10000);
    };
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
        this.emit('presence', { members: m.members || [], rooms: m.rooms || [] });
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

  /** send sends one message; it reports false when the hub is not connected. */
  send(m) {
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
