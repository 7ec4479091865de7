// The guest page's code room: its code, its link and QR code, and its
// secret. The secret lives in the link's fragment, which no server sees,
// and in this browser's storage under the room's code; the QR code is
// drawn here, so the secret in it never leaves the page either.

import { h, fill, copyButton } from '../dom.js';
import { encode } from '../qr.js';
import { trust, newSecret, secretFromHash } from '../roomkey.js';

const KEY = 'ferry.room.';

function kept(room) {
  try {
    return localStorage.getItem(KEY + room) || '';
  } catch {
    return '';
  }
}

function keep(room, secret) {
  try {
    localStorage.setItem(KEY + room, secret);
  } catch {
    // kept for this page only, in trust
  }
}

/**
 * takeFromLink keeps the secret in the fragment of the link the page was
 * opened with, for the room the link names.
 */
export function takeFromLink(room, hash) {
  const s = secretFromHash(hash);
  if (room && s) keep(room, s);
}

/**
 * enter makes room the page's room: the secret the page holds for it, or a
 * new one when the page created the room.
 */
export function enter(room, created) {
  let secret = kept(room);
  if (!secret && created) {
    secret = newSecret();
    keep(room, secret);
  }
  trust.room = room;
  trust.secret = secret;
  if (location.pathname !== `/r/${room}` || location.hash !== hash()) history.replaceState(null, '', `/r/${room}${hash()}`);
}

/** leave goes back to the nearby room. */
export function leave() {
  trust.room = '';
  trust.secret = '';
  if (location.pathname !== '/' || location.hash) history.replaceState(null, '', '/');
}

function hash() {
  return trust.secret ? `#s=${trust.secret}` : '';
}

/** link is the room's link to share: with its secret, if the page has it. */
export function link() {
  return `${location.origin}/r/${trust.room}${hash()}`;
}

/** render draws the room card. */
export function render() {
  document.getElementById('room-leave').hidden = !trust.room;
  document.getElementById('room-create').hidden = !!trust.room;
  if (!trust.room) {
    fill('room', h('p', { class: 'hint', text: 'You are in the nearby room with everyone. A code room gathers only the people you give its code.' }));
    return;
  }
  const url = link();
  fill('room',
    h('p', {}, h('span', { class: 'code', text: trust.room })),
    qrImage(url, `QR code to join room ${trust.room}`),
    h('p', { class: 'share' }, h('a', { href: url, class: 'room-link', text: url }), ' ', copyButton(url)),
    h('p', { class: 'hint secret-note', text: trust.secret
      ? 'The link and QR code carry the room\'s secret, which this page uses to check that nobody in between swapped a browser\'s connection for their own. Someone who types only the code can reach computers in the room, not browsers.'
      : 'You joined with the code alone, so connections with other browsers here cannot be checked: the browsers that opened the room\'s link will refuse yours. Open the link or scan the QR code instead.' }));
}

const SVG = 'http://www.w3.org/2000/svg';

/**
 * qrImage draws text as a QR code: an SVG element of one path, which the
 * page's Content-Security-Policy allows where it refuses data: URLs.
 */
export function qrImage(text, label, level = 'M') {
  const { size, modules } = encode(text, { level });
  const border = 4;
  let d = '';
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      if (!modules[y * size + x]) continue;
      let run = 1;
      while (x + run < size && modules[y * size + x + run]) run++;
      d += `M${x + border} ${y + border}h${run}v1h-${run}z`;
      x += run - 1;
    }
  }
  const n = size + 2 * border;
  const svg = document.createElementNS(SVG, 'svg');
  for (const [k, v] of Object.entries({ viewBox: `0 0 ${n} ${n}`, class: 'qr big', role: 'img', 'aria-label': label, 'shape-rendering': 'crispEdges' })) svg.setAttribute(k, v);
  const bg = document.createElementNS(SVG, 'rect');
  for (const [k, v] of Object.entries({ width: n, height: n, fill: '#fff' })) bg.setAttribute(k, String(v));
  const path = document.createElementNS(SVG, 'path');
  path.setAttribute('d', d);
  path.setAttribute('fill', '#000');
  svg.append(bg, path);
  return svg;
}
