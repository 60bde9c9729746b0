/*
 * trustees/backup.mjs — a trustee's backup file: its secrets for one ceremony
 * (seat, coefficients a_{i,·}, secret share s_i) encrypted under a passphrase the
 * trustee types (docs/trustee-crypto.md, end of "Key ceremony"): PBKDF2-HMAC-SHA-256,
 * 600,000 iterations, 16-byte random salt → AES-256-GCM, 12-byte random IV, the
 * file's header (format, kdf, cipher) as associated data. WebCrypto only; the file
 * never goes to the server. Format:
 *   {"format": "congress-evote trustee backup v1",
 *    "kdf": {"name": "PBKDF2-HMAC-SHA-256", "iterations": 600000, "salt": hex},
 *    "cipher": {"name": "AES-256-GCM", "iv": hex}, "ct": hex}
 * the plaintext the canonical JSON of
 *   {"ceremony": {"id", "n", "k"}, "seat", "coefficients": [hex…], "secret_share": hex|null}.
 */
import { canonical } from "../kiosk/statements.mjs";
import { bytesToHex, hexToBytes, utf8ToBytes } from "../vendor/noble.mjs";
import { TrusteeCryptoError, scalarFromHex, scalarToHex } from "./group.mjs";

export const BACKUP_FORMAT = "congress-evote trustee backup v1";
export const PBKDF2_ITERATIONS = 600000;
export const MIN_PASSPHRASE = 8;

async function passphraseKey(passphrase, salt, iterations, usage) {
  if (typeof passphrase !== "string" || [...passphrase].length < MIN_PASSPHRASE) {
    throw new TrusteeCryptoError("passphrase", `fewer than ${MIN_PASSPHRASE} characters`);
  }
  const subtle = globalThis.crypto.subtle;
  const base = await subtle.importKey("raw", utf8ToBytes(passphrase.normalize("NFC")), "PBKDF2", false, ["deriveKey"]);
  return subtle.deriveKey({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, base,
    { name: "AES-GCM", length: 256 }, false, [usage]);
}

function header(file) {
  return utf8ToBytes(canonical({ format: file.format, kdf: file.kdf, cipher: file.cipher }));
}

/**
 * The backup file's JSON text for `secrets` = `{ceremony: {id, n, k}, seat,
 * coefficients: [bigint…], secretShare: bigint | null}` under `passphrase`.
 */
export async function backupTrustee(secrets, passphrase) {
  const salt = globalThis.crypto.getRandomValues(new Uint8Array(16));
  const iv = globalThis.crypto.getRandomValues(new Uint8Array(12));
  const file = {
    format: BACKUP_FORMAT,
    kdf: { name: "PBKDF2-HMAC-SHA-256", iterations: PBKDF2_ITERATIONS, salt: bytesToHex(salt) },
    cipher: { name: "AES-256-GCM", iv: bytesToHex(iv) },
  };
  const record = {
    ceremony: { id: secrets.ceremony.id, n: secrets.ceremony.n, k: secrets.ceremony.k },
    seat: secrets.seat,
    coefficients: secrets.coefficients.map(scalarToHex),
    secret_share: secrets.secretShare === null ? null : scalarToHex(secrets.secretShare),
  };
  const key = await passphraseKey(passphrase, salt, PBKDF2_ITERATIONS, "encrypt");
  const plain = utf8ToBytes(canonical(record));
  const ct = await globalThis.crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: header(file) }, key, plain);
  plain.fill(0);
  return JSON.stringify({ ...file, ct: bytesToHex(new Uint8Array(ct)) });
}

/**
 * The secrets back from a backup file's text (the shape backupTrustee takes). Throws
 * naming the field for a malformed file, and "wrong passphrase or altered file" when
 * AES-GCM refuses.
 */
export async function restoreTrustee(text, passphrase) {
  let file;
  try {
    file = JSON.parse(text);
  } catch {
    throw new TrusteeCryptoError("backup", "not JSON");
  }
  if (file?.format !== BACKUP_FORMAT) throw new TrusteeCryptoError("backup.format", `not "${BACKUP_FORMAT}"`);
  if (file.kdf?.name !== "PBKDF2-HMAC-SHA-256" || file.kdf.iterations !== PBKDF2_ITERATIONS) {
    throw new TrusteeCryptoError("backup.kdf", `not PBKDF2-HMAC-SHA-256 with ${PBKDF2_ITERATIONS} iterations`);
  }
  if (file.cipher?.name !== "AES-256-GCM") throw new TrusteeCryptoError("backup.cipher", "not AES-256-GCM");
  const bytes = (value, field, length) => {
    if (typeof value !== "string" || !/^([0-9a-f]{2})+$/.test(value) || (length && value.length !== 2 * length)) {
      throw new TrusteeCryptoError(field, "not lowercase hex of the right length");
    }
    return hexToBytes(value);
  };
  const salt = bytes(file.kdf.salt, "backup.kdf.salt", 16);
  const iv = bytes(file.cipher.iv, "backup.cipher.iv", 12);
  const ct = bytes(file.ct, "backup.ct");
  const key = await passphraseKey(passphrase, salt, PBKDF2_ITERATIONS, "decrypt");
  let plain;
  try {
    plain = await globalThis.crypto.subtle.decrypt({ name: "AES-GCM", iv, additionalData: header(file) }, key, ct);
  } catch {
    throw new TrusteeCryptoError("backup", "wrong passphrase or altered file");
  }
  const record = JSON.parse(new TextDecoder().decode(plain));
  return {
    ceremony: record.ceremony,
    seat: record.seat,
    coefficients: record.coefficients.map((hex, j) => scalarFromHex(hex, `backup.coefficients[${j}]`)),
    secretShare: record.secret_share === null ? null : scalarFromHex(record.secret_share, "backup.secret_share"),
  };
}
