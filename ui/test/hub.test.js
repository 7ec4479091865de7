import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { Hub, PING_EVERY, PONG_WAIT } from '../js/hub.js';

// FakeSocket stands for the browser's WebSocket: it records what the page
// sends, and the test plays the daemon's side.
class FakeSocket {
  static CONNECTING = 0;
  static OPEN = 1;
  static all = [];
  constructor(url) {
    this.url = url;
    this.readyState = FakeSocket.CONNECTING;
    this.sent = [];
    this.closed = false;
    FakeSocket.all.push(this);
  }
  send(s) {
    this.sent.push(JSON.parse(s));
  }
  close() {
    this.closed = true;
  }
  // what the daemon does
  accept() {
    this.readyState = FakeSocket.OPEN;
    this.onopen();
    this.onmessage({ data: JSON.stringify({ v: 1, type: 'welcome', from: 'DAEMON', name: 'laptop' }) });
  }
}

test('a hub connection that stops answering is opened again; one that answers is kept', () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  globalThis.WebSocket = FakeSocket;
  FakeSocket.all = [];
  try {
    const hub = new Hub({ url: 'ws://laptop/ws', id: 'g-abcdefgh', name: 'phone' });
    const states = [];
    hub.addEventListener('state', (e) => states.push(e.detail.connected));
    hub.start();
    const first = FakeSocket.all[0];
    first.accept();
    assert.deepEqual(first.sent.map((m) => m.type), ['hello']);
    assert.equal(hub.connected, true);

    // Quiet for PING_EVERY: a ping; a pong keeps the connection.
    mock.timers.tick(PING_EVERY);
    assert.deepEqual(first.sent.map((m) => m.type), ['hello', 'ping']);
    first.onmessage({ data: JSON.stringify({ v: 1, type: 'pong' }) });
    mock.timers.tick(PONG_WAIT);
    assert.equal(hub.connected, true);
    assert.equal(first.closed, false);

    // Next time nothing answers: the page gives the socket up and opens a new one.
    mock.timers.tick(PING_EVERY);
    assert.equal(first.sent.at(-1).type, 'ping');
    mock.timers.tick(PONG_WAIT);
    assert.equal(first.closed, true);
    assert.equal(hub.connected, false);
    assert.equal(hub.send({ type: 'text', to: 'x', text: 'y' }), false, 'nothing goes to a dead socket');
    mock.timers.tick(500);
    assert.equal(FakeSocket.all.length, 2);
    const second = FakeSocket.all[1];
    second.accept();
    assert.equal(hub.connected, true);
    assert.deepEqual(states, [true, false, true]);

    // The old socket's late close changes nothing.
    first.onclose();
    assert.equal(hub.connected, true);
    hub.stop();
  } finally {
    mock.timers.reset();
    delete globalThis.WebSocket;
  }
});
