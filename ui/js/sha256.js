// SHA-256 as FIPS 180-4 defines it, fed incrementally.
//
// A page served over plain HTTP on the LAN has no crypto.subtle, and
// WebCrypto's digest takes the whole input at once, so the transfer engine
// hashes files of any size with this one, a chunk at a time, as the
// receiver verifies them (docs/protocol.md, "file-end").
//
// Standard: FIPS 180-4, Secure Hash Standard, https://doi.org/10.6028/NIST.FIPS.180-4
// Section numbers below refer to it.
//
// Speed: the compression loop keeps the eight working variables in locals,
// reads message words straight from the caller's bytes (no copy for whole
// blocks) and reuses one 64-word schedule; nothing is allocated per block.

// §4.2.2: the first 32 bits of the fractional parts of the cube roots of the
// first 64 primes.
const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

// §5.3.3: the initial hash value H(0), the first 32 bits of the fractional
// parts of the square roots of the first 8 primes.
const H0 = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

// compress runs the hash computation of §6.2.2 on every whole 64-byte block
// of p[pos, end), updating the hash value h in place. w is the message
// schedule, reused between calls. Arithmetic is modulo 2^32: `| 0` keeps
// every sum a 32-bit integer, and x >>> n | x << (32 - n) is ROTR^n (§3.2).
function compress(h, w, p, pos, end) {
  let h0 = h[0], h1 = h[1], h2 = h[2], h3 = h[3], h4 = h[4], h5 = h[5], h6 = h[6], h7 = h[7];
  for (; pos + 64 <= end; pos += 64) {
    // Step 1: the message schedule. Words are big-endian (§3.1).
    for (let t = 0, i = pos; t < 16; t++, i += 4) {
      w[t] = (p[i] << 24) | (p[i + 1] << 16) | (p[i + 2] << 8) | p[i + 3];
    }
    for (let t = 16; t < 64; t++) {
      const x = w[t - 15], y = w[t - 2];
      const s0 = (x >>> 7 | x << 25) ^ (x >>> 18 | x << 14) ^ (x >>> 3); // σ0, (4.6)
      const s1 = (y >>> 17 | y << 15) ^ (y >>> 19 | y << 13) ^ (y >>> 10); // σ1, (4.7)
      w[t] = (s1 + w[t - 7] + s0 + w[t - 16]) | 0;
    }
    // Steps 2 and 3: the 64 rounds.
    let a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, hh = h7;
    for (let t = 0; t < 64; t++) {
      const S1 = (e >>> 6 | e << 26) ^ (e >>> 11 | e << 21) ^ (e >>> 25 | e << 7); // Σ1, (4.5)
      const ch = g ^ (e & (f ^ g)); // Ch, (4.2), in one operation fewer
      const T1 = (hh + S1 + ch + K[t] + w[t]) | 0;
      const S0 = (a >>> 2 | a << 30) ^ (a >>> 13 | a << 19) ^ (a >>> 22 | a << 10); // Σ0, (4.4)
      const maj = (a & b) | (c & (a | b)); // Maj, (4.3), in one operation fewer
      const T2 = (S0 + maj) | 0;
      hh = g; g = f; f = e; e = (d + T1) | 0;
      d = c; c = b; b = a; a = (T1 + T2) | 0;
    }
    // Step 4: the intermediate hash value.
    h0 = (h0 + a) | 0; h1 = (h1 + b) | 0; h2 = (h2 + c) | 0; h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0; h5 = (h5 + f) | 0; h6 = (h6 + g) | 0; h7 = (h7 + hh) | 0;
  }
  h[0] = h0; h[1] = h1; h[2] = h2; h[3] = h3; h[4] = h4; h[5] = h5; h[6] = h6; h[7] = h7;
}

// sha256Padding returns the bytes that end a message of byteLength bytes
// (§5.1.1): a 1 bit, zeros up to 56 bytes modulo 64, then the length in
// bits as a 64-bit big-endian number. The length in bits passes 2^32 at
// 512 MiB, so it is written as two 32-bit halves; byteLength is exact up to
// 2^53 - 1, which is far beyond any file.
export function sha256Padding(byteLength) {
  if (!Number.isSafeInteger(byteLength) || byteLength < 0) {
    throw new RangeError(`sha256: bad message length ${byteLength}`);
  }
  const zeros = (119 - (byteLength % 64)) % 64; // 0 to 63, so that the total is 0 modulo 64
  const pad = new Uint8Array(1 + zeros + 8);
  pad[0] = 0x80;
  const view = new DataView(pad.buffer);
  // bits = byteLength * 8 = hi * 2^32 + lo, computed without leaving exact integers.
  view.setUint32(pad.length - 8, Math.floor(byteLength / 2 ** 29));
  view.setUint32(pad.length - 4, (byteLength % 2 ** 29) * 8);
  return pad;
}

// asBytes returns a Uint8Array view of b (no copy) for any byte container.
function asBytes(b) {
  if (b instanceof Uint8Array) return b;
  if (ArrayBuffer.isView(b)) return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  if (b instanceof ArrayBuffer) return new Uint8Array(b);
  throw new TypeError('sha256: update takes a Uint8Array, another ArrayBuffer view or an ArrayBuffer');
}

// Sha256 hashes a message given in parts of any size, split anywhere.
export class Sha256 {
  #h = Int32Array.from(H0);
  #w = new Int32Array(64);
  #block = new Uint8Array(64); // the start of an incomplete block
  #held = 0; // bytes in #block
  #length = 0; // bytes of the message so far
  #done = false;

  // update adds bytes to the message and returns this.
  update(bytes) {
    if (this.#done) throw new Error('sha256: update after digest');
    const p = asBytes(bytes);
    this.#length += p.length;
    this.#absorb(p);
    return this;
  }

  // #absorb feeds p to the blocks without counting it in the length.
  #absorb(p) {
    let pos = 0;
    const end = p.length;
    if (this.#held > 0) {
      const n = Math.min(64 - this.#held, end);
      this.#block.set(p.subarray(0, n), this.#held);
      this.#held += n;
      pos = n;
      if (this.#held < 64) return;
      compress(this.#h, this.#w, this.#block, 0, 64);
      this.#held = 0;
    }
    const whole = pos + ((end - pos) & ~63);
    if (whole > pos) compress(this.#h, this.#w, p, pos, whole);
    if (whole < end) {
      this.#block.set(p.subarray(whole, end));
      this.#held = end - whole;
    }
  }

  // clone returns a Sha256 that goes on from the same state, so a hash of
  // what went so far can be taken without ending this one.
  clone() {
    const c = new Sha256();
    c.#h.set(this.#h);
    c.#block.set(this.#block);
    c.#held = this.#held;
    c.#length = this.#length;
    c.#done = this.#done;
    return c;
  }

  // save returns the state so far as plain data (for IndexedDB), from
  // which restore goes on.
  save() {
    return { h: Array.from(this.#h), block: this.#block.slice(0, this.#held), length: this.#length };
  }

  // restore returns a Sha256 that goes on from a state save returned.
  static restore(s) {
    const c = new Sha256();
    if (!s || !Array.isArray(s.h) || s.h.length !== 8 || !(s.block instanceof Uint8Array) || s.block.length >= 64 ||
        !Number.isSafeInteger(s.length) || s.length % 64 !== s.block.length) {
      throw new Error('sha256: not a saved state');
    }
    c.#h.set(s.h);
    c.#block.set(s.block);
    c.#held = s.block.length;
    c.#length = s.length;
    return c;
  }

  // digest ends the message and returns its 32-byte hash. A Sha256 gives
  // one digest; it cannot be updated after.
  digest() {
    if (this.#done) throw new Error('sha256: digest called twice');
    this.#absorb(sha256Padding(this.#length));
    this.#done = true;
    const out = new Uint8Array(32);
    const view = new DataView(out.buffer);
    for (let i = 0; i < 8; i++) view.setInt32(i * 4, this.#h[i]);
    return out;
  }

  // hex ends the message and returns its hash as 64 lowercase hex digits,
  // the form of file-end's sha256.
  hex() {
    return toHex(this.digest());
  }
}

// sha256hex returns the hash of bytes as 64 lowercase hex digits.
export function sha256hex(bytes) {
  return new Sha256().update(bytes).hex();
}

function toHex(bytes) {
  let s = '';
  for (const b of bytes) s += (b < 16 ? '0' : '') + b.toString(16);
  return s;
}
