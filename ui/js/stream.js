// The daemon's event stream. EventSource reconnects by itself; every
// (re)connection starts with a full snapshot, so the page never asks for
// anything else and never polls.

const TYPES = ['snapshot', 'status', 'peers', 'rooms', 'transfers', 'messages'];

/** connect feeds dispatch({type, data, at}) from /api/events until the page closes. */
export function connect(dispatch, url = '/api/events') {
  const es = new EventSource(url);
  es.onopen = () => dispatch({ type: 'open', data: null, at: Date.now() });
  es.onerror = () => dispatch({ type: 'lost', data: null, at: Date.now() });
  for (const type of TYPES) {
    es.addEventListener(type, (e) => {
      let data;
      try {
        data = JSON.parse(e.data);
      } catch {
        return;
      }
      dispatch({ type, data, at: Date.now() });
    });
  }
  return es;
}
