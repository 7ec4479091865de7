// Nearby devices: computers running ferry and browsers on guest pages.
import { h, fill, say } from '../dom.js';
import { ago } from '../format.js';
import { post } from '../api.js';

/**
 * devices merges the daemons the daemon knows with the browser guests in
 * the mesh, this device left out: {id, name, kind, ...}.
 */
export function devices(state) {
  const self = state.status ? state.status.id : '';
  const out = state.peers.map((p) => ({ ...p, kind: 'daemon' }));
  const names = Object.fromEntries(state.nearby.map((m) => [m.id, m.name]));
  for (const m of state.nearby) {
    if (m.kind === 'guest') out.push({ id: m.id, name: m.name, kind: 'guest', home: m.home, homeName: names[m.home] || '' });
    else if (m.id !== self && !out.some((p) => p.id === m.id)) out.push({ id: m.id, name: m.name, kind: 'daemon', linkedOnly: true });
  }
  return out;
}

export function renderNearby(state, ctx) {
  const list = devices(state);
  if (list.length === 0) {
    fill('nearby', h('li', { class: 'empty', text: 'No other device yet. Others running ferry on this network appear here by themselves; phones appear when they open this device’s address.' }));
    return;
  }
  fill('nearby', list.map((d) => item(d, state, ctx)));
}

function item(d, state, ctx) {
  const kind = d.kind === 'guest' ? `browser on ${d.homeName || 'a nearby computer'}` : 'computer';
  const tags = [h('span', { class: 'tag', text: kind })];
  if (d.trusted) tags.push(h('span', { class: 'tag trusted', text: 'trusted' }));
  const meta = [];
  if (d.kind === 'daemon' && !d.linkedOnly) {
    meta.push(d.address ? `at ${d.address}` : 'flagged: an address answered with another certificate');
    meta.push(`seen ${ago(d.lastSeen)}`);
    if (d.manual) meta.push('added by address');
  }
  const actions = [];
  actions.push(ctx.sendButton({ to: d.id, label: d.name }));
  actions.push(h('button', { type: 'button', class: 'small quiet', text: 'Message', on: { click: () => ctx.messageTo(d.id) } }));
  if (d.kind === 'daemon' && !d.linkedOnly) {
    actions.push(
      d.trusted
        ? h('button', { type: 'button', class: 'small quiet', text: 'Untrust', on: { click: () => untrust(d) } })
        : h('button', { type: 'button', class: 'small quiet', text: 'Trust', on: { click: () => trust(d) } }),
    );
  }
  const li = h(
    'li',
    { class: 'drop-target', 'data-device': d.id },
    h('div', { class: 'item-head' }, h('strong', { text: d.name }), h('span', {}, ...tags)),
    meta.length ? h('div', { class: 'meta', text: meta.join(' · ') }) : null,
    h('div', { class: 'actions' }, ...actions),
    h('div', { class: 'trust-code', id: `code-${d.id}` }),
  );
  ctx.dropTarget(li, { to: d.id, label: d.name });
  return li;
}

async function trust(d) {
  const r = await post('/api/trust', { peer: d.id });
  if (!r.ok) return say('nearby-note', r.error);
  say('nearby-note', '');
  fill(
    `code-${d.id}`,
    h('p', { class: 'meta', text: `Trusted. ${d.name} shows this code when its owner trusts this device; compare them:` }),
    h('p', { class: 'paircode', text: r.data.code }),
  );
}

async function untrust(d) {
  const r = await post('/api/untrust', { peer: d.id });
  say('nearby-note', r.ok ? `${d.name} is no longer trusted.` : r.error, r.ok ? 'ok' : 'error');
}

/** wireConnect handles the "Add by address" form. */
export function wireConnect() {
  const form = document.getElementById('connect-form');
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const addr = form.addr.value.trim();
    say('nearby-note', `Asking ${addr}…`, 'ok');
    const r = await post('/api/connect', { peer: addr });
    if (!r.ok) return say('nearby-note', r.error);
    form.reset();
    say('nearby-note', `Added ${r.data.name} at ${r.data.address}. It is remembered.`, 'ok');
  });
}
