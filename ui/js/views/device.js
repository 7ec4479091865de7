// This device and the address a phone opens.
import { h, fill, copyButton } from '../dom.js';

/** phoneLink is the address a phone on the same network opens (the daemon picks it). */
export function phoneLink(status) {
  return status?.phone || '';
}

const ACCEPT = {
  none: 'every offer waits for you',
  trusted: 'devices you trust, without asking',
  all: 'everything, without asking',
};

export function renderDevice(state) {
  const st = state.status;
  if (!st) return;
  document.getElementById('device-name').textContent = st.name;
  document.title = `ferry · ${st.name}`;
  const fact = (k, ...v) => [h('dt', { text: k }), h('dd', {}, ...v)];
  fill(
    'device',
    fact('Name', st.name),
    fact('Device ID', h('code', { title: st.id, text: st.shortId }), ' ', copyButton(st.id, 'Copy ID')),
    fact('Addresses', st.addresses.length ? st.addresses.join(', ') : 'none but this computer'),
    fact('Port', String(st.port)),
    fact('Downloads', st.downloads),
    fact('Accepts', ACCEPT[st.accept] || st.accept),
    fact('Version', st.version),
    fact('Running', st.runningAs === 'service' ? 'as a service: it starts by itself' : 'in a terminal (ferry run): it stops when that does'),
  );
  const link = phoneLink(st);
  const a = document.getElementById('phone-link');
  const qr = document.getElementById('phone-qr');
  if (link) {
    a.href = link;
    a.textContent = link;
    fill('phone-copy', copyButton(link));
    if (qr.dataset.for !== link) {
      qr.dataset.for = link;
      qr.src = `/api/phone-qr.svg?for=${encodeURIComponent(link)}`;
    }
    qr.hidden = false;
  } else {
    a.removeAttribute('href');
    a.textContent = 'This computer has no network address another device can reach. Connect it to Wi-Fi or a network cable.';
    fill('phone-copy');
    qr.hidden = true;
  }
}
