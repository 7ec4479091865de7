// The worker of DiskStore (store.js): it writes received chunks into OPFS
// with synchronous access handles, one file per file of a transfer, named
// TRANSFER-INDEX in the folder "ferry", where the service worker finds
// them. Messages are handled strictly in order.

let queue = Promise.resolve();
let folder = null;
const open = new Map(); // TRANSFER-INDEX -> FileSystemSyncAccessHandle
const failed = new Map(); // TRANSFER-INDEX -> the first write error

async function dir() {
  folder ??= await (await navigator.storage.getDirectory()).getDirectoryHandle('ferry', { create: true });
  return folder;
}

// handle opens a file for writing. A file whose first write is at 0
// starts empty; one taken up at a later offset (after the page reloaded)
// keeps what it holds.
async function handle(name, from = 0) {
  if (!open.has(name)) {
    const file = await (await dir()).getFileHandle(name, { create: true });
    const h = await file.createSyncAccessHandle();
    if (from === 0) h.truncate(0);
    open.set(name, h);
  }
  return open.get(name);
}

async function run(m) {
  const name = `${m.transfer}-${m.index}`;
  switch (m.op) {
    case 'write': {
      if (failed.has(name)) return;
      try {
        const h = await handle(name, m.offset);
        const n = h.write(m.bytes, { at: m.offset });
        if (n !== m.bytes.length) throw new Error(`wrote ${n} of ${m.bytes.length} bytes: the disk may be full`);
      } catch (err) {
        failed.set(name, err.name === 'QuotaExceededError' ? "this browser's storage for the page is full: free some space, or receive on a computer running ferry" : err.message);
      }
      return;
    }
    case 'close': {
      if (failed.has(name)) throw new Error(failed.get(name));
      const h = await handle(name, 1); // a file of 0 bytes has had no write; keep what one holds
      h.flush();
      const size = h.getSize();
      h.close();
      open.delete(name);
      return { size };
    }
    case 'remove': {
      // The files of the transfer still being written go; verified ones,
      // closed already, stay for saving.
      const d = await dir();
      for (const [key, h] of open) {
        if (!key.startsWith(`${m.transfer}-`)) continue;
        h.close();
        open.delete(key);
        failed.delete(key);
        await d.removeEntry(key);
      }
      return {};
    }
    case 'flush': {
      // Every write before this message is done; this makes it durable.
      for (const [key, h] of open) if (key.startsWith(`${m.transfer}-`)) h.flush();
      return {};
    }
    case 'clear': {
      // What earlier visits left goes, but for the transfers in keep.
      const d = await dir();
      for await (const name of d.keys()) {
        if (!m.keep?.some((id) => name.startsWith(`${id}-`))) await d.removeEntry(name).catch(() => {});
      }
      return {};
    }
  }
  return {};
}

self.onmessage = (e) => {
  const m = e.data;
  queue = queue.then(() => run(m)).then(
    (r) => m.id && self.postMessage({ id: m.id, ...r }),
    (err) => m.id && self.postMessage({ id: m.id, error: err.message || String(err) }),
  );
};
