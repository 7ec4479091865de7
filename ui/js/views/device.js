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
    fact('Port', st.httpsPort ? `${st.port}, and ${st.httpsPort} for HTTPS` : String(st.port)),
    fact('Downloads', st.downloads),
    fact('Accepts', ACCEPT[st.accept] || st.accept),
    fact('Version', st.version),
    fact('Running', st.runningAs === 'service' ? 'as a service: it starts by itself' : 'in a terminal (ferry run): it stops when that does'),
  );
  const link = phoneLink(st);
  showLink('phone', link, '');
  if (!link) {
    document.getElementById('phone-link').textContent = 'This computer has no network address another device can reach. Connect it to Wi-Fi or a network cable.';
  }
  fill('phone-device', link ? ['The page there shows Device ID ', h('code', { text: st.shortId }), ', the same as this device.'] : []);
  const secure = link && st.phoneHttps;
  document.getElementById('phone-https').hidden = !secure;
  // Two addresses with their QR codes side by side need the whole width.
  document.getElementById('phone-card').classList.toggle('wide', !!secure);
  if (secure) {
    showLink('phone-https', st.phoneHttps, '&https');
    document.getElementById('phone-fingerprint').textContent = st.fingerprint;
  }
}

/**
 * showLink shows a phone's address as a link with a copy button and its QR
 * code, in the elements named prefix-link, prefix-copy and prefix-qr; query
 * picks the QR code's address (see daemon/web's phoneQR).
 */
function showLink(prefix, link, query) {
  const a = document.getElementById(`${prefix}-link`);
  const qr = document.getElementById(`${prefix}-qr`);
  if (!link) {
    a.removeAttribute('href');
    a.textContent = '';
    fill(`${prefix}-copy`);
    qr.hidden = true;
    return;
  }
  a.href = link;
  a.textContent = link;
  fill(`${prefix}-copy`, copyButton(link));
  if (qr.dataset.for !== link) {
    qr.dataset.for = link;
    qr.src = `/api/phone-qr.svg?for=${encodeURIComponent(link)}${query}`;
  }
  qr.hidden = false;
}
