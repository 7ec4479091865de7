// The owner's dashboard: one state from the daemon's event stream, views
// that render from it, and the forms that act through the API.
import { connect } from './stream.js';
import { initialState, reduce, newOffers } from './state.js';
import { renderDevice } from './views/device.js';
import { renderNearby, wireConnect } from './views/nearby.js';
import { renderIncoming, renderTransfers } from './views/transfers.js';
import { renderRooms, wireRooms } from './views/rooms.js';
import { renderMessages, wireMessages, focusMessageTo } from './views/messages.js';
import { renderSettings, wireSettings } from './views/settings.js';
import { initSend, sendButton, dropTarget } from './send.js';

let state = initialState();
const ctx = { sendButton, dropTarget, messageTo: focusMessageTo };

function dispatch(event) {
  const prev = state;
  state = reduce(state, event);
  if (state !== prev) {
    render();
    notifyOffers(prev);
  }
}

function render() {
  const pill = document.getElementById('link-state');
  pill.textContent = state.connected ? 'Connected' : 'Reconnecting to the daemon…';
  pill.className = `pill ${state.connected ? 'up' : 'down'}`;
  document.getElementById('restarted').hidden = !state.restarted;
  renderDevice(state);
  renderIncoming(state);
  renderNearby(state, ctx);
  renderTransfers(state);
  renderRooms(state, ctx);
  renderMessages(state);
  renderSettings(state);
}

function notifyOffers(prev) {
  if (!document.hidden || typeof Notification === 'undefined' || Notification.permission !== 'granted') return;
  for (const id of newOffers(prev, state)) {
    const t = state.transfers.find((x) => x.id === id);
    if (t) new Notification(`${t.peerName || 'A device'} wants to send you files`, { body: (t.items || []).slice(0, 3).join(', '), tag: id });
  }
}

function wireNotify() {
  const b = document.getElementById('notify');
  if (typeof Notification === 'undefined') {
    b.hidden = true;
    return;
  }
  const show = () => {
    b.disabled = Notification.permission !== 'default';
    b.textContent = Notification.permission === 'granted' ? 'You are notified of incoming files' : Notification.permission === 'denied' ? 'Notifications are blocked in this browser' : 'Notify me of incoming files';
  };
  b.addEventListener('click', () => Notification.requestPermission().then(show));
  show();
}

initSend(() => render());
wireConnect();
wireRooms();
wireMessages();
wireSettings();
wireNotify();
render();
connect(dispatch);
