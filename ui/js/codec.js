// The messages of the file protocol (docs/protocol.md, section 2): control
// messages on ferry-control and chunk headers on ferry-data.
//
// This module mirrors daemon/transfer/wire.go: the same limits, the same
// checks in the same order and the same error codes, so a browser refuses
// what a daemon refuses. docs/testdata/control.json and chunks.json hold the
// cases both test suites run; where the browser differs on purpose, the case
// says so ("js").
//
// decodeControl parses the JSON itself instead of calling JSON.parse:
// agreeing with Go's encoding/json needs what JSON.parse hides. Go refuses a
// number written 1.0 or 1e2 in an integer field, nests at most 10,000 deep,
// matches field names without regard to case ("Type", even "ſize"), and
// decodes a repeated field over the earlier one.

export const ControlLabel = 'ferry-control';
export const DataLabel = 'ferry-data';

// Control message types.
export const Msg = Object.freeze({
  Offer: 'offer', Entries: 'entries', Accept: 'accept', Decline: 'decline', Progress: 'progress',
  FileEnd: 'file-end', FileOK: 'file-ok', Done: 'done', Cancel: 'cancel', Error: 'error',
  Fetch: 'fetch', Link: 'link',
});

// Error codes: one set for signaling and the file protocol (docs/protocol.md,
// "Error codes"; daemon/proto in Go).
export const Code = Object.freeze({
  Version: 'version', Identity: 'identity', NoPeer: 'no-peer', NoRoom: 'no-room', RoomFull: 'room-full',
  TooMany: 'too-many', BadMessage: 'bad-message', UnknownType: 'unknown-type', TooLarge: 'too-large',
  BadName: 'bad-name', TooManyFiles: 'too-many-files', UnknownFile: 'unknown-file', BadOffset: 'bad-offset',
  TooManyBytes: 'too-many-bytes', HashMismatch: 'hash-mismatch', NoSpace: 'no-space', Storage: 'storage',
  Busy: 'busy', Declined: 'declined', Expired: 'expired', Cancelled: 'cancelled',
  IdentityChanged: 'identity-changed',
});

// Limits of the file protocol. Sizes are in bytes: UTF-8 bytes for text.
export const MaxControlBytes = 64 << 10; // one control message
export const MaxEntries = 100_000; // items in one offer
export const MaxEntriesPerPage = 256; // items in one offer or entries message
export const ChunkHeaderBytes = 12;
export const MaxChunkBytes = 64 << 10; // whole chunk message, header included

// The fields of a control message and of an entry, in the order of Go's
// Control and Entry (the order encodeControl writes them), with their kinds:
// s string, i integer, b boolean, e entries.
const CONTROL = new Map([['type', 's'], ['transfer', 's'], ['name', 's'], ['count', 'i'], ['bytes', 'i'],
  ['entries', 'e'], ['file', 'i'], ['offset', 'i'], ['sha256', 's'], ['path', 's'], ['received', 'i'],
  ['code', 's'], ['text', 's'], ['checkHeld', 'b']]);
const ENTRY = new Map([['path', 's'], ['size', 'i'], ['mtime', 'i'], ['dir', 'b']]);

// The fields each type carries (docs/protocol.md's table). A decoded message
// has them all, zero when absent, as Go's Control would; other fields appear
// only when set.
const TYPE_FIELDS = new Map([
  [Msg.Offer, ['transfer', 'name', 'count', 'bytes', 'entries']], [Msg.Entries, ['entries']],
  [Msg.Accept, ['file', 'offset']], [Msg.Decline, ['code', 'text']], [Msg.Progress, ['received']],
  [Msg.FileEnd, ['file', 'sha256']], [Msg.FileOK, ['file', 'path']], [Msg.Done, []],
  [Msg.Cancel, ['code', 'text']], [Msg.Error, ['code', 'text']],
  [Msg.Fetch, []], [Msg.Link, ['file', 'path']],
]);

const zeroControl = () => ({ type: '', transfer: '', name: '', count: 0, bytes: 0, entries: [], entriesLen: 0,
  file: 0, offset: 0, sha256: '', path: '', received: 0, code: '', text: '', checkHeld: false });
const zeroEntry = () => ({ path: '', size: 0, mtime: 0, dir: false });

const TRANSFER_ID = /^[a-z0-9]{8,32}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const LONE_SURROGATE = /[\ud800-\udfff]/gu; // with the u flag, a pair is one code point and does not match

// utf8Length returns the length of s in UTF-8, the unit of every limit. A
// lone surrogate counts as U+FFFD, which is what it becomes on the wire.
export function utf8Length(s) {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c < 0xdc00 && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 2; // a surrogate pair: 4 bytes for 2 units
      i++;
    } else n += 2;
  }
  return n;
}

const wellFormed = (s) => s.replace(LONE_SURROGATE, '\ufffd');
const fail = (code, text) => ({ ok: false, code, text });

// decodeControl parses and validates one control message, as Go's
// DecodeControl: {ok: true, msg} or {ok: false, code, text}. It checks the
// shape of each type; whether the message fits the transfer's state is the
// engine's business.
export function decodeControl(text) {
  if (typeof text !== 'string') return fail(Code.BadMessage, 'control message is not text');
  // A UTF-16 unit is at least one UTF-8 byte, so a long string needs no count.
  if (text.length > MaxControlBytes || utf8Length(text) > MaxControlBytes) {
    return fail(Code.TooLarge, `control message is over ${MaxControlBytes} bytes`);
  }
  let c;
  try {
    c = new Parser(wellFormed(text)).message();
  } catch (err) {
    if (err instanceof Malformed) return fail(Code.BadMessage, `malformed control message: ${err.message}`);
    throw err;
  }
  return validate(c) ?? { ok: true, msg: present(c) };
}

// validate runs the checks of Go's Control.validate, in its order.
function validate(c) {
  const entries = c.entries.slice(0, c.entriesLen);
  if (utf8Length(c.name) > 256 || utf8Length(c.text) > 1024 || utf8Length(c.code) > 64 || utf8Length(c.path) > 4096) {
    return fail(Code.BadMessage, `${c.type}: a text field is too long`);
  }
  if (c.file < 0 || c.offset < 0 || c.received < 0 || c.bytes < 0 || c.count < 0) {
    return fail(Code.BadMessage, `${c.type}: negative number`);
  }
  if (entries.length > MaxEntriesPerPage) {
    return fail(Code.TooLarge, `${c.type} carries ${entries.length} entries (the limit is ${MaxEntriesPerPage} a message)`);
  }
  for (const e of entries) {
    if (e.size < 0 || (e.dir && e.size !== 0)) return fail(Code.BadMessage, `entry ${JSON.stringify(e.path)} has a bad size`);
  }
  switch (c.type) {
    case Msg.Offer:
      if (!TRANSFER_ID.test(c.transfer)) {
        return fail(Code.BadMessage, `offer: transfer ID ${JSON.stringify(c.transfer)} is not 8 to 32 lowercase letters and digits`);
      }
      if (c.count === 0 || entries.length === 0) return fail(Code.BadMessage, 'offer: it offers nothing');
      if (c.count > MaxEntries) return fail(Code.TooManyFiles, `offer has ${c.count} items (the limit is ${MaxEntries})`);
      if (entries.length > c.count) return fail(Code.BadMessage, 'offer: more entries than its count');
      return null;
    case Msg.Entries:
      return entries.length === 0 ? fail(Code.BadMessage, 'entries: no entries') : null;
    case Msg.Link:
      return c.path === '' ? fail(Code.BadMessage, 'link: it needs a path') : null;
    case Msg.FileEnd:
      return SHA256_HEX.test(c.sha256) ? null : fail(Code.BadMessage, 'file-end: sha256 must be 64 lowercase hex digits');
    case Msg.Decline: case Msg.Error: case Msg.Cancel:
      return c.code === '' ? fail(Code.BadMessage, `${c.type} needs a code`) : null;
    case Msg.Accept: case Msg.Progress: case Msg.FileOK: case Msg.Done: case Msg.Fetch:
      return null;
    case '':
      return fail(Code.BadMessage, 'control message has no type');
    default:
      return fail(Code.UnknownType, `unknown control message type ${JSON.stringify(c.type)}`);
  }
}

// present turns a decoded Control into the message decodeControl returns.
function present(c) {
  const keep = TYPE_FIELDS.get(c.type);
  const msg = { type: c.type };
  for (const name of CONTROL.keys()) {
    if (name === 'type') continue;
    const v = name === 'entries' ? c.entries.slice(0, c.entriesLen).map((e) => ({ ...e })) : c[name];
    if (keep.includes(name) || !isZero(v)) msg[name] = v;
  }
  return msg;
}

const isZero = (v) => v === undefined || v === null || v === '' || v === 0 || v === false || (Array.isArray(v) && !v.length);

class Malformed extends Error {}

const WS = /[ \t\n\r]*/y;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const WHOLE = /^-?(?:0|[1-9]\d*)$/;
const PLAIN = /[^"\\\u0000-\u001f]*/y; // string characters that need no work
const HEX4 = /[0-9a-fA-F]{4}/y;
const ESCAPES = new Map([['"', '"'], ['\\', '\\'], ['/', '/'], ['b', '\b'], ['f', '\f'], ['n', '\n'], ['r', '\r'], ['t', '\t']]);
const LITERALS = new Map([['t', 'true'], ['f', 'false'], ['n', 'null']]);
const MAX_DEPTH = 10000; // encoding/json's maxNestingDepth: objects and arrays open at once

// fold maps a JSON key to the field it names, the way encoding/json matches
// keys: without regard to case, by Unicode simple folding. Besides ASCII
// letters, only U+017F ſ (to s) and U+212A Kelvin sign (to k) fold to ASCII.
const foldedFields = new WeakMap();
// folded gives a field table keyed by each name's folded form, for lookups.
const folded = (fields) => {
  let m = foldedFields.get(fields);
  if (!m) foldedFields.set(fields, (m = new Map([...fields].map(([name, kind]) => [fold(name), [name, kind]]))));
  return m;
};
const fold = (key) => key.replace(/[A-Z\u017f\u212a]/g, (ch) => (ch === '\u017f' ? 's' : ch === '\u212a' ? 'k' : ch.toLowerCase()));

// Parser reads one JSON text into a Control the way Go's json.Decoder does
// (RFC 8259 plus Go's decoding rules), throwing Malformed at the first error.
class Parser {
  constructor(s) { this.s = s; this.i = 0; }
  fail(why) { throw new Malformed(why); }
  peek() { WS.lastIndex = this.i; WS.test(this.s); this.i = WS.lastIndex; return this.s[this.i]; } // after space
  next() { const ch = this.peek(); this.i++; return ch; }
  word(w) { if (!this.s.startsWith(w, this.i)) this.fail(`invalid literal at ${this.i}`); this.i += w.length; }

  key() {
    if (this.peek() !== '"') this.fail(`expected a field name at ${this.i}`);
    const k = this.string();
    if (this.next() !== ':') this.fail(`expected ':' at ${this.i - 1}`);
    return k;
  }
  // open steps over an opening bracket and reports whether the object or
  // array has elements; if not, it steps over the closing bracket too.
  open(close) {
    this.i++;
    if (this.peek() !== close) return true;
    this.i++;
    return false;
  }
  // more steps over what follows an element of an object or array and
  // reports whether it was a comma rather than the closing bracket.
  more(close) {
    const ch = this.next();
    if (ch !== ',' && ch !== close) this.fail(`unexpected ${ch === undefined ? 'end of input' : `'${ch}'`} at ${this.i - 1}`);
    return ch === ',';
  }

  // message reads the whole text: one object and nothing after it but space.
  message() {
    const c = zeroControl();
    const ch = this.peek();
    if (ch === '{') this.object(c, CONTROL, 1);
    else if (ch === 'n') this.word('null'); // Go leaves the Control empty: it has no type
    else this.fail(ch === undefined ? 'unexpected end of input' : 'a control message is a JSON object');
    if (this.peek() !== undefined) this.fail('data after the message');
    return c;
  }

  // object reads an object into target, whose fields are byName; depth
  // counts the objects and arrays open, this one included.
  object(target, byName, depth) {
    if (!this.open('}')) return;
    const byFold = folded(byName);
    do {
      const known = byFold.get(fold(this.key()));
      if (known === undefined) this.skip(depth);
      else this.field(target, known[0], known[1], depth);
    } while (this.more('}'));
  }

  // field reads a known field's value. Like Go, null leaves the field as it is.
  field(target, name, kind, depth) {
    const ch = this.peek();
    if (ch === 'n') {
      this.word('null');
      if (kind === 'e') Object.assign(target, { entries: [], entriesLen: 0 }); // null makes a Go slice nil
    } else if (kind === 's' && ch === '"') {
      target[name] = this.string();
    } else if (kind === 'b' && (ch === 't' || ch === 'f')) {
      this.word(LITERALS.get(ch));
      target[name] = ch === 't';
    } else if (kind === 'i' && (ch === '-' || (ch >= '0' && ch <= '9'))) {
      const t = this.number();
      // Go's int fields take whole numbers only, up to 2^63-1; JavaScript
      // holds integers exactly only up to 2^53-1, and refuses the rest.
      if (!WHOLE.test(t)) this.fail(`${name}: ${t} is not a whole number`);
      const n = Number(t);
      if (!Number.isSafeInteger(n)) this.fail(`${name}: ${t} is beyond 2^53-1`);
      target[name] = n === 0 ? 0 : n; // not -0
    } else if (kind === 'e' && ch === '[') {
      this.entries(target, depth + 1);
    } else {
      this.fail(`${name}: a value of the wrong type at ${this.i}`);
    }
  }

  // entries reads an array of entries as Go decodes into a slice that may
  // hold elements already (a repeated "entries" field): element i is decoded
  // over what was there, and the slice is cut to the new length, keeping the
  // elements beyond it for a later repetition to reuse. An empty array makes
  // a new, empty slice.
  entries(target, depth) {
    target.entriesLen = 0;
    if (!this.open(']')) return void (target.entries = []);
    const backing = target.entries;
    do {
      const n = target.entriesLen++;
      if (n === backing.length) backing.push(zeroEntry());
      const ch = this.peek();
      if (ch === '{') this.object(backing[n], ENTRY, depth + 1);
      else if (ch === 'n') this.word('null'); // leaves the element as it is
      else this.fail(`an entry is an object, at ${this.i}`);
    } while (this.more(']'));
  }

  // skip reads the value of an unknown field, checking its syntax and depth
  // without recursion: stack holds the closing brackets of the open values.
  skip(depth) {
    const stack = [];
    for (;;) {
      const ch = this.peek();
      if (ch === '{' || ch === '[') {
        if (depth + stack.length + 1 > MAX_DEPTH) this.fail('exceeded max depth');
        const close = ch === '{' ? '}' : ']';
        if (this.open(close)) {
          stack.push(close);
          if (close === '}') this.key();
          continue;
        }
      } else if (ch === '"') this.string();
      else if (LITERALS.has(ch)) this.word(LITERALS.get(ch));
      else this.number();
      // After a value: close what ends here, then go on to the next value.
      while (stack.length > 0 && !this.more(stack.at(-1))) stack.pop();
      if (stack.length === 0) return;
      if (stack.at(-1) === '}') this.key();
    }
  }

  number() {
    NUMBER.lastIndex = this.i;
    if (!NUMBER.test(this.s)) this.fail(`invalid character at ${this.i}`);
    const t = this.s.slice(this.i, NUMBER.lastIndex);
    this.i = NUMBER.lastIndex;
    return t;
  }

  // string reads a string. Go turns an escaped surrogate that is not half of
  // a pair into U+FFFD; so does wellFormed (the text had no lone ones).
  string() {
    let i = this.i + 1, out = '', escaped = false;
    for (;;) {
      PLAIN.lastIndex = i;
      PLAIN.test(this.s);
      out += this.s.slice(i, PLAIN.lastIndex);
      i = PLAIN.lastIndex;
      const ch = this.s[i];
      if (ch === '"') break;
      if (ch !== '\\') this.fail(ch === undefined ? 'unexpected end of input in a string' : `control character in a string at ${i}`);
      const e = this.s[i + 1];
      HEX4.lastIndex = i + 2;
      if (ESCAPES.has(e)) {
        out += ESCAPES.get(e);
        i += 2;
      } else if (e === 'u' && HEX4.test(this.s)) {
        out += String.fromCharCode(parseInt(this.s.slice(i + 2, i + 6), 16));
        i += 6;
        escaped = true;
      } else {
        this.fail(`invalid escape in a string at ${i}`);
      }
    }
    this.i = i + 1;
    return escaped ? wellFormed(out) : out;
  }
}

// encodeControl returns msg as the text Go's json.Marshal writes for the
// same Control: fields in Control's order, zero fields left out except
// type and an entry's path, and <, >, &, U+2028 and U+2029 escaped.
export function encodeControl(msg) {
  return encodeFields(msg, CONTROL, (v) => '[' + v.map((e) => encodeFields(e, ENTRY)).join(',') + ']');
}

function encodeFields(obj, fields, encodeEntries) {
  let out = '';
  for (const [name, kind] of fields) {
    const v = obj[name];
    if (isZero(v) && name !== 'type' && !(fields === ENTRY && name === 'path')) continue;
    let t;
    if (kind === 's') t = quote(v ?? '', name);
    else if (kind === 'i' && Number.isSafeInteger(v)) t = String(v);
    else if (kind === 'b' && typeof v === 'boolean') t = String(v);
    else if (kind === 'e' && Array.isArray(v)) t = encodeEntries(v);
    else throw new TypeError(`encodeControl: ${name} is ${typeof v}, not ${{ i: 'a safe integer', b: 'a boolean', e: 'an array' }[kind]}`);
    out += (out ? ',"' : '{"') + name + '":' + t;
  }
  return out + '}';
}

const QUOTED = new Map([['"', '\\"'], ['\\', '\\\\'], ['\b', '\\b'], ['\f', '\\f'], ['\n', '\\n'], ['\r', '\\r'], ['\t', '\\t']]);

function quote(s, name) {
  if (typeof s !== 'string') throw new TypeError(`encodeControl: ${name} is ${typeof s}, not a string`);
  return '"' + wellFormed(s).replace(/["\\\u0000-\u001f<>&\u2028\u2029]/g,
    (ch) => QUOTED.get(ch) ?? '\\u' + ch.charCodeAt(0).toString(16).padStart(4, '0')) + '"';
}

// pageEntries splits a manifest into the messages that send it: an offer
// with the first page, then entries messages. A page ends at 256 entries or
// before its message would pass maxBytes encoded (long paths fill a message
// long before 256 entries do). head gives the offer's transfer, name and
// bytes (the sum of the sizes if absent) and checkHeld; count is
// entries.length.
export function pageEntries(entries, maxBytes, head = {}) {
  maxBytes ??= MaxControlBytes;
  const { transfer, name = '', count = entries.length } = head;
  if (entries.length === 0) throw new RangeError('pageEntries: an offer needs an entry');
  if (entries.length > MaxEntries) throw new RangeError(`pageEntries: ${entries.length} entries (the limit is ${MaxEntries})`);
  if (count !== entries.length) throw new RangeError(`pageEntries: count ${count} is not the ${entries.length} entries given`);
  const bytes = head.bytes ?? entries.reduce((sum, e) => sum + (e.size ?? 0), 0);
  const offer = { type: Msg.Offer, transfer, name, count, bytes, ...(head.checkHeld ? { checkHeld: true } : {}) };
  // A page's encoded size is its message's size without entries, plus each
  // entry's, plus the commas between them.
  const probe = { path: '' };
  const bare = (m) => utf8Length(encodeControl({ ...m, entries: [probe] })) - utf8Length(encodeFields(probe, ENTRY));
  const sizes = entries.map((e) => utf8Length(encodeFields(e, ENTRY)));
  const msgs = [];
  for (let i = 0; i < entries.length;) {
    const m = msgs.length === 0 ? offer : { type: Msg.Entries };
    let size = bare(m) + sizes[i];
    if (size > maxBytes) throw new RangeError(`pageEntries: entry ${JSON.stringify(entries[i].path)} alone makes a message of ${size} bytes (the limit is ${maxBytes})`);
    let j = i + 1;
    while (j < entries.length && j - i < MaxEntriesPerPage && size + 1 + sizes[j] <= maxBytes) size += 1 + sizes[j++];
    msgs.push({ ...m, entries: entries.slice(i, j) });
    i = j;
  }
  return msgs;
}

// putChunkHeader writes the 12-byte header of a chunk at the start of b (a
// Uint8Array or DataView): the file's index in the manifest and the byte
// offset of the payload, both unsigned big-endian.
export function putChunkHeader(b, file, offset) {
  if (!Number.isInteger(file) || file < 0 || file > 0xffffffff) throw new RangeError(`putChunkHeader: bad file index ${file}`);
  if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`putChunkHeader: bad offset ${offset}`);
  const view = b instanceof DataView ? b : new DataView(b.buffer, b.byteOffset, b.byteLength);
  view.setUint32(0, file);
  view.setUint32(4, Math.floor(offset / 2 ** 32));
  view.setUint32(8, offset % 2 ** 32);
}

// decodeChunk splits a chunk message (a Uint8Array or the ArrayBuffer a data
// channel delivers) into its header and payload, as Go's DecodeChunk:
// {ok: true, file, offset, payload} or {ok: false, code, text}. The payload
// is a view of the message's bytes, not a copy.
export function decodeChunk(b) {
  const p = b instanceof ArrayBuffer ? new Uint8Array(b) : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  if (p.length <= ChunkHeaderBytes) return fail(Code.BadMessage, `chunk of ${p.length} bytes has no payload`);
  if (p.length > MaxChunkBytes) return fail(Code.TooLarge, `chunk is ${p.length} bytes (the limit is ${MaxChunkBytes})`);
  const view = new DataView(p.buffer, p.byteOffset, ChunkHeaderBytes);
  const file = view.getUint32(0), hi = view.getUint32(4), lo = view.getUint32(8);
  // Go refuses offsets above 2^62; a Number is exact only up to 2^53-1,
  // which is where hi reaches 2^21.
  if (hi >= 2 ** 21 || file > MaxEntries) {
    return fail(Code.BadOffset, `chunk for file ${file} at offset ${(BigInt(hi) << 32n) | BigInt(lo)} is out of range`);
  }
  return { ok: true, file, offset: hi * 2 ** 32 + lo, payload: p.subarray(ChunkHeaderBytes) };
}
