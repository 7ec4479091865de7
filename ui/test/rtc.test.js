import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { Link } from '../js/rtc.js';

// When a connection goes disconnected, the offerer restarts ICE on the same
// session and the answerer answers it on the connection it has; one that
// is not back in time is lost. FakePC stands for the browser's
// RTCPeerConnection: it records the descriptions it is given and the
// test moves its connectionState; the end-to-end test (TestGuestICERestart)
// drives the real one.

const FP_A = 'sha-256 ' + Array(32).fill('AA').join(':');
const FP_B = 'sha-256 ' + Array(32).fill('BB').join(':');

function sdp(fp, ufrag) {
  return `v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=ice-ufrag:${ufrag}\r\na=fingerprint:${fp}\r\n`;
}

class FakeChannel extends EventTarget {
  constructor(label) {
    super();
    this.label = label;
    this.readyState = 'open';
  }
  close() {}
}

class FakePC {
  static all = [];
  static async generateCertificate() {
    return { expires: Date.now() + 365 * 24 * 3600 * 1000 };
  }
  constructor() {
    this.connectionState = 'new';
    this.offers = [];
    this.remote = [];
    this.localDescription = null;
    this.remoteDescription = null;
    this.ufrag = 0;
    FakePC.all.push(this);
  }
  createDataChannel(label) {
    return new FakeChannel(label);
  }
  async createOffer(opts) {
    this.offers.push(opts || {});
    return { type: 'offer', sdp: sdp(FP_A, `o${++this.ufrag}`) };
  }
  async createAnswer() {
    return { type: 'answer', sdp: sdp(FP_A, `a${++this.ufrag}`) };
  }
  async setLocalDescription(d) {
    this.localDescription = d;
  }
  async setRemoteDescription(d) {
    this.remoteDescription = d;
    this.remote.push(d);
  }
  async addIceCandidate() {}
  close() {
    this.connectionState = 'closed';
  }
  become(state) {
    this.connectionState = state;
    this.onconnectionstatechange();
  }
}

class FakeHub {
  constructor() {
    this.sent = [];
  }
  send(m) {
    this.sent.push(m);
    return true;
  }
}

const flush = () => new Promise((ok) => setImmediate(ok));

async function connected(offerer) {
  globalThis.RTCPeerConnection = FakePC;
  const hub = new FakeHub();
  const link = new Link({ hub, peer: 'g-peer', conn: 'c1', session: 7, offerer });
  const stalls = [];
  let lost = null;
  link.onstall = (on) => stalls.push(on);
  link.onlost = (err) => (lost = err);
  const opened = link.open(offerer ? undefined : sdp(FP_B, 'x1'));
  await flush();
  const pc = link.pc;
  if (offerer) await link.handle({ type: 'answer', session: 7, sdp: sdp(FP_B, 'y1') });
  link.attach(new FakeChannel('ferry-control'));
  link.attach(new FakeChannel('ferry-data'));
  await opened;
  pc.become('connected');
  return { hub, link, pc, stalls, lost: () => lost };
}

test('a disconnected offerer restarts ICE on the same session and goes on when connected again', async () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const { hub, link, pc, stalls, lost } = await connected(true);
    hub.sent = [];
    pc.become('disconnected');
    assert.deepEqual(stalls, [true], 'the transfer is told at once');
    mock.timers.tick(999);
    await flush();
    assert.equal(pc.offers.length, 1, 'no restart before a second has passed');
    mock.timers.tick(1);
    await flush();
    assert.deepEqual(pc.offers.at(-1), { iceRestart: true });
    const offer = hub.sent.find((m) => m.type === 'offer');
    assert.ok(offer, 'the restart offer went out');
    assert.equal(offer.session, 7, 'on the same session');
    await link.handle({ type: 'answer', session: 7, sdp: sdp(FP_B, 'y2') });
    assert.equal(pc.remote.at(-1).sdp, sdp(FP_B, 'y2'), 'the answer to the restart is applied');
    pc.become('connected');
    assert.deepEqual(stalls, [true, false]);
    mock.timers.tick(60000);
    await flush();
    assert.equal(lost(), null, 'a connection that came back is not given up');
  } finally {
    mock.timers.reset();
  }
});

test('an offerer whose connection is not back within 12 s takes it as lost', async () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const { pc, lost } = await connected(true);
    pc.become('disconnected');
    mock.timers.tick(11999);
    await flush();
    assert.equal(lost(), null);
    mock.timers.tick(1);
    await flush();
    assert.match(String(lost()?.message), /lost/);
  } finally {
    mock.timers.reset();
  }
});

test('an answer to a restart that names another certificate is refused', async () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const { hub, link, pc, lost } = await connected(true);
    pc.become('disconnected');
    mock.timers.tick(1000);
    await flush();
    await link.handle({ type: 'answer', session: 7, sdp: sdp(FP_A, 'y2') });
    assert.equal(pc.remote.length, 1, 'the answer is not applied');
    assert.ok(hub.sent.some((m) => m.type === 'error' && m.code === 'unverified'), 'the other side is told');
    assert.match(String(lost()?.message), /another certificate/);
  } finally {
    mock.timers.reset();
  }
});

test('an answerer answers a restart on its connection and shows the pause until a message arrives', async () => {
  const { hub, link, pc, stalls, lost } = await connected(false);
  hub.sent = [];
  await link.handle({ type: 'offer', session: 7, sdp: sdp(FP_B, 'x2') });
  assert.equal(pc.remote.at(-1).sdp, sdp(FP_B, 'x2'));
  const answer = hub.sent.find((m) => m.type === 'answer');
  assert.equal(answer?.session, 7, 'answered on the same session');
  assert.ok(hub.sent.indexOf(answer) === 0, 'the answer goes out before any candidate');
  assert.deepEqual(stalls, [true]);
  link.data.dispatchEvent(new Event('message'));
  assert.deepEqual(stalls, [true, false]);
  await link.handle({ type: 'offer', session: 7, sdp: sdp(FP_A, 'x3') });
  assert.match(String(lost()?.message), /another certificate/, 'a restart with another certificate is refused');
});
