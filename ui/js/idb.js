// The page's IndexedDB database: its DTLS certificate ("keys") and the
// state of transfers it receives into the browser's storage
// ("transfers"), so both outlive a reload.

const STORES = ['keys', 'transfers'];

function open() {
  return new Promise((ok, fail) => {
    const req = indexedDB.open('ferry', 2);
    req.onupgradeneeded = () => {
      for (const name of STORES) if (!req.result.objectStoreNames.contains(name)) req.result.createObjectStore(name);
    };
    req.onsuccess = () => ok(req.result);
    req.onerror = () => fail(req.error);
  });
}

/** request runs one request on store and returns its result. */
async function request(store, mode, make) {
  const db = await open();
  try {
    return await new Promise((ok, fail) => {
      const tx = db.transaction(store, mode);
      const req = make(tx.objectStore(store));
      let result;
      req.onsuccess = () => (result = req.result);
      tx.oncomplete = () => ok(result);
      tx.onerror = () => fail(tx.error);
      tx.onabort = () => fail(tx.error);
    });
  } finally {
    db.close();
  }
}

export const idbGet = (store, key) => request(store, 'readonly', (s) => s.get(key));
export const idbPut = (store, key, value) => request(store, 'readwrite', (s) => s.put(value, key));
export const idbDelete = (store, key) => request(store, 'readwrite', (s) => s.delete(key));
export const idbAll = (store) => request(store, 'readonly', (s) => s.getAll());
