// Checks ui/js/qr.js against the QR codes of docs/testdata/qr.json, made by
// an independent encoder (rsc.io/qr; see daemon/web/qr_vectors_test.go),
// and its mask choice and penalty against cases worked out by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { encode, penalty, svg } from '../js/qr.js';

const file = JSON.parse(readFileSync(new URL('../../docs/testdata/qr.json', import.meta.url), 'utf8'));

function rows({ size, modules }) {
  const out = [];
  for (let r = 0; r < size; r++) out.push(Array.from(modules.subarray(r * size, (r + 1) * size)).join(''));
  return out;
}

// matrix turns rows of '0' and '1' into what penalty takes.
function matrix(lines) {
  const size = lines.length;
  lines.forEach((l) => assert.equal(l.length, size, 'a square matrix'));
  return { size, modules: Uint8Array.from(lines.join(''), Number) };
}

const sweepText = (n) => file.sweepUnit.repeat(Math.ceil(n / file.sweepUnit.length) + 1).slice(0, n);

test('the vectors cover every level and mask, and versions past 7 and 10', () => {
  assert.ok(file.vectors.length >= 15);
  assert.deepEqual([...new Set(file.vectors.map((v) => v.level))].sort(), ['H', 'L', 'M', 'Q']);
  assert.deepEqual([...new Set(file.vectors.map((v) => v.mask))].sort(), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.ok(file.vectors.some((v) => v.version >= 7 && v.version < 10));
  assert.ok(file.vectors.some((v) => v.version >= 10));
  assert.equal(file.sweep.length, 160);
});

for (const v of file.vectors) {
  test(`matches rsc.io/qr: ${v.name} (${v.level}, mask ${v.mask})`, () => {
    const got = encode(v.text, { level: v.level, mask: v.mask });
    assert.equal(got.version, v.version, 'version');
    assert.equal(got.mask, v.mask);
    assert.equal(got.size, v.rows.length, 'size');
    assert.equal(got.modules.length, got.size * got.size);
    const g = rows(got);
    for (let r = 0; r < g.length; r++) {
      if (g[r] !== v.rows[r]) assert.fail(`row ${r} differs\n got ${g[r]}\nwant ${v.rows[r]}`);
    }
  });
}

test('matches rsc.io/qr at every version and level, filled to the last byte', () => {
  for (const s of file.sweep) {
    const text = sweepText(s.length);
    const got = encode(text, { level: s.level, mask: s.mask });
    const where = `version ${s.version}-${s.level}, ${s.length} bytes`;
    assert.equal(got.version, s.version, where);
    assert.equal(got.size, 4 * s.version + 17, where);
    const sum = createHash('sha256').update(rows(got).join('\n')).digest('hex');
    assert.equal(sum, s.sha256, `${where}: the matrix differs`);
  }
});

test('the version is the smallest that holds the bytes: one byte more takes the next', () => {
  for (const s of file.sweep) {
    const over = sweepText(s.length) + 'x';
    if (s.version === 40) {
      assert.throws(() => encode(over, { level: s.level }), {
        message: `QR: ${s.length + 1} bytes do not fit in a QR code at level ${s.level} (at most ${s.length})`,
      });
    } else {
      assert.equal(encode(over, { level: s.level, mask: 0 }).version, s.version + 1, `${s.length + 1} bytes at ${s.level}`);
    }
  }
  // Capacities in bytes (the standard's table 7), counted in UTF-8: a text
  // of two-byte characters fits as its bytes do, not as its characters.
  const table = [[1, 'L', 17], [1, 'H', 7], [2, 'M', 26], [9, 'Q', 130], [10, 'L', 271], [26, 'H', 593], [40, 'M', 2331]];
  for (const [version, level, n] of table) {
    assert.equal(encode('a'.repeat(n), { level, mask: 0 }).version, version, `${n} bytes at ${level}`);
    assert.equal(encode('é'.repeat(n / 2) + 'a'.repeat(n % 2), { level, mask: 0 }).version, version);
    if (version < 40) assert.equal(encode('a'.repeat(n - 1) + 'é', { level, mask: 0 }).version, version + 1);
  }
  assert.equal(encode('').version, 1);
});

test('penalty of matrices scored by hand', () => {
  // All light, 5×5. Rule 1: ten lines of 5 → 10 × 3 = 30. Rule 2: 16 blocks
  // × 3 = 48. Rule 3: nothing dark, 0. Rule 4: 0% dark, 10 steps of 5% → 100.
  assert.equal(penalty(5, new Uint8Array(25)), 178);
  // Checkerboard 6×6: no runs, no blocks, no patterns, half dark.
  assert.equal(penalty(6, Uint8Array.from({ length: 36 }, (_, i) => (Math.floor(i / 6) + i) % 2)), 0);
  // A 1:1:3:1:1 row in 7×7. Rule 1: six light rows of 7 → 6 × 5 = 30, light
  // columns 1 and 5 → 2 × 5 = 10. Rule 2: the 6 blocks in each of row
  // pairs 0-1, 1-2, 4-5 and 5-6 → 24 × 3 = 72. Rule 3: with the light
  // quiet zone, four light modules on both sides → 2 × 40 = 80. Rule 4:
  // 5 of 49 dark is 10.2%, 7 whole steps → 70.
  const finder = matrix(['0000000', '0000000', '0000000', '1011101', '0000000', '0000000', '0000000']);
  assert.equal(penalty(finder.size, finder.modules), 30 + 10 + 72 + 80 + 70);
  // The same row read down a column scores the same.
  const column = matrix(['0001000', '0000000', '0001000', '0001000', '0001000', '0000000', '0001000']);
  assert.equal(penalty(column.size, column.modules), 262);
  // Runs of 6 and 5 dark, 7×7 rows of 1111110 / 0111110 alternating.
  // Rule 1: rows: 4 × (3 + 1) + 3 × 3 = 25; columns: 0 is 1010101 (0),
  // 1–5 all dark (5 × 5 = 25), 6 all light (5) → 30. Rule 2: columns 1–5
  // give 4 dark blocks per row pair, × 6 pairs = 24 → 72; the light
  // column 6 has no light neighbour. Rule 3: none. Rule 4: 39 of 49 dark
  // is 79.6%, 5 whole steps → 50.
  const runs = matrix(['1111110', '0111110', '1111110', '0111110', '1111110', '0111110', '1111110']);
  assert.equal(penalty(runs.size, runs.modules), 25 + 30 + 72 + 50);
});

test('the mask chosen is the lowest penalty, the lowest number on a tie', () => {
  const chosen = new Set();
  // Two texts where two masks share the lowest penalty (1 and 3, 2 and 7).
  const ties = [
    { name: 'tie', text: 'http://10.0.0.28:7466/r/T28', level: 'H', tie: 2 },
    { name: 'tie', text: 'http://10.0.0.102:7466/r/T102', level: 'Q', tie: 2 },
  ];
  for (const v of [...file.vectors, ...ties]) {
    const scores = [0, 1, 2, 3, 4, 5, 6, 7].map((mask) => {
      const m = encode(v.text, { level: v.level, mask });
      return penalty(m.size, m.modules);
    });
    const best = scores.indexOf(Math.min(...scores));
    if (v.tie) assert.equal(scores.filter((s) => s === scores[best]).length, v.tie, `${v.text}: penalties ${scores}`);
    const auto = encode(v.text, { level: v.level });
    assert.equal(auto.mask, best, `${v.name}: penalties ${scores}`);
    assert.deepEqual(auto.modules, encode(v.text, { level: v.level, mask: best }).modules);
    chosen.add(best);
  }
  assert.ok(chosen.size > 1, 'not always the same mask');
});

test('bad arguments are refused with a clear error', () => {
  assert.throws(() => encode('x', { level: 'X' }), { message: 'QR: unknown error-correction level "X"; use L, M, Q or H' });
  assert.throws(() => encode('x', { level: 'LM' }), /unknown error-correction level/);
  assert.throws(() => encode('x', { mask: 8 }), { message: 'QR: mask 8 is not an integer from 0 to 7' });
  assert.throws(() => encode('x', { mask: 1.5 }), /mask 1.5/);
  assert.throws(() => encode(42), TypeError);
  assert.throws(() => svg('x', { border: -1 }), /border -1/);
  assert.throws(() => encode('é'.repeat(1200), { level: 'H' }), { message: 'QR: 2400 bytes do not fit in a QR code at level H (at most 1273)' });
});

test('svg draws exactly the modules, inside the quiet zone', () => {
  const text = 'http://192.168.1.23:7466/r/W8RVM5QK#k=secret-<&>"';
  for (const [level, border] of [['M', 4], ['H', 0], ['L', 2]]) {
    const out = svg(text, { level, border });
    const { size, modules } = encode(text, { level });
    const n = size + 2 * border;
    const head = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${n} ${n}" shape-rendering="crispEdges">` +
      `<rect width="${n}" height="${n}" fill="#fff"/><path fill="#000" d="`;
    assert.ok(out.startsWith(head), out.slice(0, 200));
    assert.ok(out.endsWith('"/></svg>'));
    assert.equal(out.match(/<path/g).length, 1);
    assert.ok(!out.includes('secret'), 'the text itself is never in the markup');
    const d = out.slice(head.length, -'"/></svg>'.length);
    const drawn = new Uint8Array(n * n);
    for (const [, x, y, w, v, back] of d.matchAll(/M(\d+) (\d+)h(\d+)v(\d+)h-(\d+)z/g)) {
      assert.equal(v, '1');
      assert.equal(back, w);
      for (let i = 0; i < Number(w); i++) {
        const at = Number(y) * n + Number(x) + i;
        assert.equal(drawn[at], 0, 'no module drawn twice');
        drawn[at] = 1;
      }
    }
    assert.equal(d.replace(/M\d+ \d+h\d+v1h-\d+z/g, ''), '', 'nothing but runs in the path');
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < n; c++) {
        const inside = r >= border && r < border + size && c >= border && c < border + size;
        const want = inside ? modules[(r - border) * size + (c - border)] : 0;
        assert.equal(drawn[r * n + c], want, `module ${r},${c}`);
      }
    }
  }
});
