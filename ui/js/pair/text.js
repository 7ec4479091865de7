// Pairing texts (docs/protocol.md, "Pairing without a hub"): one side's
// ICE credentials, candidates and DTLS fingerprint, gathering complete, as
// "FERRY-PAIR-1:" and the base64url of a JSON object, to show as a QR code
// or to copy. The checks, their order and their words are the daemon's
// (daemon/pair/text.go); docs/testdata/pair.json holds both to them.

export const PREFIX = 'FERRY-PAIR-1:';
export const MAX_TEXT = 4096;
export const MAX_CANDIDATES = 16;
const MAX_CANDIDATE = 256;
const MAX_NAME = 64;
const MAX_MMS = 2 ** 31 - 1;
const FIELDS = ['r', 'id', 'name', 'kind', 'ufrag', 'pwd', 'fp', 'setup', 'mms', 'c'];
const STRINGS = ['r', 'id', 'name', 'kind', 'ufrag', 'pwd', 'fp', 'setup'];
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export class PairTextError extends Error {}

function bad(text) {
  return new PairTextError(`not a pairing text: ${text}`);
}

/** encode returns the pairing text of info, which must be valid. */
export function encode(info) {
  validate(info);
  const json = JSON.stringify(Object.fromEntries(FIELDS.map((k) => [k, info[k]])));
  const text = PREFIX + toBase64URL(new TextEncoder().encode(json));
  if (text.length > MAX_TEXT) throw bad(`the text would be ${text.length} bytes (the limit is ${MAX_TEXT}); fewer candidates would fit`);
  return text;
}

/** decode parses and checks a pairing text; it throws PairTextError. */
export function decode(text) {
  text = String(text).trim();
  const size = new TextEncoder().encode(text).length;
  if (size > MAX_TEXT) throw bad(`the text is ${size} bytes (the limit is ${MAX_TEXT})`);
  if (!text.startsWith(PREFIX)) throw bad(`it does not start with ${PREFIX}`);
  const bytes = fromBase64URL(text.slice(PREFIX.length));
  if (!bytes) throw bad(`what follows ${PREFIX} is not base64url without padding`);
  let json;
  try {
    json = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw bad('the JSON is not valid UTF-8');
  }
  let o;
  try {
    o = JSON.parse(json);
  } catch (err) {
    throw bad(`malformed JSON: ${err.message}`);
  }
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw bad('malformed JSON: not an object');
  for (const k of Object.keys(o)) if (!FIELDS.includes(k)) throw bad(`malformed JSON: unknown field ${JSON.stringify(k)}`);
  for (const k of STRINGS) if (o[k] !== undefined && o[k] !== null && typeof o[k] !== 'string') throw bad(`malformed JSON: field ${k} is not a string`);
  if (o.mms !== undefined && o.mms !== null && !Number.isInteger(o.mms)) throw bad('malformed JSON: mms is not an integer');
  if (o.c !== undefined && o.c !== null && !(Array.isArray(o.c) && o.c.every((c) => typeof c === 'string'))) throw bad('malformed JSON: c is not a list of strings');
  for (const k of FIELDS) if (o[k] === undefined || o[k] === null) throw bad(`field ${k} is missing`);
  validate(o);
  return o;
}

/** validate checks every field as the daemon does; the error names the field. */
export function validate(i) {
  if (i.r === 'offer') {
    if (i.setup !== 'actpass') throw bad(`setup of an offer must be "actpass", not ${JSON.stringify(i.setup)}`);
  } else if (i.r === 'answer') {
    if (i.setup !== 'active' && i.setup !== 'passive') throw bad(`setup of an answer must be "active" or "passive", not ${JSON.stringify(i.setup)}`);
  } else {
    throw bad(`r must be "offer" or "answer", not ${JSON.stringify(i.r)}`);
  }
  if (i.kind === 'guest') {
    if (!/^[A-Za-z0-9_-]{8,64}$/.test(i.id)) throw bad(`id ${JSON.stringify(i.id)} is not a guest ID: 8 to 64 letters, digits, '-' or '_'`);
  } else if (i.kind === 'daemon') {
    if (!/^[A-Z2-7]{52}$/.test(String(i.id).toUpperCase())) throw bad(`id ${JSON.stringify(i.id)} is not a device ID: 52 base32 characters`);
    const fid = fingerprintID(i.fp);
    if (fid && fid !== String(i.id).toUpperCase()) throw bad('id is not the device ID of fingerprint fp');
  } else {
    throw bad(`kind must be "daemon" or "guest", not ${JSON.stringify(i.kind)}`);
  }
  const name = new TextEncoder().encode(i.name).length;
  if (name > MAX_NAME) throw bad(`name is ${name} bytes (the limit is ${MAX_NAME})`);
  if (!/^[A-Za-z0-9+/]{4,256}$/.test(i.ufrag)) throw bad("ufrag must be 4 to 256 letters, digits, '+' or '/'");
  if (!/^[A-Za-z0-9+/]{22,256}$/.test(i.pwd)) throw bad("pwd must be 22 to 256 letters, digits, '+' or '/'");
  if (!Number.isInteger(i.mms) || i.mms < 0 || i.mms > MAX_MMS) throw bad(`mms must be an integer from 0 to ${MAX_MMS}`);
  if (i.c.length > MAX_CANDIDATES) throw bad(`c lists ${i.c.length} candidates (the limit is ${MAX_CANDIDATES})`);
  if (!fingerprintID(i.fp)) throw bad('fp must be "sha-256 " and 32 colon-separated hex pairs');
  i.c.forEach((c, n) => {
    const why = checkCandidate(c);
    if (why) throw bad(`candidate ${n + 1}: ${why}`);
  });
}

/** fingerprintID returns the device ID a "sha-256 XX:…" fingerprint names, or ''. */
export function fingerprintID(fp) {
  const m = /^sha-256 ((?:[0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2})$/.exec(String(fp));
  if (!m) return '';
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const x of m[1].split(':')) {
    acc = ((acc << 8) | parseInt(x, 16)) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += BASE32[(acc >> bits) & 31];
    }
  }
  return bits ? out + BASE32[(acc << (5 - bits)) & 31] : out;
}

function checkCandidate(c) {
  if (c.length > MAX_CANDIDATE) return `it is ${c.length} bytes (the limit is ${MAX_CANDIDATE})`;
  if (!/^[\x20-\x7e]*$/.test(c)) return 'it holds a character that is not printable ASCII';
  if (!c.startsWith('candidate:')) return 'it does not start with "candidate:"';
  const f = c.split(' ');
  if (f.length < 8 || f[6] !== 'typ' || f.includes('')) return 'it is not "candidate:FOUNDATION COMPONENT TRANSPORT PRIORITY ADDRESS PORT typ TYPE ..."';
  if (f[2].toLowerCase() !== 'udp') return `transport ${JSON.stringify(f[2])} is not UDP`;
  if (!/^\d{1,5}$/.test(f[5]) || Number(f[5]) > 65535) return `port ${JSON.stringify(f[5])} is not a number from 0 to 65535`;
  return '';
}

/** sdp is the session description the other side builds from info. */
export function sdp(i) {
  const lines = [
    'v=0', 'o=- 1 2 IN IP4 0.0.0.0', 's=-', 't=0 0', 'a=group:BUNDLE 0',
    'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'c=IN IP4 0.0.0.0',
    `a=ice-ufrag:${i.ufrag}`, `a=ice-pwd:${i.pwd}`, `a=fingerprint:${i.fp}`, `a=setup:${i.setup}`,
    'a=mid:0', 'a=sctp-port:5000', `a=max-message-size:${i.mms}`,
    ...i.c.map((c) => `a=${c}`), 'a=end-of-candidates',
  ];
  return lines.map((l) => `${l}\r\n`).join('');
}

/**
 * fromDescription reads the ICE, DTLS and SCTP fields of a local session
 * description with gathering complete: its first UDP candidates, up to
 * MAX_CANDIDATES.
 */
export function fromDescription(desc) {
  const lines = String(desc).split(/\r?\n/);
  const attr = (k) => (lines.find((l) => l.startsWith(`a=${k}:`)) || '').slice(k.length + 3);
  const mid = attr('mid');
  if (mid !== '0') throw new Error(`the local description's mid is ${JSON.stringify(mid)}, not "0"`);
  const c = lines.filter((l) => l.startsWith('a=candidate:')).map((l) => l.slice(2)).filter((l) => !checkCandidate(l)).slice(0, MAX_CANDIDATES);
  return { ufrag: attr('ice-ufrag'), pwd: attr('ice-pwd'), fp: attr('fingerprint'), setup: attr('setup'), mms: Number(attr('max-message-size') || 65536), c };
}

function toBase64URL(bytes) {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const chars = Math.ceil(((Math.min(3, bytes.length - i)) * 8) / 6);
    for (let k = 0; k < chars; k++) out += B64[(n >> (18 - 6 * k)) & 63];
  }
  return out;
}

/** fromBase64URL decodes strictly: the alphabet only, no padding, unused bits zero. */
function fromBase64URL(s) {
  if (s.length % 4 === 1) return null;
  const out = new Uint8Array(Math.floor((s.length * 6) / 8));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (const ch of s) {
    const v = B64.indexOf(ch);
    if (v < 0) return null;
    acc = ((acc << 6) | v) & 0xfff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 255;
    }
  }
  if (bits && acc & ((1 << bits) - 1)) return null;
  return out;
}
