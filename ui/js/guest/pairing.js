// The guest page's "Pair by code" card: connect to a browser or a
// computer that cannot reach this page's computer, by passing an offer and
// an answer by hand, as a QR code or as text.

import { h, fill, say, copyButton } from '../dom.js';
import { Pairing } from '../pair/link.js';
import { decode } from '../pair/text.js';
import { trust } from '../roomkey.js';
import { qrImage } from './room.js';

/**
 * wirePairing makes the card work. me is the page's guest ({id, name});
 * hub is the page's Hub, to which each pairing is attached.
 */
export function wirePairing(hub, me, changed) {
  let current = null; // the pairing this card shows
  const pairings = [];
  trust.pairedFingerprint = (id) => {
    for (const p of pairings) if (p.state === 'open' && p.peer?.kind === 'guest' && p.peer.id === id) return p.peer.fp;
    return '';
  };

  const start = () => {
    const p = new Pairing({ id: me.id, name: me.name });
    p.addEventListener('state', () => {
      show(p);
      changed();
    });
    hub.attach(p);
    pairings.push(p);
    current = p;
    return p;
  };

  const show = (p, text) => {
    if (p !== current) return;
    if (text) p.text = text;
    const who = p.peer ? `${p.peer.name || p.peer.id} (${p.peer.kind === 'daemon' ? 'computer' : 'browser'})` : '';
    const words = {
      waiting: 'Show this code to the other side: scan it or copy it there, then paste the answer it shows below.',
      connecting: p.peer && p.text && p.peer.r === 'offer'
        ? 'Show this answer to the side that made the offer. You are connected once it is pasted there.'
        : `Connecting to ${who}…`,
      open: `Paired with ${who}. It is listed with the people above; send it files as to anyone.`,
      closed: p.error ? `The pairing ended: ${p.error}` : 'The pairing ended.',
    }[p.state] || '';
    const showCode = p.text && (p.state === 'waiting' || (p.state === 'connecting' && p.peer?.r === 'offer'));
    fill('pair',
      h('p', { class: `hint pair-state ${p.state}`, text: words }),
      showCode ? qrImage(p.text, 'Pairing code as a QR code', 'L') : null,
      showCode ? h('textarea', { class: 'pair-code', readonly: true, rows: '3', 'aria-label': 'Pairing code', text: p.text }) : null,
      showCode ? h('p', {}, copyButton(p.text, 'Copy the code')) : null);
    document.getElementById('pair-text-label').textContent = p.state === 'waiting'
      ? 'Paste the answer the other side shows'
      : 'Paste the other side\'s pairing code';
  };

  document.getElementById('pair-offer').addEventListener('click', async () => {
    say('pair-note', '');
    if (current?.state === 'waiting') current.close();
    const p = start();
    try {
      show(p, await p.offer());
    } catch (err) {
      p.close(err.message);
      say('pair-note', `Could not make a pairing code: ${err.message}`);
    }
  });

  document.getElementById('pair-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const field = e.target.elements.text;
    const text = field.value.trim();
    if (!text) return;
    say('pair-note', '');
    let info;
    try {
      info = decode(text);
    } catch (err) {
      return say('pair-note', `That is ${err.message}. Copy the whole code, from FERRY-PAIR-1: to its end.`);
    }
    try {
      if (info.r === 'answer') {
        if (!current || current.state !== 'waiting') return say('pair-note', 'That is an answer, but this page made no pairing code it could answer: press “Show a pairing code” first.');
        await current.accept(text);
      } else {
        if (info.id === me.id) return say('pair-note', 'That is this page\'s own pairing code: it goes to the other side.');
        if (current && current.state === 'waiting') current.close();
        const p = start();
        show(p, await p.answer(text));
      }
      field.value = '';
    } catch (err) {
      say('pair-note', err.message);
    }
  });
}
