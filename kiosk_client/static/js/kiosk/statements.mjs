/*
 * statements.mjs — what the tablet signs: the JavaScript twin of crypto/statements.py.
 *
 * A statement is a small object; what is signed is its canonical JSON in UTF-8
 * (docs/audit-log.md): keys sorted by code point, no spaces, no escapes beyond
 * JSON's own — json.dumps(v, sort_keys=True, separators=(",", ":"),
 * ensure_ascii=False). The signature is ECDSA P-256 / SHA-256, raw r‖s, base64.
 *
 * No DOM here, only WebCrypto (globalThis.crypto): tests/js/statements.test.mjs
 * runs it under Node against tests/vectors/statements.json, the same vectors
 * the Python suite checks.
 */

export const BALLOT = "ballot";
export const PARTICIPATION = "participation";
export const ENCRYPTED_BALLOT = "encrypted-ballot";
export const KIOSK_AUTH = "kiosk-auth";

const ECDSA_P256 = { name: "ECDSA", hash: "SHA-256" };

// Python's sort_keys orders by code point; JavaScript's default sort by UTF-16
// unit. They differ only beyond the BMP, but the bytes must match exactly.
function byCodePoint(a, b) {
  const x = Array.from(a);
  const y = Array.from(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i].codePointAt(0) - y[i].codePointAt(0);
    if (d) return d;
  }
  return x.length - y.length;
}

/** json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False) */
export function canonical(value) {
  if (Array.isArray(value)) return "[" + value.map(canonical).join(",") + "]";
  if (value !== null && typeof value === "object") {
    return "{" + Object.keys(value).sort(byCodePoint)
      .map((k) => JSON.stringify(k) + ":" + canonical(value[k])).join(",") + "}";
  }
  return JSON.stringify(value);
}

/** The bytes a statement's signature is over. */
export function statementBytes(statement) {
  return new TextEncoder().encode(canonical(statement));
}

export function ballotStatement(vote, seat, nonce, ballot) {
  return { type: BALLOT, vote: vote, seat: seat, nonce: nonce, ballot: ballot };
}

/** That this seat voted, without the choice: what a secret vote (无记名投票) logs. */
export function participationStatement(vote, seat, nonce) {
  return { type: PARTICIPATION, vote: vote, seat: seat, nonce: nonce };
}

/** A trustee-mode ballot: the encrypted marks with their proofs (the wire form of
 * docs/trustee-crypto.md), bound to the vote, the seat and the nonce. */
export function encryptedBallotStatement(vote, seat, nonce, encrypted) {
  return { type: ENCRYPTED_BALLOT, vote: vote, seat: seat, nonce: nonce, ballot: encrypted };
}

/** The connection proof: this device answers this connection's challenge. */
export function authStatement(device, challenge) {
  return { type: KIOSK_AUTH, device: device, challenge: challenge };
}

export function base64(bytes) {
  let text = "";
  new Uint8Array(bytes).forEach((b) => {
    text += String.fromCharCode(b);
  });
  return btoa(text);
}

/** 24 random bytes, base64url without padding: 32 characters (protocol: 22–64). */
export function newNonce() {
  return base64(globalThis.crypto.getRandomValues(new Uint8Array(24)))
    .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Base64 of the device key's signature over the statement's canonical bytes. */
export async function signStatement(privateKey, statement) {
  const signature = await globalThis.crypto.subtle.sign(ECDSA_P256, privateKey, statementBytes(statement));
  return base64(signature); // WebCrypto's ECDSA output is already raw r‖s (64 bytes)
}

/** The two signatures a ballot carries: over the ballot and over the participation
 * (the server logs the one its vote needs: named the first, secret the second). */
export async function ballotSignatures(privateKey, vote, seat, nonce, ballot) {
  return {
    signature: await signStatement(privateKey, ballotStatement(vote, seat, nonce, ballot)),
    participation_signature: await signStatement(privateKey, participationStatement(vote, seat, nonce)),
  };
}
