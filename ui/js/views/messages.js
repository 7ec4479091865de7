// Short texts and links, to and from devices and browsers.
import { h, fill, say } from '../dom.js';
import { ago } from '../format.js';
import { post } from '../api.js';
import { devices } from './nearby.js';

const LINK = /^https?:\/\/\S+$/;

export function renderMessages(state) {
  const list = state.messages.slice().reverse();
  fill('messages', list.length ? list.map(message) : [h('li', { class: 'empty', text: 'No messages yet.' })]);
  const select = document.getElementById('message-to');
  const chosen = select.value;
  const options = devices(state).map((d) => h('option', { value: d.id, text: `${d.name} (${d.kind === 'guest' ? 'browser' : 'computer'})` }));
  select.replaceChildren(h('option', { value: '', text: options.length ? 'Choose…' : 'Nobody nearby yet' }), ...options);
  select.value = [...select.options].some((o) => o.value === chosen) ? chosen : '';
}

function message(m) {
  const who = m.direction === 'in' ? `From ${m.peerName || m.peer}` : `To ${m.peerName || m.peer}`;
  const text = m.text.trim();
  const body = LINK.test(text) ? h('a', { href: text, rel: 'noopener noreferrer', target: '_blank', text }) : text;
  return h(
    'li',
    { class: m.error ? 'failed' : m.direction },
    h('div', { class: 'item-head' }, h('strong', { text: who }), h('span', { class: 'tag', text: ago(m.time) })),
    h('p', { class: 'text' }, body),
    m.error ? h('p', { class: 'note error', text: `Not delivered: ${m.error}` }) : null,
  );
}

/** focusMessageTo picks id as the addressee and puts the cursor in the text. */
export function focusMessageTo(id) {
  document.getElementById('message-to').value = id;
  document.getElementById('message-text').focus();
}

export function wireMessages() {
  const form = document.getElementById('message-form');
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!form.to.value) return say('messages-note', 'Choose who gets the message.');
    const r = await post('/api/messages', { to: form.to.value, text: form.text.value });
    if (!r.ok) return say('messages-note', r.error);
    say('messages-note', '');
    form.text.value = '';
  });
}
