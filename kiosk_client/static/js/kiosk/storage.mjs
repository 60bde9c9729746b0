/*
 * storage.mjs — the tablet's device record in IndexedDB: {device, seat, server_key,
 * keyPair}. IndexedDB keeps CryptoKey objects as they are, so the private key,
 * generated with extractable=false, stays unreadable: the page can sign with it
 * but nobody, not even this script, can read it out. Nothing else is stored: a
 * ballot, before the server acknowledges it, lives in memory only.
 */

/**
 * One object store of one IndexedDB database, opened per operation: `op(mode, work)`
 * runs `work(store)` in a transaction and resolves to its request's result once the
 * transaction completes. The tablet's device record and the scrutineer's page's
 * secrets (voting_server/static/js/trustee.js) are both kept this way.
 */
export function objectStore(dbName, storeName) {
  function openDb() {
    return new Promise((resolve, reject) => {
      const request = indexedDB.open(dbName, 1);
      request.onupgradeneeded = () => request.result.createObjectStore(storeName);
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }
  return async function op(mode, work) {
    const db = await openDb();
    return new Promise((resolve, reject) => {
      const tx = db.transaction(storeName, mode);
      const request = work(tx.objectStore(storeName));
      tx.oncomplete = () => {
        db.close();
        resolve(request.result);
      };
      tx.onerror = () => reject(tx.error);
    });
  };
}

const RECORD = "current";
const storeOp = objectStore("voting-kiosk", "device");

export const loadDevice = () => storeOp("readonly", (s) => s.get(RECORD));
export const saveDevice = (record) => storeOp("readwrite", (s) => s.put(record, RECORD));
export const forgetDevice = () => storeOp("readwrite", (s) => s.delete(RECORD));

/** A new device key pair: P-256, the private half not extractable. */
export function generateDeviceKey() {
  return globalThis.crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
}
