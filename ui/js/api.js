// Calls to the daemon's owner API. Every call resolves to {ok, data} or
// {ok: false, error} with the daemon's own words, so views can show the
// error next to what caused it.

export async function call(method, path, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    return { ok: false, error: 'The daemon does not answer. Is ferry still running?' };
  }
  let data = null;
  try {
    data = await res.json();
  } catch {
    // an answer without JSON: the status says it
  }
  if (!res.ok) return { ok: false, error: (data && data.error) || `The daemon answered ${res.status} ${res.statusText}` };
  return { ok: true, data };
}

export const get = (path) => call('GET', path);
export const post = (path, body = {}) => call('POST', path, body);

/**
 * upload streams one file to an upload on the daemon, reporting bytes sent
 * through progress(loaded). It resolves like call.
 */
export function upload(id, path, file, progress) {
  return new Promise((resolve) => {
    const x = new XMLHttpRequest();
    x.open('PUT', `/api/uploads/${encodeURIComponent(id)}?path=${encodeURIComponent(path)}`);
    x.setRequestHeader('Content-Type', 'application/octet-stream');
    x.upload.onprogress = (e) => progress && progress(e.loaded);
    x.onload = () => {
      let data = null;
      try {
        data = JSON.parse(x.responseText);
      } catch {
        // handled below
      }
      if (x.status >= 200 && x.status < 300) resolve({ ok: true, data });
      else resolve({ ok: false, error: (data && data.error) || `The daemon answered ${x.status}` });
    };
    x.onerror = () => resolve({ ok: false, error: `The upload of ${path} broke off. Is ferry still running?` });
    x.send(file);
  });
}
