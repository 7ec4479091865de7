// The guest's transfers: it starts outgoing ones, takes incoming offers
// from the hub, and routes each connection's signaling to it by the peer
// and the connection's ID.

import { Outgoing } from './outgoing.js';
import { Incoming } from './incoming.js';
import { checkPeer, checkedBy, refusals, theirWords } from '../roomkey.js';

export class Engine {
  /**
   * @param {{hub, myName: () => string, store, changed: () => void, lookup: (id: string) => {name: string, kind: string},
   *   download?: (url: string, name: string) => void}} o
   */
  constructor({ hub, myName, store, changed, lookup, download }) {
    Object.assign(this, { hub, myName, store, changed, lookup, download });
    this.transfers = [];
    this.links = new Map(); // peer/conn -> transfer
    this.keeper = null; // keeps where transfers into the browser's storage stand (kept.js)
    hub.addEventListener('signal', (e) => this.signal(e.detail));
  }

  /** send starts sending items ({file, path}) to peer. */
  send(peer, items) {
    const who = this.lookup(peer);
    const t = new Outgoing({ hub: this.hub, peer, peerName: who.name, myName: this.myName(), items, changed: this.changed });
    this.add(t, `${peer}/${t.id}`);
    t.run().finally(() => this.links.delete(`${peer}/${t.id}`));
    return t;
  }

  signal(m) {
    const key = `${m.from}/${m.conn}`;
    const t = this.links.get(key);
    if (m.type === 'offer') {
      const why = checkPeer(m.from, m);
      if (why) return this.refuse(m, why);
    }
    if (m.type === 'offer') {
      if (t?.direction === 'in' && t.link && m.session === t.link.session) return t.link.handle(m); // an ICE restart
      if (t) return t.direction === 'in' && t.reconnect(m); // the sender's next session
      const who = this.lookup(m.from);
      const inc = new Incoming({
        hub: this.hub, peer: m.from, peerName: who.name || m.name || 'someone', peerKind: who.kind,
        conn: m.conn, session: m.session, sdp: m.sdp, store: this.store, changed: this.changed, download: this.download,
        keeper: this.store.kind === 'disk' ? this.keeper : null,
      });
      inc.checkedBy = checkedBy(m.from); // checked above
      this.add(inc, key);
      inc.start();
      return;
    }
    if (t && t.link) t.link.handle(m);
  }

  /**
   * refuse answers an offer whose fingerprint is not signed with the room's
   * secret: the sender is told why, and the page shows it.
   */
  refuse(m, why) {
    this.hub.send({ type: 'error', to: m.from, conn: m.conn, session: m.session, code: 'unverified', text: theirWords[why] });
    const key = `${m.from}/${m.conn}`;
    if (this.links.has(key)) return;
    const name = this.lookup(m.from).name || m.name || 'someone';
    this.add(new Refused(m.conn, name, `Refused the connection from ${name}: ${refusals[why]}`), key);
  }

  /** restore takes up transfers kept from before the page reloaded. */
  async restore(records) {
    for (const r of records) {
      try {
        const t = await this.keeper.restore(r, { hub: this.hub, changed: this.changed, download: this.download });
        this.add(t, `${t.peer}/${t.conn}`);
      } catch (err) {
        console.warn(`ferry: cannot take up transfer ${r.id}: ${err.message}`);
      }
    }
  }

  add(t, key) {
    this.transfers.unshift(t);
    this.links.set(key, t);
    this.changed();
  }

  get(id) {
    return this.transfers.find((t) => t.id === id);
  }
}

/** Refused is an offered connection the page refused, as the list shows it. */
class Refused {
  constructor(id, peerName, error) {
    Object.assign(this, { id, peerName, error, direction: 'in', state: 'failed', files: 0, bytes: 0, done: 0 });
    this.entries = [];
    this.saved = [];
  }

  cancel() {}
}
