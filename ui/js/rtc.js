// One WebRTC peer connection of a transfer, as the offerer (the sender)
// or the answerer (the receiver), with trickle ICE over the hub and the
// protocol's two channels. Candidates that arrive before the remote
// description wait for it; the offerer's own go out only after its offer.
//
// A connection whose path stops carrying packets is first repaired in
// place: the offerer restarts ICE, offering again on the same session with
// new candidates, and the answerer answers on the connection it has. The
// channels stay open and the transfer goes on where it was. A connection
// not back within GIVE_UP is lost, and the sender makes a new one.

import { ControlLabel, DataLabel } from './codec.js';
import { idbGet, idbPut } from './idb.js';
import { trust, covers, sign, checkPeer, checkedBy, fingerprints, refusals, theirWords } from './roomkey.js';

const RESTART_AFTER = 1000; // an offerer disconnected this long restarts ICE
const GIVE_UP = 12000; // an offerer disconnected this long takes the connection as lost
const ANSWERER_WAIT = 15000; // an answerer waits longer, for the offerer's restart or new session

const CERT_LIFE = 365 * 24 * 3600 * 1000; // asked of a new certificate
const CERT_RENEW = 7 * 24 * 3600 * 1000; // a certificate closer than this to its end is replaced

let certificate = null;

/**
 * pageCertificate is the one DTLS certificate this page uses for every
 * connection. It is kept in IndexedDB, so a reloaded page is the same
 * sender to a daemon (its guest ID and this certificate), which lets a
 * file picked again continue what the daemon already holds. Where the
 * browser cannot store it, the page makes one for as long as it is open.
 */
export function pageCertificate() {
  if (!certificate) {
    certificate = storedCertificate().catch(() => null).then(async (kept) => {
      if (kept && kept.expires - Date.now() > CERT_RENEW) return kept;
      const made = await RTCPeerConnection.generateCertificate({ name: 'ECDSA', namedCurve: 'P-256', expires: CERT_LIFE });
      await storeCertificate(made).catch(() => {});
      return made;
    });
  }
  return certificate;
}

async function storedCertificate() {
  const kept = await idbGet('keys', 'dtls');
  return kept instanceof RTCCertificate ? kept : null;
}

function storeCertificate(cert) {
  return idbPut('keys', 'dtls', cert);
}

export class Link {
  /**
   * @param {{hub, peer: string, conn: string, session: number, offerer: boolean}} o
   */
  constructor({ hub, peer, conn, session, offerer }) {
    Object.assign(this, { hub, peer, conn, session, offerer });
    this.pc = null;
    this.ctrl = null;
    this.data = null;
    this.early = []; // candidates before the remote description
    this.remoteSet = false;
    this.held = []; // own candidates before the offer left
    this.offered = !offerer;
    this.closed = false;
    this.readyPromise = new Promise((ok, fail) => {
      this.ready = ok;
      this.failed = fail;
    });
  }

  async open(offerSdp) {
    const cert = await pageCertificate();
    const pc = new RTCPeerConnection({ certificates: [cert], iceServers: [] });
    this.pc = pc;
    pc.onicecandidate = (e) => {
      if (!e.candidate) return;
      const c = { candidate: e.candidate.candidate, sdpMid: e.candidate.sdpMid, sdpMLineIndex: e.candidate.sdpMLineIndex };
      if (!this.offered) this.held.push(c);
      else this.signal({ type: 'candidate', candidate: c });
    };
    // A browser calls a connection failed only after its consent checks
    // have gone unanswered for half a minute: one that stays disconnected
    // too long is taken as lost here, so the sender makes it again.
    pc.onconnectionstatechange = () => {
      const st = pc.connectionState;
      if (st === 'failed' || st === 'closed') return this.fail(new Error('the connection was lost'));
      if (st === 'connected') return this.back();
      if (st !== 'disconnected' || this.lostTimer) return;
      this.lostTimer = setTimeout(() => this.fail(new Error('the connection was lost')), this.offerer ? GIVE_UP : ANSWERER_WAIT);
      if (this.offerer) this.restartTimer = setTimeout(() => this.restartICE(), RESTART_AFTER);
      this.showStall(true);
    };
    if (this.offerer) {
      this.attach(pc.createDataChannel(ControlLabel));
      this.attach(pc.createDataChannel(DataLabel));
      await pc.setLocalDescription(await pc.createOffer());
      this.signal({ type: 'offer', sdp: pc.localDescription.sdp });
      this.offered = true;
      for (const c of this.held.splice(0)) this.signal({ type: 'candidate', candidate: c });
    } else {
      pc.ondatachannel = (e) => this.attach(e.channel);
      await this.setRemote({ type: 'offer', sdp: offerSdp });
      await pc.setLocalDescription(await pc.createAnswer());
      this.signal({ type: 'answer', sdp: pc.localDescription.sdp });
    }
    return this.readyPromise;
  }

  attach(ch) {
    ch.binaryType = 'arraybuffer';
    if (ch.label === ControlLabel) this.ctrl = ch;
    else if (ch.label === DataLabel) this.data = ch;
    else return ch.close();
    holdMessages(ch);
    ch.addEventListener('message', () => this.stalled && !this.lostTimer && this.showStall(false));
    ch.onopen = () => this.check();
    ch.onclose = () => this.fail(new Error('the connection was lost'));
    this.check();
  }

  check() {
    if (this.ctrl?.readyState === 'open' && this.data?.readyState === 'open') this.ready(this);
  }

  async setRemote(desc) {
    await this.pc.setRemoteDescription(desc);
    this.remoteSet = true;
    for (const c of this.early.splice(0)) await this.pc.addIceCandidate(c).catch(() => {});
  }

  /** back notes that a connection that went disconnected is connected again. */
  back() {
    clearTimeout(this.lostTimer);
    clearTimeout(this.restartTimer);
    this.lostTimer = this.restartTimer = 0;
    this.showStall(false);
  }

  /**
   * showStall tells the transfer (onstall) that the connection stopped
   * carrying packets and is being repaired, or carries them again.
   */
  showStall(on) {
    if (Boolean(this.stalled) === on) return;
    this.stalled = on;
    this.onstall?.(on);
  }

  /** restartICE offers this session again with new ICE credentials. */
  async restartICE() {
    if (this.closed || this.restarting || this.pc.connectionState === 'connected') return;
    this.restarting = true;
    this.remoteSet = false; // the answerer's new candidates wait for its answer
    this.offered = false;
    try {
      await this.pc.setLocalDescription(await this.pc.createOffer({ iceRestart: true }));
    } catch (err) {
      return this.fail(err);
    }
    this.signal({ type: 'offer', sdp: this.pc.localDescription.sdp });
    this.offered = true;
    for (const c of this.held.splice(0)) this.signal({ type: 'candidate', candidate: c });
  }

  /**
   * sameCertificate says whether a restart's offer or answer keeps the
   * DTLS certificate of the session, besides passing checkPeer: a restart
   * moves the packets to a new path, never to another peer.
   */
  sameCertificate(m) {
    const why = checkPeer(this.peer, m);
    if (why) return why;
    return fingerprints(m.sdp) === fingerprints(this.pc.remoteDescription?.sdp) ? '' : 'other-certificate';
  }

  /** answerRestart answers the offerer's ICE restart on this connection. */
  async answerRestart(m) {
    const why = this.sameCertificate(m);
    if (why) return this.refuse(why);
    // The sender lost the path; this side may not have noticed yet. The
    // next message that arrives shows it is back.
    this.showStall(true);
    this.offered = false; // the answer goes out before the new candidates
    try {
      await this.setRemote({ type: 'offer', sdp: m.sdp });
      await this.pc.setLocalDescription(await this.pc.createAnswer());
    } catch (err) {
      return this.fail(err);
    }
    this.signal({ type: 'answer', sdp: this.pc.localDescription.sdp });
    this.offered = true;
    for (const c of this.held.splice(0)) this.signal({ type: 'candidate', candidate: c });
  }

  /** handle takes a routed signaling message for this connection. */
  async handle(m) {
    if (m.session !== undefined && m.session !== this.session) return; // another session: stale
    if (m.type === 'offer' && !this.offerer) {
      if (this.closed) return this.hub.send({ type: 'error', to: this.peer, conn: this.conn, session: this.session, code: 'bad-message', text: 'an ICE restart for a connection this page has closed' });
      await this.answerRestart(m);
    } else if (m.type === 'answer' && this.offerer && this.restarting) {
      this.restarting = false;
      const why = this.sameCertificate(m);
      if (why) return this.refuse(why);
      await this.setRemote({ type: 'answer', sdp: m.sdp }).catch((err) => this.fail(err));
    } else if (m.type === 'answer' && this.offerer && !this.remoteSet) {
      const why = checkPeer(this.peer, m);
      if (why) return this.refuse(why);
      this.checkedBy = checkedBy(this.peer);
      await this.setRemote({ type: 'answer', sdp: m.sdp }).catch((err) => this.fail(err));
    } else if (m.type === 'candidate' && m.candidate) {
      if (!this.remoteSet) this.early.length < 64 && this.early.push(m.candidate);
      else await this.pc.addIceCandidate(m.candidate).catch(() => {});
    } else if (m.type === 'error') {
      this.fail(new Error(m.text || m.code));
    } else if (m.type === 'bye') {
      this.fail(new Error('the other side hung up'));
    }
  }

  /**
   * refuse ends a connection whose answer is not signed with the room's
   * secret, and tells the other browser why.
   */
  refuse(why) {
    this.hub.send({ type: 'error', to: this.peer, conn: this.conn, session: this.session, code: 'unverified', text: theirWords[why] });
    const err = new Error(`Refused the connection: ${refusals[why]}`);
    err.refused = true;
    this.fail(err);
  }

  signal(m) {
    if ((m.type === 'offer' || m.type === 'answer') && covers(this.peer)) {
      m.sig = sign(trust.secret, { room: trust.room, conn: this.conn, session: this.session, type: m.type, sdp: m.sdp });
    }
    // A message the hub cannot carry now is lost: the connection cannot be
    // made this way, and the sender tries again once the hub is back.
    if (!this.hub.send({ ...m, to: this.peer, conn: this.conn, session: this.session })) {
      this.fail(new Error('the page is not connected to the computer it was opened from'));
    }
  }

  /** maxChunk is the largest chunk the remote takes, within the protocol's 64 KiB. */
  maxChunk(limit) {
    const remote = this.pc?.sctp?.maxMessageSize || limit;
    return Math.max(1024, Math.min(limit, remote));
  }

  fail(err) {
    if (this.closed) return;
    this.failed(err);
    this.close();
    if (this.onlost) this.onlost(err);
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.lostTimer);
    clearTimeout(this.restartTimer);
    try {
      this.pc?.close();
    } catch {
      // closing twice
    }
  }
}

/**
 * holdMessages keeps what arrives on ch until its onmessage is set, then
 * hands it over in order. The two channels open one after the other, and
 * the first may carry a message before the connection counts as ready and
 * its user is listening: a message with no listener would be lost.
 */
function holdMessages(ch) {
  const held = [];
  let handler = null;
  ch.addEventListener('message', (e) => (handler ? handler.call(ch, e) : held.push(e)));
  Object.defineProperty(ch, 'onmessage', {
    configurable: true,
    get: () => handler,
    set(fn) {
      handler = typeof fn === 'function' ? fn : null;
      while (handler && held.length) handler.call(ch, held.shift());
    },
  });
}
