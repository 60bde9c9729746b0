/*
 * fingerprint.mjs — the joint key's fingerprint (docs/trustee-votes.md): the first 8 hex
 * digits of SHA-256 over the key's 32 bytes, upper case, in two groups of 4 ("3F2A 9C01").
 * The scrutineer's page shows it large, the tablet small under the ballot: read aloud and
 * compared, they show that every tablet encrypts to the key the scrutineers made.
 */
import { bytesToHex, hexToBytes, sha256 } from "../vendor/noble.mjs";

/** "XXXX XXXX" for a joint key given as 64 lowercase hex digits; throws otherwise. */
export function keyFingerprint(jointKeyHex) {
  if (typeof jointKeyHex !== "string" || !/^[0-9a-f]{64}$/.test(jointKeyHex)) {
    throw new Error("joint_key: not 64 lowercase hex digits");
  }
  const digits = bytesToHex(sha256(hexToBytes(jointKeyHex))).slice(0, 8).toUpperCase();
  return digits.slice(0, 4) + " " + digits.slice(4);
}
