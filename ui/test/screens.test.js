import { test } from 'node:test';
import assert from 'node:assert/strict';
import { screenFor, roomProblem, peerLeft, LOST_ADVICE } from '../js/guest/screens.js';

const base = { webrtc: true, daemon: 'laptop', everConnected: true, connected: true, downFor: 0, others: 2, room: '', transfers: 0 };

test('all well: nothing at the top', () => {
  assert.equal(screenFor(base), null);
  assert.equal(screenFor({ ...base, others: 0, room: 'ABCD2345' }), null, 'an empty room shows its own card');
  assert.equal(screenFor({ ...base, others: 0, transfers: 1 }), null);
});

test('a browser without WebRTC is told so before anything else', () => {
  const s = screenFor({ ...base, webrtc: false, connected: false, everConnected: false });
  assert.equal(s.kind, 'error');
  assert.match(s.text, /WebRTC/);
  assert.match(s.text, /Firefox, Chrome, Edge or Safari/);
});

test('the first connection: connecting, then advice', () => {
  const first = { ...base, everConnected: false, connected: false };
  assert.equal(screenFor({ ...first, downFor: 1 }).kind, 'connecting');
  assert.match(screenFor({ ...first, downFor: 1 }).title, /Connecting to laptop/);
  const late = screenFor({ ...first, downFor: LOST_ADVICE });
  assert.equal(late.kind, 'error');
  assert.match(late.title, /Cannot reach laptop/);
  assert.match(late.text, /same Wi-Fi/);
});

test('a lost connection: reconnecting, then advice; transfers go on', () => {
  const lost = { ...base, connected: false };
  assert.equal(screenFor({ ...lost, downFor: 2 }).kind, 'connecting');
  assert.match(screenFor({ ...lost, downFor: 2 }).text, /continue/);
  assert.equal(screenFor({ ...lost, downFor: LOST_ADVICE + 1 }).kind, 'error');
  assert.match(screenFor({ ...lost, downFor: LOST_ADVICE + 1 }).text, /still on the Wi-Fi/);
});

test('nobody else yet: the landing says what to do', () => {
  const s = screenFor({ ...base, others: 0 });
  assert.equal(s.kind, 'landing');
  assert.match(s.text, /scan the QR code/);
  assert.match(s.text, /pair by code/);
});

test('room problems and a peer that left have words', () => {
  assert.match(roomProblem('no-room', 'ABCD2345'), /No room ABCD2345.*mistyped.*ended/);
  assert.match(roomProblem('room-full'), /full/);
  assert.match(roomProblem('too-many'), /wait/);
  assert.equal(roomProblem('something-else'), '');
  assert.equal(peerLeft('Ana'), 'Ana has left: their page was closed or lost the network.');
  assert.match(peerLeft(undefined), /^That person has left/);
});
