// Incoming offers, transfers under way, and the history.
import { h, fill, say } from '../dom.js';
import { bytes, speedWords, eta, percent, stateWords, ago } from '../format.js';
import { get, post } from '../api.js';
import { incoming, current, history, speed } from '../state.js';

const entries = new Map(); // transfer ID -> list of entries, or a promise of it

export function renderIncoming(state) {
  const offers = incoming(state);
  document.getElementById('incoming-card').hidden = offers.length === 0;
  fill('incoming', offers.map((t) => offer(t)));
}

function offer(t) {
  const files = h('ul', { class: 'files', 'aria-label': 'Files offered' });
  const list = entries.get(t.id);
  if (Array.isArray(list)) fillFiles(files, list);
  else {
    files.append(h('li', { text: (t.items || []).join(', ') }));
    if (!list) loadEntries(t.id);
  }
  const note = h('p', { class: 'note', role: 'alert' });
  const answer = (verb) => async () => {
    const r = await post(`/api/transfers/${t.id}/${verb}`);
    if (!r.ok) {
      note.textContent = r.error;
      note.className = 'note error';
    }
  };
  return h(
    'article',
    { class: 'offer', 'data-transfer': t.id },
    h('div', { class: 'item-head' }, h('strong', { text: `${t.peerName || 'A device'} wants to send you ${count(t)}, ${bytes(t.bytes)}` }),
      h('span', { class: 'tag', text: t.peerKind === 'guest' ? 'browser' : 'computer' })),
    files,
    h('div', { class: 'actions' },
      h('button', { type: 'button', text: 'Accept', on: { click: answer('accept') } }),
      h('button', { type: 'button', class: 'danger', text: 'Decline', on: { click: answer('decline') } })),
    note,
  );
}

function count(t) {
  return t.files === 1 ? '1 file' : `${t.files} files`;
}

async function loadEntries(id) {
  entries.set(id, 'loading');
  const r = await get(`/api/transfers/${id}/entries`);
  entries.set(id, r.ok ? r.data : []);
  const el = document.querySelector(`[data-transfer="${id}"] .files`);
  if (el && r.ok) fillFiles(el, r.data);
}

function fillFiles(el, list) {
  el.replaceChildren(
    ...list.slice(0, 500).map((e) => (e.dir ? h('li', { class: 'dir', text: `${e.path}/` }) : h('li', { text: `${e.path} (${bytes(e.size || 0)})` }))),
  );
  if (list.length > 500) el.append(h('li', { text: `and ${list.length - 500} more` }));
}

export function renderTransfers(state) {
  const now = current(state);
  fill('transfers', now.length ? now.map((t) => live(t, state)) : [h('li', { class: 'empty', text: 'Nothing is moving right now.' })]);
  const done = history(state);
  fill('history', done.length ? done.map((t) => past(t, state)) : [h('li', { class: 'empty', text: 'No transfers yet.' })]);
}

function live(t, state) {
  const bps = speed(state, t.id);
  const pct = percent(t.done, t.bytes);
  const parts = [`${pct}%`, `${bytes(t.done)} of ${bytes(t.bytes)}`];
  if (t.state === 'active') parts.push(speedWords(bps), `${eta(t.bytes - t.done, bps)} left`);
  const file = t.file ? `${t.file}: ${bytes(t.fileDone)} of ${bytes(t.fileBytes)}` : '';
  return h(
    'li',
    { 'data-transfer': t.id },
    h('div', { class: 'item-head' }, h('strong', { text: stateWords(t) }), h('span', { class: 'tag', text: t.direction === 'out' ? 'sending' : 'receiving' })),
    h('progress', { max: '100', value: String(pct), 'aria-label': `Progress of ${summary(t)}` }),
    h('div', { class: 'meta', text: parts.join(' · ') }),
    h('div', { class: 'meta', text: `${summary(t)} · ${t.verified} of ${t.files} verified` }),
    file ? h('div', { class: 'meta', text: file }) : null,
    h('div', { class: 'actions' }, h('button', { type: 'button', class: 'small danger', text: 'Cancel', on: { click: () => cancel(t) } })),
  );
}

function past(t, state) {
  const where = t.direction === 'in' && t.state === 'done' && state.status ? `Saved in ${state.status.downloads}` : '';
  return h(
    'li',
    { 'data-transfer': t.id, class: t.state },
    h('div', { class: 'item-head' }, h('strong', { text: stateWords(t) }), h('span', { class: 'tag', text: ago(t.updated) })),
    h('div', { class: 'meta', text: `${summary(t)} · ${bytes(t.bytes)}` }),
    where ? h('div', { class: 'meta', text: where }) : null,
  );
}

/** summary names what a transfer carries: "photo.jpg", "Holiday and 3 more". */
export function summary(t) {
  const items = t.items || [];
  if (items.length === 0) return count(t);
  const tops = [...new Set(items.map((p) => p.split('/')[0]))];
  return tops.length === 1 ? tops[0] : `${tops[0]} and ${tops.length - 1} more`;
}

async function cancel(t) {
  const r = await post(`/api/transfers/${t.id}/cancel`);
  say('transfers-note', r.ok ? '' : r.error);
}
