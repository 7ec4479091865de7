// The guest page's service worker, in secure contexts only. It hands files
// the page received to the browser's download: /download/TRANSFER/INDEX/NAME
// answers with the file the page's worker wrote to OPFS, streamed from
// disk. Everything else goes to the network as usual.

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()));

self.addEventListener('fetch', (e) => {
  const url = new URL(e.request.url);
  if (url.origin !== self.location.origin || !url.pathname.startsWith('/download/')) return;
  e.respondWith(serve(url.pathname));
});

const TRANSFER = /^[a-z0-9]{8,32}$/;

async function serve(path) {
  const [, , transfer, index, name = 'download'] = path.split('/');
  if (!TRANSFER.test(transfer || '') || !/^\d{1,6}$/.test(index || '')) return gone('There is no such file.');
  try {
    const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle('ferry');
    const file = await (await dir.getFileHandle(`${transfer}-${index}`)).getFile();
    return new Response(file, {
      headers: {
        'Content-Type': 'application/octet-stream',
        'Content-Length': String(file.size),
        'Content-Disposition': `attachment; filename*=UTF-8''${encodeURIComponent(decodeURIComponent(name))}`,
        'Cache-Control': 'no-store',
      },
    });
  } catch {
    return gone('This file is no longer kept by the page: files are kept until the page is closed or reloaded.');
  }
}

function gone(text) {
  return new Response(text, { status: 404, headers: { 'Content-Type': 'text/plain; charset=utf-8' } });
}
