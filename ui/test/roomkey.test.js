import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { hmacSha256, fingerprints, sign, check, checkPeer, deviceID, secretFromHash, newSecret, validSecret, covers, trust } from '../js/roomkey.js';

const hex = (b) => Buffer.from(b).toString('hex');
const bytes = (s) => new TextEncoder().encode(s);

test('HMAC-SHA-256 gives RFC 4231 test cases 1, 2 and 6', () => {
  assert.equal(hex(hmacSha256(new Uint8Array(20).fill(0x0b), bytes('Hi There'))),
    'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7');
  assert.equal(hex(hmacSha256(bytes('Jefe'), bytes('what do ya want for nothing?'))),
    '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
  // A key longer than a block is hashed first.
  assert.equal(hex(hmacSha256(new Uint8Array(131).fill(0xaa), bytes('Test Using Larger Than Block-Size Key - Hash Key First'))),
    '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54');
});

test('HMAC-SHA-256 agrees with node:crypto for keys and messages of many lengths', () => {
  for (const kl of [0, 1, 31, 32, 63, 64, 65, 200]) {
    for (const ml of [0, 1, 55, 56, 64, 1000]) {
      const key = Uint8Array.from({ length: kl }, (_, i) => (i * 7 + kl) & 255);
      const msg = Uint8Array.from({ length: ml }, (_, i) => (i * 13 + ml) & 255);
      assert.equal(hex(hmacSha256(key, msg)), createHmac('sha256', key).update(msg).digest('hex'), `key ${kl}, message ${ml}`);
    }
  }
});

const sdp = [
  'v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0',
  'a=fingerprint:sha-256 AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89',
  'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'a=setup:actpass', '',
].join('\r\n');

test('fingerprints reads every fingerprint line, in lower case', () => {
  assert.equal(fingerprints(sdp), 'sha-256 ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89');
  assert.equal(fingerprints(`${sdp}a=fingerprint:sha-1 00:11\r\n`).split(',').length, 2);
  assert.equal(fingerprints('v=0\r\n'), '');
});

test('a signed offer checks out, and any change to what is signed is caught', () => {
  const secret = newSecret();
  assert.ok(validSecret(secret));
  const m = { type: 'offer', conn: 'c1', session: 17, sdp };
  m.sig = sign(secret, { room: 'ABCD2345', ...m });
  assert.match(m.sig, /^[0-9a-f]{64}$/);
  assert.equal(check(secret, 'ABCD2345', m), '');
  // What a relay could change: the fingerprint, an added fingerprint, the
  // session, the connection, the type; and the room and secret it is checked with.
  const swapped = sdp.replace('AB:CD:EF:01', 'AB:CD:EF:02');
  assert.equal(check(secret, 'ABCD2345', { ...m, sdp: swapped }), 'mismatch');
  assert.equal(check(secret, 'ABCD2345', { ...m, sdp: `${sdp}a=fingerprint:sha-256 00\r\n` }), 'mismatch');
  assert.equal(check(secret, 'ABCD2345', { ...m, session: 18 }), 'mismatch');
  assert.equal(check(secret, 'ABCD2345', { ...m, conn: 'c2' }), 'mismatch');
  assert.equal(check(secret, 'ABCD2345', { ...m, type: 'answer' }), 'mismatch');
  assert.equal(check(secret, 'ABCD2346', m), 'mismatch');
  assert.equal(check(newSecret(), 'ABCD2345', m), 'mismatch');
  assert.equal(check(secret, 'ABCD2345', { ...m, sig: m.sig.slice(1) }), 'mismatch');
  assert.equal(check(secret, 'ABCD2345', { ...m, sig: undefined }), 'unsigned');
  // What is not signed may change: lines other than the fingerprint.
  assert.equal(check(secret, 'ABCD2345', { ...m, sdp: sdp.replace('a=setup:actpass', 'a=setup:active') }), '');
});

test('the secret is read from a link fragment only in its form', () => {
  const s = newSecret();
  assert.equal(secretFromHash(`#s=${s}`), s);
  assert.equal(secretFromHash(`s=${s}`), s);
  assert.equal(secretFromHash(`#x=1&s=${s}`), s);
  assert.equal(secretFromHash('#s=short'), '');
  assert.equal(secretFromHash(`#s=${s.toUpperCase()}`), '');
  assert.equal(secretFromHash(''), '');
  assert.notEqual(newSecret(), newSecret());
});

test('only browsers in a room whose secret the page holds are covered', () => {
  trust.isDaemon = (id) => id === 'daemon-id';
  trust.room = '';
  trust.secret = '';
  assert.equal(covers('g-one'), false);
  trust.room = 'ABCD2345';
  assert.equal(covers('g-one'), false, 'joined by the code alone');
  trust.secret = newSecret();
  assert.equal(covers('g-one'), true);
  assert.equal(covers('daemon-id'), false);
  trust.room = '';
  trust.secret = '';
});

// base32 spells bytes as RFC 4648 base32 without padding, by way of one
// big number: another way than deviceID's.
function base32(b) {
  const A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const bits = b.length * 8;
  const n = Math.ceil(bits / 5);
  let v = BigInt(`0x${Buffer.from(b).toString('hex')}`) << BigInt(n * 5 - bits);
  let out = '';
  for (let i = 0; i < n; i++, v >>= 5n) out = A[Number(v & 31n)] + out;
  return out;
}

test('a computer must show the certificate of its device ID', () => {
  const fp = Uint8Array.from({ length: 32 }, (_, i) => (i * 37 + 5) & 255);
  const line = `a=fingerprint:sha-256 ${Array.from(fp, (x) => x.toString(16).padStart(2, '0').toUpperCase()).join(':')}`;
  const id = base32(fp);
  assert.equal(id.length, 52);
  const offer = { type: 'offer', conn: 'c', session: 1, sdp: `v=0\r\n${line}\r\n` };
  assert.equal(deviceID(offer.sdp), id);
  trust.isDaemon = (p) => p === id || p === 'OTHER';
  assert.equal(checkPeer(id, offer), '');
  assert.equal(checkPeer('OTHER', offer), 'not-device');
  assert.equal(checkPeer(id, { ...offer, sdp: offer.sdp.replace(':2A:', ':2B:') }), 'not-device', 'a swapped fingerprint');
  assert.equal(checkPeer(id, { ...offer, sdp: `${offer.sdp}${line}\r\n` }), 'not-device', 'two fingerprints');
  assert.equal(checkPeer(id, { ...offer, sdp: 'v=0\r\n' }), 'not-device', 'no fingerprint');
  // Not a computer, no room: nothing to check.
  assert.equal(checkPeer('g-someone', { ...offer, sdp: 'v=0\r\n' }), '');
  trust.isDaemon = () => false;
});

test('a browser paired by hand must show the fingerprint of its pairing text', () => {
  const fp = `sha-256 ${Array(32).fill('AB').join(':')}`;
  trust.pairedFingerprint = (id) => (id === 'g-paired' ? fp : '');
  trust.room = 'ABCD2345';
  trust.secret = newSecret();
  assert.equal(covers('g-paired'), false, 'pairing, not the room, vouches for it');
  assert.equal(checkPeer('g-paired', { type: 'offer', conn: 'c', session: 1, sdp: `a=fingerprint:${fp.toLowerCase()}\r\n` }), '');
  assert.equal(checkPeer('g-paired', { type: 'offer', conn: 'c', session: 1, sdp: `a=fingerprint:${fp.replace('AB', 'AC')}\r\n` }), 'not-paired');
  assert.equal(checkPeer('g-other', { type: 'offer', conn: 'c', session: 1, sdp: `a=fingerprint:${fp}\r\n` }), 'unsigned');
  trust.pairedFingerprint = () => '';
  trust.room = '';
  trust.secret = '';
});
