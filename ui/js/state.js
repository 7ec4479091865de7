// The dashboard's state: one object, changed only by reduce, from the
// daemon's event stream. Views render from it; nothing here touches the DOM.

/** How far back the speed of a transfer is measured, in milliseconds. */
export const SPEED_WINDOW = 3000;

/** initialState is the state before the stream has said anything. */
export function initialState() {
  return {
    connected: false,
    boot: '', // changes when the daemon restarts
    restarted: false,
    status: null,
    settings: null,
    peers: [],
    nearby: [],
    rooms: [],
    transfers: [],
    messages: [],
    samples: {}, // transfer ID -> [[time, bytes done], ...] within SPEED_WINDOW
  };
}

/**
 * reduce returns the state after event, an object {type, data, at} where at
 * is the time it arrived (milliseconds). It never changes state in place.
 */
export function reduce(state, event) {
  const d = event.data;
  switch (event.type) {
    case 'open':
      return { ...state, connected: true };
    case 'lost':
      return { ...state, connected: false };
    case 'snapshot': {
      const restarted = state.boot !== '' && state.boot !== d.boot;
      const next = {
        ...state,
        connected: true,
        boot: d.boot,
        restarted: restarted || state.restarted,
        status: d.status,
        settings: d.settings || null,
        peers: d.peers || [],
        nearby: d.rooms?.nearby || [],
        rooms: d.rooms?.rooms || [],
        messages: d.messages || [],
        samples: restarted ? {} : state.samples,
      };
      return withTransfers(next, d.transfers || [], event.at);
    }
    case 'status':
      return { ...state, status: d.status, settings: d.settings };
    case 'peers':
      return { ...state, peers: d || [] };
    case 'rooms':
      return { ...state, nearby: d.nearby || [], rooms: d.rooms || [] };
    case 'transfers':
      return withTransfers(state, d || [], event.at);
    case 'messages':
      return { ...state, messages: d || [] };
  }
  return state;
}

function withTransfers(state, transfers, at) {
  const samples = {};
  for (const t of transfers) {
    if (t.state !== 'active') continue;
    const old = (state.samples[t.id] || []).filter(([when]) => at - when <= SPEED_WINDOW);
    const last = old[old.length - 1];
    if (!last || last[0] !== at) old.push([at, t.done]);
    samples[t.id] = old;
  }
  return { ...state, transfers, samples };
}

/** speed is a transfer's bytes per second over the last SPEED_WINDOW, or 0. */
export function speed(state, id) {
  const s = state.samples[id];
  if (!s || s.length < 2) return 0;
  const [t0, b0] = s[0];
  const [t1, b1] = s[s.length - 1];
  return t1 > t0 ? ((b1 - b0) * 1000) / (t1 - t0) : 0;
}

/** incoming returns the offers waiting for the owner, oldest first. */
export function incoming(state) {
  return state.transfers
    .filter((t) => t.direction === 'in' && t.state === 'pending')
    .sort((a, b) => Date.parse(a.started) - Date.parse(b.started));
}

/** current returns the transfers still under way, newest first. */
export function current(state) {
  return state.transfers.filter((t) => !isFinal(t.state) && !(t.direction === 'in' && t.state === 'pending'));
}

/** history returns the transfers that ended, newest first. */
export function history(state) {
  return state.transfers.filter((t) => isFinal(t.state));
}

/** isFinal reports whether a transfer in state s has ended. */
export function isFinal(s) {
  return ['done', 'declined', 'expired', 'cancelled', 'failed'].includes(s);
}

/** newMessages lists the messages received in next that prev did not have. */
export function newMessages(prev, next) {
  const had = new Set(prev.messages.map((m) => m.id));
  return next.messages.filter((m) => m.direction === 'in' && !had.has(m.id));
}

/** newOffers lists the IDs of pending offers in next that prev did not have. */
export function newOffers(prev, next) {
  const had = new Set(incoming(prev).map((t) => t.id));
  return incoming(next)
    .filter((t) => !had.has(t.id))
    .map((t) => t.id);
}
