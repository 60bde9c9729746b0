/*
 * trustees/hashing.mjs — H and Hq and the encodings of their parts
 * (docs/trustee-crypto.md, "Hashes"): H(key; parts…) = HMAC-SHA-256, Hq = HMAC-SHA-512
 * read little-endian and reduced mod ℓ. Each part is already bytes: build them with
 * sep / int / text / element / scalar below.
 */
import { concatBytes, hmac, sha256, sha512, utf8ToBytes } from "../vendor/noble.mjs";
import { TrusteeCryptoError, elementBytes, reduceWide, scalarBytes } from "./group.mjs";

/** The constant key of the ceremony hash. */
export const ROOT_KEY = utf8ToBytes("congress-evote trustees v1");

/** A one-byte domain separator. */
export function sep(byte) {
  return Uint8Array.of(byte);
}

/** An index or count: 4 bytes big-endian; precondition 0 ≤ n < 2^31, an integer. */
export function int(n, field = "int") {
  if (!Number.isInteger(n) || n < 0 || n >= 2 ** 31) {
    throw new TrusteeCryptoError(field, `not an integer in [0, 2^31): ${n}`);
  }
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n, false);
  return out;
}

/** Text: a 4-byte big-endian length, then its UTF-8. */
export function text(value, field = "text") {
  if (typeof value !== "string") throw new TrusteeCryptoError(field, "not a string");
  const bytes = utf8ToBytes(value);
  return concatBytes(int(bytes.length, field), bytes);
}

export const element = elementBytes;
export const scalar = scalarBytes;

function keyBytes(key) {
  return typeof key === "string" ? utf8ToBytes(key) : key;
}

/** H(key; parts…): HMAC-SHA-256, 32 bytes. */
export function H(key, ...parts) {
  return hmac(sha256, keyBytes(key), concatBytes(...parts));
}

/** Hq(key; parts…): HMAC-SHA-512 as a 512-bit little-endian integer mod ℓ. */
export function Hq(key, ...parts) {
  return reduceWide(hmac(sha512, keyBytes(key), concatBytes(...parts)));
}
