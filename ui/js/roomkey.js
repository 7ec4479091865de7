// A code room's secret: it travels only in the fragment of the room's link
// (after '#', which a browser never sends to a server) and in its QR code.
// Browsers in the room that hold it sign the DTLS fingerprints in their
// offers and answers with it, so a computer that relays their signaling
// cannot swap a fingerprint for its own and sit in the middle of their
// connection: the changed fingerprint no longer matches its signature.
// docs/protocol.md, "Room secrets", says what is signed.

import { Sha256 } from './sha256.js';
import { randomID } from './hub.js';

const SECRET_LEN = 26; // base32 characters: 130 bits

/** newSecret returns a fresh room secret. */
export function newSecret() {
  return randomID(SECRET_LEN);
}

/** validSecret says whether s has the form of a room secret. */
export function validSecret(s) {
  return typeof s === 'string' && /^[a-z2-7]{26}$/.test(s);
}

/** secretFromHash reads the secret from a link's fragment, "#s=SECRET". */
export function secretFromHash(hash) {
  const s = new URLSearchParams(String(hash).replace(/^#/, '')).get('s');
  return validSecret(s) ? s : '';
}

const encoder = new TextEncoder();

/** hmacSha256 returns HMAC-SHA-256 (RFC 2104) of msg under key, both bytes. */
export function hmacSha256(key, msg) {
  let k = key.length > 64 ? new Sha256().update(key).digest() : key;
  const block = new Uint8Array(64);
  block.set(k);
  const inner = new Sha256().update(block.map((b) => b ^ 0x36)).update(msg).digest();
  return new Sha256().update(block.map((b) => b ^ 0x5c)).update(inner).digest();
}

/**
 * fingerprints returns the SDP's DTLS fingerprints, the values of its
 * a=fingerprint lines in lower case, joined by commas in the order given.
 */
export function fingerprints(sdp) {
  return String(sdp)
    .split(/\r?\n/)
    .filter((l) => l.startsWith('a=fingerprint:'))
    .map((l) => l.slice('a=fingerprint:'.length).trim().toLowerCase())
    .join(',');
}

/**
 * sign returns the hex HMAC of an offer's or answer's fingerprints under
 * the room's secret, bound to the room, the connection and its session.
 */
export function sign(secret, { room, conn, session, type, sdp }) {
  const text = ['ferry room fingerprint', room, conn, String(session), type, fingerprints(sdp)].join('\n');
  let hex = '';
  for (const b of hmacSha256(encoder.encode(secret), encoder.encode(text))) hex += (b < 16 ? '0' : '') + b.toString(16);
  return hex;
}

/**
 * check says why the signed message m (an offer or answer) is not to be
 * trusted, or '' when its signature is right.
 */
export function check(secret, room, m) {
  if (!m.sig) return 'unsigned';
  const want = sign(secret, { room, conn: m.conn, session: m.session, type: m.type, sdp: m.sdp });
  let diff = want.length ^ String(m.sig).length;
  for (let i = 0; i < want.length; i++) diff |= want.charCodeAt(i) ^ String(m.sig).charCodeAt(i);
  return diff === 0 ? '' : 'mismatch';
}

/** Why a connection was refused, in words for the page. */
export const refusals = {
  unsigned: 'the other browser did not open this room with its link or QR code, so its connection cannot be checked against the room\'s secret. Share the room\'s link or QR code instead of its code.',
  mismatch: 'its fingerprint does not match the room\'s secret: something that relays the signaling changed it on the way. Nothing was sent.',
  'not-device': 'its certificate is not the one of the computer it claims to be: something that relays the signaling changed it on the way. Nothing was sent.',
  'not-paired': 'its certificate is not the one in the pairing code you exchanged. Nothing was sent.',
  'other-certificate': 'it reconnected with another certificate than the one it started with: something that relays the signaling changed it on the way.',
};

/** What the refused browser is told, in words for its page. */
export const theirWords = {
  unsigned: 'The other browser refused the connection: it opened this room with its link, which holds a secret your page does not have. Open the room with its link or QR code, not its code.',
  mismatch: 'The other browser refused the connection: the fingerprint it received does not match the room\'s secret, so something that relays the signaling changed it on the way.',
  'not-device': 'The browser refused the connection: the certificate it received is not this computer\'s, so something that relays the signaling changed it on the way.',
  'not-paired': 'The other browser refused the connection: the certificate it received is not the one in your pairing code.',
  'other-certificate': 'The other side refused to reconnect: the certificate it received is not the one the connection started with.',
};

/**
 * trust is what this page knows of its code room: the room, its secret
 * (empty when the page joined by the code alone), and whether presence
 * lists a peer as a computer. The secret covers everyone else, browsers;
 * a computer is checked by its device ID instead, and a browser paired by
 * hand by the fingerprint in its pairing text.
 */
export const trust = { room: '', secret: '', isDaemon: (/* id */) => false, pairedFingerprint: (/* id */) => '' };

/** covers says whether a connection with peer is signed and checked. */
export function covers(peer) {
  return !!(trust.room && trust.secret && !trust.isDaemon(peer) && !trust.pairedFingerprint(peer));
}

/**
 * checkedBy names what vouches for a connection with peer once its offer
 * or answer passed checkPeer: 'pairing', 'room', 'device' or ''.
 */
export function checkedBy(peer) {
  if (trust.pairedFingerprint(peer)) return 'pairing';
  if (covers(peer)) return 'room';
  return trust.isDaemon(peer) ? 'device' : '';
}

/**
 * checkPeer says why the offer or answer m from peer is refused, or ''.
 * A computer's DTLS fingerprint must be its device ID; a browser's must be
 * signed with the room's secret where the page holds one.
 */
export function checkPeer(peer, m) {
  const paired = trust.pairedFingerprint(peer);
  if (paired) return fingerprints(m.sdp) === paired.toLowerCase() ? '' : 'not-paired';
  if (trust.isDaemon(peer)) return deviceID(m.sdp) === peer ? '' : 'not-device';
  return covers(peer) ? check(trust.secret, trust.room, m) : '';
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/**
 * deviceID returns the device ID that the SDP's SHA-256 fingerprint
 * makes (its 32 bytes in base32 without padding), or '' without exactly one.
 */
export function deviceID(sdp) {
  const fps = fingerprints(sdp).split(',');
  const m = fps.length === 1 && /^sha-256 ((?:[0-9a-f]{2}:){31}[0-9a-f]{2})$/.exec(fps[0]);
  if (!m) return '';
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const x of m[1].split(':')) {
    acc = (acc << 8) | parseInt(x, 16);
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += BASE32[(acc >> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  return bits > 0 ? out + BASE32[(acc << (5 - bits)) & 31] : out;
}
