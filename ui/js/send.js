// Sending from the dashboard. A page cannot tell the daemon where a
// dropped file lives on disk, so the files go to the daemon first (over
// loopback, into its outbox) and the daemon sends them from there: the send
// is the daemon's, shows in `ferry transfers`, and goes on when this tab
// closes. docs/dashboard.md says why.
import { h, fill, say } from './dom.js';
import { bytes, percent } from './format.js';
import { post, upload } from './api.js';
import { fromInput, fromDrop } from './pick.js';

const tray = []; // {file, path}
let busy = false;
let onChange = () => {};

/** init wires the pickers and the page-wide drop; changed re-renders buttons. */
export function initSend(changed) {
  onChange = changed;
  for (const b of document.querySelectorAll('[data-picks]')) {
    b.addEventListener('click', () => document.getElementById(b.dataset.picks).click());
  }
  for (const id of ['pick-files', 'pick-folder']) {
    const input = document.getElementById(id);
    input.addEventListener('change', () => {
      add(fromInput(input));
      input.value = '';
    });
  }
  let depth = 0;
  const hint = document.getElementById('drop-hint');
  document.addEventListener('dragenter', (e) => {
    if (!hasFiles(e)) return;
    depth++;
    hint.hidden = false;
    document.body.classList.add('dragging');
  });
  document.addEventListener('dragleave', () => {
    if (--depth <= 0) endDrag();
  });
  document.addEventListener('dragover', (e) => hasFiles(e) && e.preventDefault());
  document.addEventListener('drop', async (e) => {
    e.preventDefault();
    endDrag();
    add(await fromDrop(e.dataTransfer));
  });
  function endDrag() {
    depth = 0;
    hint.hidden = true;
    document.body.classList.remove('dragging');
  }
  renderTray();
}

function hasFiles(e) {
  return e.dataTransfer && [...e.dataTransfer.types].includes('Files');
}

function add(items) {
  for (const it of items) if (!tray.some((t) => t.path === it.path)) tray.push(it);
  renderTray();
}

function renderTray() {
  const total = tray.reduce((n, t) => n + t.file.size, 0);
  fill(
    'tray',
    tray.length === 0
      ? null
      : h('div', {},
          h('p', { class: 'meta', text: `${tray.length} file${tray.length === 1 ? '' : 's'}, ${bytes(total)}, ready. Use Send on a device or room, or drop onto one.` }),
          ...tray.slice(0, 8).map((t) => h('div', { class: 'tray-item' }, h('span', { text: t.path }), h('span', { class: 'meta', text: bytes(t.file.size) }))),
          tray.length > 8 ? h('div', { class: 'meta', text: `and ${tray.length - 8} more` }) : null,
          h('div', { class: 'actions' }, h('button', { type: 'button', class: 'small quiet', text: 'Clear', on: { click: clear } }))),
  );
  onChange();
}

function clear() {
  tray.length = 0;
  renderTray();
}

/** sendButton is a "Send files" button for a device ({to}) or a room ({room}). */
export function sendButton(target) {
  return h('button', {
    type: 'button', class: 'small', text: 'Send files', disabled: tray.length === 0 || busy,
    title: tray.length === 0 ? 'Pick or drop files first' : `Send the tray to ${target.label}`,
    on: { click: () => sendTray(target) },
  });
}

/** dropTarget makes el take a drop of files and send them to target at once. */
export function dropTarget(el, target) {
  el.addEventListener('dragover', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    el.classList.add('over');
  });
  el.addEventListener('dragleave', () => el.classList.remove('over'));
  el.addEventListener('drop', async (e) => {
    e.preventDefault();
    e.stopPropagation();
    el.classList.remove('over');
    document.getElementById('drop-hint').hidden = true;
    document.body.classList.remove('dragging');
    add(await fromDrop(e.dataTransfer));
    sendTray(target);
  });
}

async function sendTray(target) {
  if (tray.length === 0 || busy) return;
  busy = true;
  const items = tray.splice(0);
  renderTray();
  const total = items.reduce((n, t) => n + t.file.size, 0);
  try {
    const up = await post('/api/uploads');
    if (!up.ok) throw new Error(up.error);
    let sent = 0;
    for (const it of items) {
      const r = await upload(up.data.id, it.path, it.file, (n) =>
        say('send-note', `Handing ${bytes(total)} to the daemon: ${percent(sent + n, total)}%`, 'ok'),
      );
      if (!r.ok) throw new Error(r.error);
      sent += it.file.size;
    }
    const body = { upload: up.data.id, ...(target.room ? { room: target.room } : { to: target.to }) };
    const r = await post('/api/send', body);
    if (!r.ok) throw new Error(r.error);
    const skipped = r.data.skipped || [];
    say('send-note', skipped.length ? `Sending; not to ${skipped.map((s) => `${s.name} (${s.error})`).join(', ')}` : `Sending to ${target.label}. Follow it under Transfers.`, skipped.length ? 'warn' : 'ok');
  } catch (err) {
    tray.unshift(...items);
    say('send-note', `Could not send to ${target.label}: ${err.message}`);
  } finally {
    busy = false;
    renderTray();
  }
}
