import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { decode, encode, sdp, fromDescription, PairTextError } from '../js/pair/text.js';

const cases = JSON.parse(readFileSync(new URL('../../docs/testdata/pair.json', import.meta.url), 'utf8'));

test('pair.json: names are unique and there are cases of both kinds', () => {
  assert.equal(new Set(cases.map((c) => c.name)).size, cases.length);
  assert.ok(cases.some((c) => c.ok) && cases.some((c) => !c.ok));
});

for (const c of cases) {
  test(`pair.json: ${c.name}`, () => {
    if (!c.ok) {
      assert.throws(() => decode(c.text), (err) => err instanceof PairTextError && err.message.includes(c.error),
        `want an error that says ${JSON.stringify(c.error)}`);
      return;
    }
    const got = decode(c.text);
    assert.deepEqual(got, c.fields);
    assert.equal(sdp(got), c.sdp);
    // What encode writes decodes to the same fields.
    assert.deepEqual(decode(encode(got)), c.fields);
  });
}

test('fromDescription reads what a browser gathered, UDP candidates only', () => {
  const fp = `sha-256 ${Array(32).fill('4F').join(':')}`;
  const desc = [
    'v=0', 'o=- 4611731400430051336 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0',
    'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'c=IN IP4 0.0.0.0',
    'a=candidate:1 1 udp 2113937151 0b6c-4f.local 51234 typ host generation 0 network-cost 999',
    'a=candidate:2 1 tcp 2113937151 10.0.0.2 9 typ host tcptype active generation 0',
    'a=ice-ufrag:Ab+9', 'a=ice-pwd:abcdefghijklmnopqrstuvwx', 'a=ice-options:trickle',
    `a=fingerprint:${fp}`, 'a=setup:actpass', 'a=mid:0', 'a=sctp-port:5000', 'a=max-message-size:262144', '',
  ].join('\r\n');
  const f = fromDescription(desc);
  assert.deepEqual(f, { ufrag: 'Ab+9', pwd: 'abcdefghijklmnopqrstuvwx', fp, setup: 'actpass', mms: 262144, c: ['candidate:1 1 udp 2113937151 0b6c-4f.local 51234 typ host generation 0 network-cost 999'] });
  const text = encode({ r: 'offer', id: 'g-abcdefgh', name: 'Ana', kind: 'guest', ...f });
  assert.ok(text.startsWith('FERRY-PAIR-1:'));
  assert.equal(decode(`  ${text}\n`).name, 'Ana');
  assert.throws(() => fromDescription(desc.replace('a=mid:0', 'a=mid:data')), /mid/);
});
