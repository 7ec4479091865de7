// The guest page: a browser on the same network as a computer running
// ferry joins its daemon's hub as a guest, sees who is nearby or in a code
// room, and sends and receives files and texts with computers and other
// browsers, directly over WebRTC.

import { h, fill, say } from '../dom.js';
import { bytes, percent, speedWords, eta, ago } from '../format.js';
import { Hub, randomID } from '../hub.js';
import { Engine } from '../engine/engine.js';
import { MemoryStore, DiskStore } from '../engine/store.js';
import { Keeper } from '../engine/kept.js';
import { isFinal } from '../engine/incoming.js';
import { visible, guestName, normalizeCode } from './people.js';
import { fromInput, fromDrop } from '../pick.js';
import { trust } from '../roomkey.js';
import * as room from './room.js';
import { wirePairing } from './pairing.js';
import { screenFor, roomProblem, peerLeft, LOST_ADVICE } from './screens.js';

const MEMORY_LIMIT = 512 << 20; // what a page may hold of received files at once
// Phones' browsers pick files only; desktop ones pick folders too.
const FOLDERS = 'webkitdirectory' in HTMLInputElement.prototype && !/Android|iPhone|iPad/.test(navigator.userAgent);

const body = document.body;
const state = { members: [], room: '', texts: [], pending: null, speeds: new Map(), everConnected: false, downSince: performance.now() };

function stored(key, make) {
  try {
    let v = localStorage.getItem(key);
    if (!v) {
      v = make();
      localStorage.setItem(key, v);
    }
    return v;
  } catch {
    return make(); // storage blocked: a new guest each time
  }
}

const me = {
  id: stored('ferry.guest.id', () => `g-${randomID(22)}`),
  name: stored('ferry.guest.name', () => guestName(crypto.getRandomValues(new Uint8Array(2)))),
};
const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
const hub = new Hub({ url: `${proto}//${location.host}/ws`, id: me.id, name: me.name });
const engine = new Engine({
  hub, myName: () => me.name, store: new MemoryStore(MEMORY_LIMIT), changed: () => schedule(),
  lookup: (id) => state.members.find((m) => m.id === id) || { name: '', kind: '' },
  download: (url) => {
    // The sending computer's answer says attachment, so this saves the
    // file and the page stays.
    const a = h('a', { href: url, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
  },
});

let drawing = false;
function schedule() {
  if (drawing) return;
  drawing = true;
  requestAnimationFrame(() => {
    drawing = false;
    render();
  });
}

function render() {
  const pill = document.getElementById('link-state');
  pill.textContent = hub.connected ? `Connected to ${hub.daemon?.name || body.dataset.daemon}` : 'Reconnecting…';
  pill.className = `pill ${hub.connected ? 'up' : 'down'}`;
  renderScreen();
  renderPeople();
  room.render();
  renderTransfers();
  renderMessages();
}

let screenShown = '';
let screenTimer = 0;

/** renderScreen shows what the top of the page says now (screens.js). */
function renderScreen() {
  const downFor = hub.connected ? 0 : (performance.now() - state.downSince) / 1000;
  const s = screenFor({
    webrtc: typeof RTCPeerConnection !== 'undefined', daemon: hub.daemon?.name || body.dataset.daemon,
    everConnected: state.everConnected, connected: hub.connected, downFor,
    others: visible(state.members, me.id, state.room).filter((m) => m.id !== hub.daemon?.id).length, room: state.room, transfers: engine.transfers.length,
  });
  clearTimeout(screenTimer);
  if (!hub.connected && downFor < LOST_ADVICE) screenTimer = setTimeout(render, (LOST_ADVICE - downFor) * 1000 + 50);
  const el = document.getElementById('screen');
  el.hidden = !s;
  const key = s ? `${s.kind}|${s.title}` : '';
  if (key === screenShown) return;
  screenShown = key;
  if (!s) return;
  el.className = `screen ${s.kind}`;
  el.setAttribute('role', s.kind === 'error' ? 'alert' : 'status');
  document.getElementById('screen-title').textContent = s.title;
  document.getElementById('screen-text').textContent = s.text;
  fill('screen-extra', s.kind === 'landing'
    ? [room.qrImage(location.origin + '/', `QR code of this page, ${location.origin}`),
        h('p', { class: 'page-address' }, h('a', { href: location.origin + '/', text: location.host })),
        h('div', { class: 'row' },
          h('button', { type: 'button', text: 'Create a room', on: { click: () => document.getElementById('room-create').click() } }),
          h('button', { type: 'button', class: 'quiet', text: 'Pair by code', on: { click: () => document.getElementById('pair-h').scrollIntoView({ behavior: 'smooth' }) } }))]
    : []);
}

function renderPeople() {
  const list = visible(state.members, me.id, state.room);
  document.getElementById('people-h').textContent = state.room ? `In room ${state.room}` : 'Nearby';
  document.getElementById('people-hint').textContent = state.room
    ? 'Everyone who joined this room, on any computer running ferry on this network.'
    : 'Everyone on this network running ferry, and everyone with this page open.';
  if (list.length === 0) {
    fill('people', h('li', { class: 'empty', text: state.room ? 'Nobody else is in this room yet. Share its code, link or QR code.' : 'Nobody else yet.' }));
    return;
  }
  fill('people', list.map(person));
}

function person(m) {
  const li = h(
    'li',
    { class: 'drop-target', 'data-member': m.id },
    h('div', { class: 'item-head' }, h('strong', { text: m.name }), h('span', { class: 'tags' }, h('span', { class: 'tag', text: m.kind === 'guest' ? 'browser' : 'computer' }), m.paired ? h('span', { class: 'tag paired', text: 'paired' }) : null)),
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'small send', text: 'Send files', on: { click: () => pickFor(m, 'pick') } }),
      FOLDERS ? h('button', { type: 'button', class: 'small quiet send-folder', text: 'Send a folder', on: { click: () => pickFor(m, 'pick-folder') } }) : null,
      h('button', { type: 'button', class: 'small quiet', text: 'Message', on: { click: () => messageTo(m.id) } })),
  );
  li.addEventListener('dragover', (e) => {
    e.preventDefault();
    li.classList.add('over');
  });
  li.addEventListener('dragleave', () => li.classList.remove('over'));
  li.addEventListener('drop', (e) => {
    e.preventDefault();
    li.classList.remove('over');
    document.getElementById('drop-hint').hidden = true;
    fromDrop(e.dataTransfer).then((items) => sendFiles(m, items), (err) => say('send-note', `Could not read what was dropped: ${err.message}`));
  });
  return li;
}

function pickFor(m, input) {
  state.pending = m;
  document.getElementById(input).click();
}

function sendFiles(m, items) {
  if (items.length === 0) return;
  say('send-note', '');
  const t = engine.send(m.id, items);
  return t;
}

function renderTransfers() {
  const offers = engine.transfers.filter((t) => t.direction === 'in' && t.state === 'pending');
  document.getElementById('incoming-card').hidden = offers.length === 0;
  fill('incoming', offers.map(offer));
  const rest = engine.transfers.filter((t) => !(t.direction === 'in' && t.state === 'pending'));
  fill('transfers', rest.length ? rest.map(transfer) : [h('li', { class: 'empty', text: 'Nothing sent or received yet.' })]);
}

function offer(t) {
  const note = t.tooBig
    ? h('p', { class: 'note warn', text: engine.store.kind !== 'memory'
        ? `This browser lets the page store ${bytes(engine.store.limit)} more; this offer is ${bytes(t.bytes)}. Free some space, or receive it on a computer running ferry.`
        : t.canFetch
          ? `This page is plain HTTP, so it can keep received files only in memory, at most ${bytes(MEMORY_LIMIT)}; this offer is ${bytes(t.bytes)}. Download it instead: your browser saves each file to its downloads, straight from ${t.peerName}, and can continue a download that breaks off.`
          : `This page is plain HTTP, so the browser lets it keep received files only in memory, at most ${bytes(MEMORY_LIMIT)}; this offer is ${bytes(t.bytes)}. Receive it on a computer running ferry instead, or ask for smaller parts.` })
    : null;
  return h('article', { class: 'offer', 'data-transfer': t.id },
    h('div', { class: 'item-head' }, h('strong', { text: `${t.peerName} wants to send you ${t.files === 1 ? '1 file' : `${t.files} files`}, ${bytes(t.bytes)}` })),
    h('ul', { class: 'files' }, ...t.entries.slice(0, 200).map((e) => h('li', { text: e.dir ? `${e.path}/` : `${e.path} (${bytes(e.size || 0)})` }))),
    note,
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'accept', text: 'Accept', disabled: t.tooBig, on: { click: () => t.accept() } }),
      t.canFetch ? h('button', { type: 'button', class: 'fetch', text: 'Download instead', on: { click: () => t.fetch() } }) : null,
      h('button', { type: 'button', class: 'danger decline', text: 'Decline', on: { click: () => t.decline() } })));
}

function transfer(t) {
  const out = t.direction === 'out';
  const words = {
    connecting: `Connecting to ${t.peerName}`,
    pending: out ? `Waiting for ${t.peerName} to accept` : '',
    active: out ? `Sending to ${t.peerName}` : `Receiving from ${t.peerName}`,
    done: out ? `Sent to ${t.peerName}, every file verified` : `Received from ${t.peerName}, every file verified`,
  }[t.state] || `${t.state[0].toUpperCase()}${t.state.slice(1)}: ${t.error}`;
  const shown = t.interrupted && !isFinal(t.state) ? paused(t) : t.viaLinks ? linkWords(t) : words;
  const bps = speedOf(t);
  const parts = (t.bytes || out) && !t.viaLinks ? [`${percent(t.done, t.bytes)}%`, `${bytes(t.done)} of ${bytes(t.bytes)}`] : [];
  if (t.state === 'active' && !t.interrupted) parts.push(speedWords(bps), `${eta(t.bytes - t.done, bps)} left`);
  const notes = [];
  const checked = { room: 'Checked with the room\'s secret: the connection is the other browser\'s own, end to end.', pairing: 'Checked against the pairing code: the connection is the paired browser\'s own, end to end.' }[t.checkedBy || t.link?.checkedBy];
  if (checked) notes.push(checked);
  if (out && t.continued > 0) notes.push(`Continuing: ${t.peerName} already had ${bytes(t.continued)} of these files from an earlier try.`);
  if (!out && t.continued > 0) notes.push(`Continuing: you already had ${bytes(t.continued)} of these files from an earlier try.`);
  if (out && t.restarted?.length) notes.push(`${t.peerName} held other bytes of ${t.restarted.join(', ')}, so that went from its start.`);
  const saved = !out && t.saved.length
    ? h('div', {},
        h('ul', { class: 'files' }, ...t.saved.map((f) => h('li', {}, `${f.path} (${bytes(f.size)}) `, saveLink(f, { class: 'save', text: 'Save' })))),
        t.saved.length > 1 ? h('button', { type: 'button', class: 'small', text: 'Save all', on: { click: () => saveAll(t) } }) : null)
    : null;
  return h('li', { 'data-transfer': t.id, class: t.state },
    h('div', { class: 'item-head' }, h('strong', { text: shown }), h('span', { class: 'tag', text: out ? 'sending' : 'receiving' })),
    isFinal(t.state) || t.viaLinks ? null : h('progress', { max: '100', value: String(percent(t.done, t.bytes)), 'aria-label': 'Progress' }),
    h('div', { class: 'meta', text: parts.join(' · ') }),
    ...notes.map((n) => h('div', { class: 'meta continued', text: n })),
    saved,
    t.viaLinks ? linkList(t) : null,
    isFinal(t.state) ? null : h('div', { class: 'actions' }, h('button', { type: 'button', class: 'small danger', text: 'Cancel', on: { click: () => t.cancel() } })));
}

function linkWords(t) {
  if (t.state === 'done') return `Handed to your browser's downloads, from ${t.peerName}`;
  if (t.state === 'active') return `Downloading from ${t.peerName} through your browser`;
  return `${t.state[0].toUpperCase()}${t.state.slice(1)}: ${t.error}`;
}

/**
 * linkList lists the files that come as downloads, each with its link (to
 * start it again, or where the browser asked first) and the SHA-256 its
 * sender computed, to compare with the file saved.
 */
function linkList(t) {
  return h('ul', { class: 'files links' }, ...t.entries.flatMap((e, i) => (e.dir ? [] : [h('li', {},
    t.links[i] ? h('a', { class: 'download', href: t.links[i], text: `${e.path} (${bytes(e.size || 0)})` }) : `${e.path} (${bytes(e.size || 0)})`,
    h('div', { class: 'meta sha', text: t.want[i] ? `SHA-256 ${t.want[i]}` : 'SHA-256 being computed…' }))])));
}

/** paused says that a transfer's connection broke and what is being done. */
function paused(t) {
  if (t.direction === 'out' && t.attempt) {
    return `Paused: connection to ${t.peerName} lost; reconnecting (attempt ${t.attempt} of ${t.retries})…`;
  }
  return t.direction === 'out'
    ? `Paused: connection to ${t.peerName} lost; reconnecting…`
    : `Paused: connection to ${t.peerName} lost; reconnecting, waiting for ${t.peerName} to come back…`;
}

/**
 * saveLink links to a received file for saving. A file in memory is a blob
 * that the download attribute saves. A file in OPFS is served by the
 * service worker with Content-Disposition: attachment, and only a
 * navigation goes through the service worker (a download attribute makes
 * the browser fetch the link itself), so that link is a plain one.
 */
function saveLink(f, attrs) {
  const name = f.path.split('/').pop();
  const a = h('a', { ...attrs, href: f.url, 'data-name': name });
  if (f.url.startsWith('blob:')) a.download = name;
  return a;
}

function saveAll(t) {
  for (const f of t.saved) {
    const a = saveLink(f, {});
    document.body.append(a);
    a.click();
    a.remove();
  }
}

/** speedOf measures a transfer's speed over the last three seconds. */
function speedOf(t) {
  const now = performance.now();
  const s = (state.speeds.get(t.id) || []).filter(([when]) => now - when < 3000);
  if (!s.length || s[s.length - 1][1] !== t.done) s.push([now, t.done]);
  state.speeds.set(t.id, s);
  if (s.length < 2) return 0;
  return ((s[s.length - 1][1] - s[0][1]) * 1000) / (s[s.length - 1][0] - s[0][0] || 1);
}

function renderMessages() {
  fill('messages', state.texts.length
    ? state.texts.slice().reverse().map((m) => h('li', { class: m.direction },
        h('div', { class: 'item-head' }, h('strong', { text: m.direction === 'in' ? `From ${m.name}` : `To ${m.name}` }), h('span', { class: 'tag', text: ago(m.time) })),
        h('p', { class: 'text' }, /^https?:\/\/\S+$/.test(m.text) ? h('a', { href: m.text, rel: 'noopener noreferrer', target: '_blank', text: m.text }) : m.text)))
    : [h('li', { class: 'empty', text: 'No messages yet.' })]);
  const select = document.getElementById('message-to');
  const chosen = select.value;
  const people = visible(state.members, me.id, '');
  select.replaceChildren(h('option', { value: '', text: people.length ? 'Choose…' : 'Nobody yet' }),
    ...people.map((m) => h('option', { value: m.id, text: `${m.name} (${m.kind === 'guest' ? 'browser' : 'computer'})` })));
  select.value = people.some((m) => m.id === chosen) ? chosen : '';
}

function messageTo(id) {
  document.getElementById('message-to').value = id;
  document.getElementById('message-text').focus();
}

function showLimits() {
  document.getElementById('limits').textContent = engine.store.kind === 'disk'
    ? `Files you receive are written to this browser's storage (${bytes(engine.store.limit)} free) until you save them, so their size does not matter.`
    : window.isSecureContext
      ? `Files you receive are kept in memory until you save them, up to ${bytes(MEMORY_LIMIT)} per transfer.`
      : `This page is plain HTTP, so the browser lets it keep received files only in memory: up to ${bytes(MEMORY_LIMIT)} per transfer. Larger files from a computer running ferry can come as downloads instead.`;
}

function wire() {
  document.getElementById('my-name').value = me.name;
  showLimits();
  document.getElementById('name-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const v = e.target.elements.who.value.trim().slice(0, 64);
    if (!v) return;
    me.name = v;
    try {
      localStorage.setItem('ferry.guest.name', v);
    } catch {
      // kept for this page only
    }
    hub.name = v;
    hub.ws?.close(); // says hello again with the new name
  });
  for (const pick of [document.getElementById('pick'), document.getElementById('pick-folder')]) {
    pick.addEventListener('change', () => {
      if (state.pending) sendFiles(state.pending, fromInput(pick));
      pick.value = '';
    });
  }
  document.getElementById('room-create').addEventListener('click', () => {
    state.creating = true;
    hub.send({ type: 'create' });
  });
  document.getElementById('room-leave').addEventListener('click', () => {
    hub.send({ type: 'leave', room: state.room });
    state.room = '';
    room.leave();
    render();
  });
  document.getElementById('join-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const code = normalizeCode(e.target.elements.code.value);
    if (!code) return say('room-note', 'A room code is 8 letters and digits, like ABCD2345.');
    hub.send({ type: 'join', room: code });
  });
  document.getElementById('message-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const f = e.target.elements;
    const to = f.to.value;
    const text = f.text.value.trim();
    if (!to) return say('messages-note', 'Choose who gets the message.');
    if (!text) return;
    if (!hub.send({ type: 'text', to, id: randomID(16), text })) return say('messages-note', 'Not connected; try again in a moment.');
    const who = state.members.find((m) => m.id === to);
    state.texts.push({ direction: 'out', name: who ? who.name : to, text, time: Date.now() });
    f.text.value = '';
    say('messages-note', '');
    render();
  });
  document.addEventListener('dragenter', () => (document.getElementById('drop-hint').hidden = false));
  document.addEventListener('dragover', (e) => e.preventDefault());
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    document.getElementById('drop-hint').hidden = true;
  });
  hub.addEventListener('state', (e) => {
    if (e.detail.connected) state.everConnected = true;
    else state.downSince = performance.now();
    if (e.detail.connected && state.room) hub.send({ type: 'join', room: state.room });
    render();
  });
  hub.addEventListener('presence', (e) => {
    state.members = e.detail.members;
    render();
  });
  hub.addEventListener('joined', (e) => {
    state.room = e.detail.room;
    room.enter(state.room, state.creating);
    state.creating = false;
    say('room-note', '');
    render();
  });
  hub.addEventListener('problem', (e) => {
    const m = e.detail;
    const words = roomProblem(m.code, m.room);
    if (m.room && m.room === state.room && m.code !== 'no-peer') {
      // A room the page was opened in (a link, a reload) that it could not
      // join: back to the nearby room.
      state.room = '';
      room.leave();
      render();
    }
    if (words) return say('room-note', words);
    if (m.code === 'no-peer') return say('messages-note', peerLeft(state.members.find((x) => x.id === m.from)?.name));
    say('room-note', m.text || m.code);
  });
  hub.addEventListener('text', (e) => {
    const m = e.detail;
    state.texts.push({ direction: 'in', name: m.name || m.from, text: String(m.text), time: Date.now() });
    render();
  });
}

if (body.dataset.missing === 'true') say('room-note', `${body.dataset.room} is not a room code: a code is 8 letters and digits, like ABCD2345.`);
else if (body.dataset.room) {
  state.room = body.dataset.room;
  room.takeFromLink(state.room, location.hash);
  room.enter(state.room, false);
}
// Anyone not listed as a computer is taken for a browser, so an offer that
// comes before the list names its sender is checked too.
trust.isDaemon = (id) => state.members.some((m) => m.id === id && m.kind === 'daemon');
wire();
wirePairing(hub, me, () => schedule());
render();
start();

/**
 * start connects to the hub and, in a secure context, moves received files
 * to the browser's storage. Transfers kept from before a reload are taken
 * up first, so that their senders' next sessions find them.
 */
async function start() {
  let started = false;
  const connect = () => {
    if (!started) hub.start();
    started = true;
  };
  const kept = globalThis.isSecureContext && globalThis.indexedDB ? await Keeper.load().catch(() => []) : [];
  if (!kept.length) connect();
  else setTimeout(connect, 5000); // whatever the storage does
  const store = await DiskStore.open(kept.map((r) => r.id));
  if (store) {
    engine.store = store;
    engine.keeper = new Keeper(store);
    await engine.restore(kept);
    showLimits();
    render();
  }
  connect();
}
