/*
 * storage.mjs — the tablet's device record in IndexedDB: {device, seat, server_key,
 * keyPair}. IndexedDB keeps CryptoKey objects as they are, so the private key,
 * generated with extractable=false, stays unreadable: the page can sign with it
 * but nobody, not even this script, can read it out. Nothing else is stored: a
 * ballot, before the server acknowledges it, lives in memory only.
 */

const DB_NAME = "voting-kiosk";
const STORE = "device";
const RECORD = "current";

function openDb() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function storeOp(mode, work) {
  const db = await openDb();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const request = work(tx.objectStore(STORE));
    tx.oncomplete = () => {
      db.close();
      resolve(request.result);
    };
    tx.onerror = () => reject(tx.error);
  });
}

export const loadDevice = () => storeOp("readonly", (s) => s.get(RECORD));
export const saveDevice = (record) => storeOp("readwrite", (s) => s.put(record, RECORD));
export const forgetDevice = () => storeOp("readwrite", (s) => s.delete(RECORD));

/** A new device key pair: P-256, the private half not extractable. */
export function generateDeviceKey() {
  return globalThis.crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
}
