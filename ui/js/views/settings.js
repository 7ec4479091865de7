// The owner's settings, saved to config.json.
import { say } from '../dom.js';
import { post } from '../api.js';

const NAMES = { name: 'the name', downloads: 'the downloads folder', port: 'the port', https: 'the HTTPS setting', httpsPort: 'the HTTPS port' };

let shown = ''; // the settings last put into the form, so edits in progress survive updates

export function renderSettings(state) {
  const s = state.settings;
  if (!s) return;
  const key = JSON.stringify(s);
  if (key === shown) return;
  shown = key;
  const f = document.getElementById('settings-form').elements;
  f.devicename.value = s.name;
  f.folder.value = s.downloads;
  f.listenport.value = String(s.port);
  f.https.checked = !!s.https;
  // Empty is the port after the port, which the placeholder shows.
  f.httpsport.value = s.httpsPort ? String(s.httpsPort) : '';
  f.httpsport.placeholder = String(s.port + 1);
  for (const r of f.accept) r.checked = r.value === s.accept;
}

export function wireSettings() {
  const form = document.getElementById('settings-form');
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = form.elements;
    const body = {
      name: f.devicename.value, downloads: f.folder.value, accept: f.accept.value, port: Number(f.listenport.value),
      https: f.https.checked, httpsPort: Number(f.httpsport.value) || 0,
    };
    const r = await post('/api/settings', body);
    if (!r.ok) return say('settings-note', r.error);
    const later = (r.data.restart || []).map((k) => NAMES[k] || k);
    say(
      'settings-note',
      later.length ? `Saved. The new ${later.join(', ').replace(/the /g, '')} take${later.length === 1 ? 's' : ''} effect when ferry restarts.` : 'Saved.',
      later.length ? 'warn' : 'ok',
    );
  });
}
