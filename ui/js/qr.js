// QR codes (ISO/IEC 18004) drawn in the page, with no server involved: a
// join link's fragment carries a secret that must never leave the browser.
//
// Byte mode only (the UTF-8 of the text), levels L, M, Q and H, versions 1 to
// 40 (the smallest that fits). The mask is the one with the lowest penalty
// (section 7.8.3), the lowest-numbered on a tie, unless one is forced.
// No DOM: encode gives a matrix, svg gives markup.

const LEVELS = 'LMQH';

// The two bits each level has in the format information (table 12).
const FORMAT_LEVEL = { L: 1, M: 0, Q: 3, H: 2 };

// Table 9, for versions 1 to 40 at each level: the error-correction
// codewords per block, and the number of blocks. Where a version has blocks
// of two lengths, the longer ones hold one more data codeword.
const numbers = (rows) => Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, v.split(' ').map(Number)]));
const ECC_PER_BLOCK = numbers({
  L: '7 10 15 20 26 18 20 24 30 18 20 24 26 30 22 24 28 30 28 28 28 28 30 30 26 28 30 30 30 30 30 30 30 30 30 30 30 30 30 30',
  M: '10 16 26 18 24 16 18 22 22 26 30 22 22 24 24 28 28 26 26 26 26 28 28 28 28 28 28 28 28 28 28 28 28 28 28 28 28 28 28 28',
  Q: '13 22 18 26 18 24 18 22 20 24 28 26 24 20 30 24 28 28 26 30 28 30 30 30 30 28 30 30 30 30 30 30 30 30 30 30 30 30 30 30',
  H: '17 28 22 16 22 28 26 26 24 28 24 28 22 24 24 30 28 28 26 28 30 24 30 30 30 30 30 30 30 30 30 30 30 30 30 30 30 30 30 30',
});
const BLOCKS = numbers({
  L: '1 1 1 1 1 2 2 2 2 4 4 4 4 4 6 6 6 6 7 8 8 9 9 10 12 12 12 13 14 15 16 17 18 19 19 20 21 22 24 25',
  M: '1 1 1 2 2 4 4 4 5 5 5 8 9 9 10 10 11 13 14 16 17 17 18 20 21 23 25 26 28 29 31 33 35 37 38 40 43 45 47 49',
  Q: '1 1 2 2 4 4 6 6 8 8 8 10 12 16 12 17 16 18 21 20 23 23 25 27 29 34 34 35 38 40 43 45 48 51 53 56 59 62 65 68',
  H: '1 1 2 4 4 4 5 6 8 8 11 11 16 16 18 16 19 21 25 25 25 34 30 32 35 37 40 42 45 48 51 54 57 60 63 66 70 74 77 81',
});

// The eight data masks (table 10): whether the module in row i, column j
// is inverted.
const MASKS = [
  (i, j) => (i + j) % 2 === 0,
  (i) => i % 2 === 0,
  (i, j) => j % 3 === 0,
  (i, j) => (i + j) % 3 === 0,
  (i, j) => (Math.floor(i / 2) + Math.floor(j / 3)) % 2 === 0,
  (i, j) => ((i * j) % 2) + ((i * j) % 3) === 0,
  (i, j) => (((i * j) % 2) + ((i * j) % 3)) % 2 === 0,
  (i, j) => (((i * j) % 3) + ((i + j) % 2)) % 2 === 0,
];

// GF(256) with the QR polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11d), as
// exponent and logarithm tables; EXP is doubled so a product of two
// non-zero elements needs no modulo.
const EXP = new Uint8Array(512);
const LOG = new Uint8Array(256);
for (let i = 0, x = 1; i < 255; i++) {
  EXP[i] = x;
  LOG[x] = i;
  x <<= 1;
  if (x & 0x100) x ^= 0x11d;
}
for (let i = 255; i < 512; i++) EXP[i] = EXP[i - 255];

const mul = (a, b) => (a === 0 || b === 0 ? 0 : EXP[LOG[a] + LOG[b]]);

// generators caches, by degree, the Reed–Solomon generator polynomial
// (x - α^0)(x - α^1)…(x - α^(n-1)), highest power first, leading 1 left out.
const generators = new Map();
function generator(degree) {
  let g = generators.get(degree);
  if (g) return g;
  g = new Uint8Array(degree);
  g[degree - 1] = 1; // the polynomial 1, held in the last coefficient
  for (let i = 0, root = 1; i < degree; i++) {
    // Multiply by (x + α^i): shift up one power and add root times the old.
    for (let j = 0; j < degree; j++) {
      g[j] = mul(g[j], root) ^ (j + 1 < degree ? g[j + 1] : 0);
    }
    root = mul(root, 2);
  }
  generators.set(degree, g);
  return g;
}

// ecc returns the n error-correction codewords of data: the remainder of
// data·x^n divided by the generator.
function ecc(data, n) {
  const g = generator(n);
  const rem = new Uint8Array(n);
  for (const b of data) {
    const factor = b ^ rem[0];
    rem.copyWithin(0, 1);
    rem[n - 1] = 0;
    for (let j = 0; j < n; j++) rem[j] ^= mul(g[j], factor);
  }
  return rem;
}

// rawModules is how many modules of a version carry codewords or remainder
// bits: all of them but the function patterns and the format and version
// information.
function rawModules(version) {
  let n = (16 * version + 128) * version + 64;
  if (version >= 2) {
    const align = Math.floor(version / 7) + 2;
    n -= (25 * align - 10) * align - 55;
    if (version >= 7) n -= 36;
  }
  return n;
}

// dataCodewords is how many data codewords a version holds at a level.
const dataCodewords = (version, level) =>
  Math.floor(rawModules(version) / 8) - ECC_PER_BLOCK[level][version - 1] * BLOCKS[level][version - 1];

// alignmentCentres lists the rows (and columns) of the alignment patterns'
// centres (annex E): 6, then evenly spaced down to size - 7, the spacing
// even and the first gap taking what is left over.
function alignmentCentres(version) {
  if (version === 1) return [];
  const n = Math.floor(version / 7) + 2;
  const step = Math.floor((version * 8 + n * 3 + 5) / (n * 4 - 4)) * 2;
  const out = [6];
  for (let pos = version * 4 + 10; out.length < n; pos -= step) out.splice(1, 0, pos);
  return out;
}

// BCH codes of the format (15,5) and version (18,6) information.
function bch(value, poly, bits) {
  let rem = value;
  for (let i = 0; i < bits; i++) rem = (rem << 1) ^ ((rem >> (bits - 1)) * poly);
  return (value << bits) | rem;
}

// codewords turns bytes into the final codeword sequence of a version and
// level: mode, count, data, terminator and padding, split into blocks, each
// with its error correction, then interleaved (section 7.6).
function codewords(bytes, version, level) {
  const capacity = dataCodewords(version, level);
  const bits = [];
  const put = (value, n) => {
    for (let i = n - 1; i >= 0; i--) bits.push((value >>> i) & 1);
  };
  put(0b0100, 4);
  put(bytes.length, version < 10 ? 8 : 16);
  for (const b of bytes) put(b, 8);
  put(0, Math.min(4, capacity * 8 - bits.length));
  put(0, (8 - (bits.length % 8)) % 8);
  const data = new Uint8Array(capacity);
  for (let i = 0; i < bits.length; i += 8) {
    data[i / 8] = bits.slice(i, i + 8).reduce((acc, bit) => (acc << 1) | bit, 0);
  }
  for (let i = bits.length / 8, pad = 0xec; i < capacity; i++, pad ^= 0xec ^ 0x11) data[i] = pad;

  const nBlocks = BLOCKS[level][version - 1];
  const nEcc = ECC_PER_BLOCK[level][version - 1];
  const shortLen = Math.floor(capacity / nBlocks);
  const longFrom = nBlocks - (capacity % nBlocks);
  const blocks = [];
  for (let b = 0, at = 0; b < nBlocks; b++) {
    const len = shortLen + (b >= longFrom ? 1 : 0);
    const chunk = data.subarray(at, at + len);
    blocks.push({ data: chunk, ecc: ecc(chunk, nEcc) });
    at += len;
  }
  const out = [];
  for (let i = 0; i <= shortLen; i++) for (const b of blocks) if (i < b.data.length) out.push(b.data[i]);
  for (let i = 0; i < nEcc; i++) for (const b of blocks) out.push(b.ecc[i]);
  return out;
}

// Grid is the symbol under construction: modules (1 = dark) and which of
// them belong to function patterns and so are neither data nor masked.
class Grid {
  constructor(version) {
    this.version = version;
    this.size = version * 4 + 17;
    this.modules = new Uint8Array(this.size * this.size);
    this.fixed = new Uint8Array(this.size * this.size);
  }

  set(row, col, dark) {
    this.modules[row * this.size + col] = dark ? 1 : 0;
    this.fixed[row * this.size + col] = 1;
  }

  // drawFunctionPatterns draws the finders with their separators, the
  // timing lines, the alignment patterns, the version information and the
  // dark module, and reserves the format information's modules.
  drawFunctionPatterns() {
    const { size, version } = this;
    for (let i = 0; i < size; i++) {
      this.set(6, i, i % 2 === 0);
      this.set(i, 6, i % 2 === 0);
    }
    // A finder is rings at distance 0–4 from its centre, dark at 0, 1 and 3.
    for (const [r, c] of [[3, 3], [3, size - 4], [size - 4, 3]]) {
      for (let row = Math.max(0, r - 4); row <= Math.min(size - 1, r + 4); row++) {
        for (let col = Math.max(0, c - 4); col <= Math.min(size - 1, c + 4); col++) {
          const d = Math.max(Math.abs(row - r), Math.abs(col - c));
          this.set(row, col, d !== 2 && d !== 4);
        }
      }
    }
    const centres = alignmentCentres(version);
    const last = centres.length - 1;
    for (let a = 0; a <= last; a++) {
      for (let b = 0; b <= last; b++) {
        // Three places would overlap a finder.
        if ((a === 0 && b === 0) || (a === 0 && b === last) || (a === last && b === 0)) continue;
        for (let i = 0; i < 25; i++) {
          const dr = Math.floor(i / 5) - 2;
          const dc = (i % 5) - 2;
          this.set(centres[a] + dr, centres[b] + dc, Math.max(Math.abs(dr), Math.abs(dc)) !== 1);
        }
      }
    }
    this.drawFormat(0, 0); // reserved now, written once the mask is known
    if (version >= 7) {
      const bits = bch(version, 0x1f25, 12);
      for (let i = 0; i < 18; i++) {
        const [a, b, dark] = [size - 11 + (i % 3), Math.floor(i / 3), (bits >>> i) & 1];
        this.set(a, b, dark);
        this.set(b, a, dark);
      }
    }
    this.set(size - 8, 8, true);
  }

  // drawFormat writes the 15 format bits (level and mask, BCH-coded, XORed
  // with 101010000010010) in both of their places (figure 25).
  drawFormat(levelBits, mask) {
    const size = this.size;
    const bits = bch((levelBits << 3) | mask, 0x537, 10) ^ 0x5412;
    for (let i = 0; i < 15; i++) {
      const dark = (bits >>> i) & 1;
      if (i < 6) this.set(i, 8, dark);
      else if (i < 8) this.set(i + 1, 8, dark);
      else if (i === 8) this.set(8, 7, dark);
      else this.set(8, 14 - i, dark);
      if (i < 8) this.set(8, size - 1 - i, dark);
      else this.set(size - 15 + i, 8, dark);
    }
  }

  // placeCodewords fills the free modules two columns at a time from the
  // bottom right, up then down, skipping the vertical timing column;
  // modules left over are remainder bits, 0 (section 7.7.3).
  placeCodewords(words) {
    const size = this.size;
    let bit = 0;
    for (let right = size - 1; right >= 1; right -= 2) {
      if (right === 6) right = 5;
      const upward = ((right + 1) & 2) === 0;
      for (let v = 0; v < size; v++) {
        const row = upward ? size - 1 - v : v;
        for (const col of [right, right - 1]) {
          const at = row * size + col;
          if (this.fixed[at]) continue;
          const byte = bit >>> 3;
          this.modules[at] = byte < words.length ? (words[byte] >>> (7 - (bit & 7))) & 1 : 0;
          bit++;
        }
      }
    }
  }

  // applyMask inverts the data modules where the mask says; applying the
  // same mask again undoes it.
  applyMask(mask) {
    const { size, modules, fixed } = this;
    const invert = MASKS[mask];
    for (let at = 0; at < size * size; at++) {
      if (!fixed[at] && invert(Math.floor(at / size), at % size)) modules[at] ^= 1;
    }
  }
}

// FINDER_LIKE is the 1:1:3:1:1 pattern with four light modules after it;
// the penalty looks for it and its mirror image.
const FINDER_LIKE = [1, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0];

// linesPenalty scores rules 1 and 3 over the rows of a size×size matrix.
// Outside the symbol is the light quiet zone, so a finder-like pattern at
// an edge counts, as a reader would see it.
function linesPenalty(m, size) {
  let score = 0;
  const line = new Uint8Array(size + 8);
  for (let row = 0; row < size; row++) {
    line.set(m.subarray(row * size, row * size + size), 4);
    // A run ends at the first module of another colour or at the border.
    for (let i = 5, run = 1; i <= size + 4; i++, run++) {
      if (i < size + 4 && line[i] === line[i - 1]) continue;
      if (run >= 5) score += 3 + (run - 5);
      run = 0;
    }
    for (let start = 0; start + 11 <= line.length; start++) {
      if (!line[start + 4]) continue; // dark in the pattern and its mirror
      let forward = 1;
      let backward = 1;
      for (let k = 0; k < 11; k++) {
        forward &= line[start + k] === FINDER_LIKE[k];
        backward &= line[start + k] === FINDER_LIKE[10 - k];
      }
      score += 40 * (forward + backward);
    }
  }
  return score;
}

/**
 * penalty scores a size×size matrix (1 = dark, row-major) by the four rules
 * of section 7.8.3: 3 + (n - 5) for each run of n ≥ 5 same-coloured modules
 * in a row or column; 3 for each 2×2 block of one colour (blocks may
 * overlap); 40 for each 1:1:3:1:1 pattern with four light modules on one
 * side, in a row or column, the quiet zone counting as light; and 10 for
 * each whole 5% the dark share lies away from 50%.
 */
export function penalty(size, modules) {
  const transposed = new Uint8Array(size * size);
  let dark = 0;
  for (let at = 0; at < size * size; at++) {
    transposed[(at % size) * size + Math.floor(at / size)] = modules[at];
    dark += modules[at];
  }
  let score = linesPenalty(modules, size) + linesPenalty(transposed, size);
  for (let row = 0; row + 1 < size; row++) {
    for (let col = 0; col + 1 < size; col++) {
      const at = row * size + col;
      const c = modules[at];
      if (c === modules[at + 1] && c === modules[at + size] && c === modules[at + size + 1]) score += 3;
    }
  }
  const total = size * size;
  score += 10 * Math.floor(Math.abs(dark * 20 - total * 10) / total);
  return score;
}

/**
 * encode makes the QR code of text (its UTF-8 bytes, in byte mode) at
 * error-correction level L, M, Q or H, in the smallest version that holds
 * it. mask (0–7) forces a mask instead of the best by penalty.
 * It returns {size, modules, version, mask}: modules is size×size, row by
 * row, 1 for dark.
 */
export function encode(text, { level = 'M', mask } = {}) {
  if (typeof text !== 'string') throw new TypeError('QR: the text must be a string');
  if (typeof level !== 'string' || level.length !== 1 || !LEVELS.includes(level)) {
    throw new Error(`QR: unknown error-correction level ${JSON.stringify(level)}; use L, M, Q or H`);
  }
  if (mask !== undefined && !(Number.isInteger(mask) && mask >= 0 && mask <= 7)) {
    throw new Error(`QR: mask ${JSON.stringify(mask)} is not an integer from 0 to 7`);
  }
  const bytes = new TextEncoder().encode(text);
  let version = 1;
  while (4 + (version < 10 ? 8 : 16) + 8 * bytes.length > 8 * dataCodewords(version, level)) {
    if (++version > 40) {
      const most = Math.floor((8 * dataCodewords(40, level) - 20) / 8);
      throw new Error(`QR: ${bytes.length} bytes do not fit in a QR code at level ${level} (at most ${most})`);
    }
  }
  const grid = new Grid(version);
  grid.drawFunctionPatterns();
  grid.placeCodewords(codewords(bytes, version, level));

  let chosen = mask;
  if (chosen === undefined) {
    let best = Infinity;
    for (let m = 0; m < 8; m++) {
      grid.applyMask(m);
      grid.drawFormat(FORMAT_LEVEL[level], m);
      const score = penalty(grid.size, grid.modules);
      if (score < best) [best, chosen] = [score, m];
      grid.applyMask(m);
    }
  }
  grid.applyMask(chosen);
  grid.drawFormat(FORMAT_LEVEL[level], chosen);
  return { size: grid.size, modules: grid.modules, version, mask: chosen };
}

/**
 * svg draws the QR code of text as a complete SVG document: a white
 * square with border light modules around the code (the standard asks for
 * 4) and the dark modules as one path, one rectangle per horizontal run.
 * The markup holds only numbers, never the text.
 */
export function svg(text, { level = 'M', border = 4 } = {}) {
  if (!Number.isInteger(border) || border < 0) throw new Error(`QR: border ${JSON.stringify(border)} is not a whole number of modules`);
  const { size, modules } = encode(text, { level });
  const n = size + 2 * border;
  let d = '';
  for (let row = 0; row < size; row++) {
    for (let col = 0; col < size; col++) {
      if (!modules[row * size + col]) continue;
      const start = col;
      while (col + 1 < size && modules[row * size + col + 1]) col++;
      d += `M${start + border} ${row + border}h${col - start + 1}v1h-${col - start + 1}z`;
    }
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${n} ${n}" shape-rendering="crispEdges">` +
    `<rect width="${n}" height="${n}" fill="#fff"/><path fill="#000" d="${d}"/></svg>`;
}
