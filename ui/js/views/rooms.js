// Code rooms: create, join, leave, share, and who is in each.
import { h, fill, say, copyButton } from '../dom.js';
import { duration } from '../format.js';
import { post } from '../api.js';

export function renderRooms(state, ctx) {
  if (state.rooms.length === 0) {
    fill('rooms', h('p', { class: 'hint', text: 'No code rooms yet.' }));
    return;
  }
  fill('rooms', state.rooms.map((r) => room(r, state, ctx)));
}

function room(r, state, ctx) {
  const self = state.status ? state.status.id : '';
  const members = r.members.map((m) =>
    h('li', { text: `${m.name}${m.id === self ? ' (this device)' : ''} · ${m.kind === 'guest' ? 'browser' : 'computer'}` }),
  );
  const others = r.members.some((m) => m.kind === 'daemon' && m.id !== self);
  const actions = [];
  if (r.joined && others) actions.push(ctx.sendButton({ room: r.code, label: `room ${r.code}` }));
  actions.push(
    r.joined
      ? h('button', { type: 'button', class: 'small quiet', text: 'Leave', on: { click: () => leave(r.code) } })
      : h('button', { type: 'button', class: 'small', text: 'Join', on: { click: () => join(r.code) } }),
  );
  const el = h(
    'article',
    { class: 'room drop-target', 'data-room': r.code },
    h('div', { class: 'item-head' }, h('span', { class: 'code', text: r.code }),
      h('span', { class: 'tag', text: r.joined ? 'you are in it' : 'known on the network' })),
    h('div', { class: 'room-body' },
      r.link ? h('img', { class: 'qr big', src: `/r/${r.code}/qr.svg`, alt: `QR code of the join link of room ${r.code}` }) : null,
      h('div', {},
        r.link ? h('p', {}, h('a', { href: r.link, text: r.link }), ' ', copyButton(r.link)) : null,
        h('p', { class: 'meta', text: r.expiresIn ? `Empty; ends in ${duration(r.expiresIn / 1e9)}` : `${r.members.length} in the room` }),
        h('ul', { class: 'meta' }, ...members))),
    h('div', { class: 'actions' }, ...actions),
  );
  if (r.joined && others) ctx.dropTarget(el, { room: r.code, label: `room ${r.code}` });
  return el;
}

async function join(code) {
  const r = await post('/api/rooms/join', { room: code });
  say('rooms-note', r.ok ? `Joined room ${r.data.code}.` : r.error, r.ok ? 'ok' : 'error');
  return r.ok;
}

async function leave(code) {
  const r = await post('/api/rooms/leave', { room: code });
  say('rooms-note', r.ok ? `Left room ${code}.` : r.error, r.ok ? 'ok' : 'error');
}

export function wireRooms() {
  document.getElementById('room-create').addEventListener('click', async () => {
    const r = await post('/api/rooms/create');
    say('rooms-note', r.ok ? `Room ${r.data.code} is open. Share its link or QR code.` : r.error, r.ok ? 'ok' : 'error');
  });
  const form = document.getElementById('join-form');
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (await join(form.code.value)) form.reset();
  });
}
