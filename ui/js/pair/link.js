// A pairing: one WebRTC connection made from an offer and an answer passed
// by hand (a QR code or copied text), with no hub to signal through. Its
// one channel, ferry-hub, then carries the hub's own messages, so every
// transfer's connection is signaled over it as over a daemon's hub
// (docs/protocol.md, "Pairing without a hub").

import { pageCertificate } from '../rtc.js';
import { encode, decode, sdp, fromDescription } from './text.js';

const VERSION = 1;
const GATHER_WAIT = 10000; // ICE gathering on a LAN ends in well under a second
const MAX_MESSAGE = 64 << 10; // the hub's own limit

export class Pairing extends EventTarget {
  /** @param {{id: string, name: string}} me */
  constructor(me) {
    super();
    this.me = me;
    this.pc = null;
    this.channel = null;
    this.peer = null; // the other side's decoded text: {id, name, kind, …}
    this.state = 'new'; // new, waiting (for an answer), connecting, open, closed
    this.error = '';
  }

  /** offer starts a pairing and returns the text to show the other side. */
  async offer() {
    await this.open();
    await this.pc.setLocalDescription(await this.pc.createOffer());
    const text = await this.localText('offer');
    this.set('waiting');
    return text;
  }

  /** accept takes the other side's answer to this page's offer. */
  async accept(answerText) {
    const a = decode(answerText);
    if (a.r !== 'answer') throw new Error('that is a pairing offer, not an answer: give it to the other side, and paste what it shows back here');
    this.peer = a;
    this.set('connecting');
    await this.pc.setRemoteDescription({ type: 'answer', sdp: sdp(a) });
  }

  /** answer takes the other side's offer and returns the text to show it back. */
  async answer(offerText) {
    const o = decode(offerText);
    if (o.r !== 'offer') throw new Error('that is a pairing answer, not an offer: it goes back to the side that made the offer');
    this.peer = o;
    await this.open();
    await this.pc.setRemoteDescription({ type: 'offer', sdp: sdp(o) });
    await this.pc.setLocalDescription(await this.pc.createAnswer());
    const text = await this.localText('answer');
    this.set('connecting');
    return text;
  }

  async open() {
    const cert = await pageCertificate();
    const pc = new RTCPeerConnection({ certificates: [cert], iceServers: [] });
    this.pc = pc;
    const ch = pc.createDataChannel('ferry-hub', { negotiated: true, id: 0, ordered: true });
    this.channel = ch;
    ch.onopen = () => {
      this.set('open');
      this.send({ type: 'hello', kind: 'guest', from: this.me.id, name: this.me.name });
    };
    ch.onclose = () => this.close('the connection was closed');
    ch.onmessage = (e) => this.receive(e.data);
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === 'failed') this.close('the connection failed: the two sides could not reach each other on this network');
    };
  }

  /** localText waits for ICE gathering to end and encodes the local description. */
  async localText(role) {
    const pc = this.pc;
    if (pc.iceGatheringState !== 'complete') {
      await new Promise((ok) => {
        const timer = setTimeout(ok, GATHER_WAIT);
        pc.addEventListener('icegatheringstatechange', () => {
          if (pc.iceGatheringState === 'complete') {
            clearTimeout(timer);
            ok();
          }
        });
      });
    }
    const f = fromDescription(pc.localDescription.sdp);
    if (f.c.length === 0) throw new Error('this browser found no network address to offer: is it on Wi-Fi?');
    return encode({ r: role, id: this.me.id, name: clip(this.me.name, 64), kind: 'guest', ...f });
  }

  receive(data) {
    if (typeof data !== 'string' || data.length > MAX_MESSAGE) return;
    let m;
    try {
      m = JSON.parse(data);
    } catch {
      return;
    }
    if (m && typeof m === 'object' && typeof m.type === 'string') this.dispatchEvent(new CustomEvent('message', { detail: m }));
  }

  /** send sends one hub message; it reports false when the channel is not open. */
  send(m) {
    if (this.channel?.readyState !== 'open') return false;
    this.channel.send(JSON.stringify({ v: VERSION, ...m }));
    return true;
  }

  set(state) {
    this.state = state;
    this.dispatchEvent(new CustomEvent('state', { detail: { state } }));
  }

  close(why = '') {
    if (this.state === 'closed') return;
    this.error = why;
    try {
      this.pc?.close();
    } catch {
      // closing twice
    }
    this.set('closed');
  }
}

/** clip cuts s to at most max bytes of UTF-8, at a character's end. */
function clip(s, max) {
  const enc = new TextEncoder();
  let out = '';
  for (const ch of String(s)) {
    if (enc.encode(out + ch).length > max) break;
    out += ch;
  }
  return out;
}
