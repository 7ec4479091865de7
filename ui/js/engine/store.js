// Where a receiving page keeps a file from its first byte until its person
// saves it.
//
// A plain-HTTP page on a LAN address is not a secure context: it has no
// origin private file system (OPFS) and no service worker, so it keeps
// files in memory, up to a limit it states. A secure page (localhost, or
// HTTPS) writes them to OPFS from a worker, with a synchronous access
// handle, and its service worker (/sw.js) serves each finished file from
// there to the browser's download as a stream, so a file of any size costs
// no memory.

/** MemoryStore keeps files as lists of chunks, and a finished one as a Blob. */
export class MemoryStore {
  constructor(limit) {
    this.kind = 'memory';
    this.limit = limit; // bytes one transfer may hold
    this.files = new Map();
  }

  write(transfer, index, offset, bytes) {
    const key = `${transfer}/${index}`;
    if (!this.files.has(key) || offset === 0) this.files.set(key, []); // from 0: the file starts over
    this.files.get(key).push(bytes);
  }

  async finish(transfer, index) {
    const key = `${transfer}/${index}`;
    const blob = new Blob(this.files.get(key) || []);
    this.files.delete(key);
    return { url: URL.createObjectURL(blob), size: blob.size };
  }

  discard(transfer) {
    for (const key of [...this.files.keys()]) if (key.startsWith(`${transfer}/`)) this.files.delete(key);
  }
}

/**
 * DiskStore writes files to OPFS through a worker; the service worker
 * serves them, or, where the browser refuses the page a service worker, a
 * blob URL of the file on disk, which the browser also reads from disk.
 */
export class DiskStore {
  constructor(worker, free, served = true) {
    this.kind = 'disk';
    this.served = served;
    this.limit = free; // bytes the browser lets this page store, less what it holds
    this.worker = worker;
    this.calls = new Map();
    this.next = 1;
    worker.onmessage = (e) => {
      const { id, error, size } = e.data;
      const call = this.calls.get(id);
      if (!call) return;
      this.calls.delete(id);
      if (error) call.fail(new Error(error));
      else call.ok(size);
    };
  }

  /**
   * open returns a DiskStore where the page can have one (a secure context
   * with OPFS and workers), or null. It clears what earlier visits left:
   * their links are gone. Chromium refuses a service worker to a page whose
   * certificate a person clicked through (docs/https.md); such a page saves
   * from blob URLs instead.
   */
  static async open(keep = []) {
    if (!globalThis.isSecureContext || !navigator.storage?.getDirectory || typeof Worker === 'undefined') return null;
    try {
      let served = false;
      if (navigator.serviceWorker) {
        served = await navigator.serviceWorker.register('/sw.js', { type: 'module' }).then(() => true, () => false);
      }
      if (served) {
        await navigator.serviceWorker.ready;
        if (!navigator.serviceWorker.controller) {
          await new Promise((ok) => navigator.serviceWorker.addEventListener('controllerchange', ok, { once: true }));
        }
      }
      const store = new DiskStore(new Worker('/js/engine/disk-worker.js', { type: 'module' }), 0, served);
      await store.call({ op: 'clear', keep });
      await store.refresh();
      return store;
    } catch (err) {
      console.warn(`ferry: received files stay in memory: ${err.message}`);
      return null;
    }
  }

  async refresh() {
    const { quota = 0, usage = 0 } = await navigator.storage.estimate();
    this.limit = Math.max(0, quota - usage);
  }

  call(msg, transfer) {
    const id = this.next++;
    return new Promise((ok, fail) => {
      this.calls.set(id, { ok, fail });
      this.worker.postMessage({ ...msg, id }, transfer || []);
    });
  }

  write(transfer, index, offset, bytes) {
    // Errors come back on the file's finish, which waits for every write.
    this.worker.postMessage({ op: 'write', transfer, index, offset, bytes }, [bytes.buffer]);
  }

  async finish(transfer, index, name) {
    const size = await this.call({ op: 'close', transfer, index });
    this.refresh();
    return { url: await this.url(transfer, index, name), size };
  }

  /** url is where the person saves a stored file from. */
  async url(transfer, index, name) {
    if (this.served) return `/download/${transfer}/${index}/${encodeURIComponent(name)}`;
    const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle('ferry');
    return URL.createObjectURL(await (await dir.getFileHandle(`${transfer}-${index}`)).getFile());
  }

  /** sync resolves once every write of transfer so far is on disk. */
  sync(transfer) {
    return this.call({ op: 'flush', transfer });
  }

  discard(transfer) {
    this.call({ op: 'remove', transfer }).catch(() => {});
  }
}
