/*
 * trustees/ceremony.mjs — one trustee's part of the key ceremony (docs/trustee-crypto.md,
 * "Key ceremony"; EG 2.0 §3.2), on the scrutineer's own page:
 *   1. a polynomial of k random coefficients, their commitments K_{i,j} = g^{a_{i,j}} and
 *      a Schnorr proof of each (separator 0x10);
 *   2. each other trustee's share P_i(ℓ), encrypted to K_{ℓ,0} by hashed ElGamal
 *      (separator 0x11) and AES-256-GCM (WebCrypto);
 *   3. the receiver's checks: the proofs, the decryption, Feldman;
 *   4. the secret share s_ℓ, public shares K̂_ℓ and the joint key K — computed from
 *      commitments; nothing here ever adds up the a_{i,0}.
 * Secret coefficients and shares are multiplied in constant time (mulSecret); only
 * public exponents (ℓ^j, published challenges and responses) use mulPublic.
 */
import { Fq, G, TrusteeCryptoError, elementFromHex, elementToHex, mulPublic, mulSecret, randomScalar, scalarBytes, scalarFromBytes, scalarFromHex, scalarToHex } from "./group.mjs";
import { H, Hq, element, int, sep } from "./hashing.mjs";
import { bytesToHex, concatBytes, hexToBytes } from "../vendor/noble.mjs";

const COEFFICIENT_PROOF = 0x10;
const SHARE_KEY = 0x11;
const ZERO_NONCE = new Uint8Array(12);

function checkSeat(i, field) {
  if (!Number.isInteger(i) || i < 1 || i > 9) throw new TrusteeCryptoError(field, `not a seat in 1…9: ${i}`);
  return i;
}

/** k random coefficients a_0 … a_{k−1} (the trustee's secret; never sent). */
export function newPolynomial(k, draw = randomScalar) {
  if (!Number.isInteger(k) || k < 1 || k > 9) throw new TrusteeCryptoError("k", `not in 1…9: ${k}`);
  return Array.from({ length: k }, (_, j) => draw(`a${j}`));
}

/** P(x) = Σ a_j x^j mod ℓ, for a seat x ≥ 1. */
export function evaluatePolynomial(coefficients, x) {
  checkSeat(x, "x");
  return coefficients.reduceRight((acc, a) => Fq.add(Fq.mul(acc, BigInt(x)), a), 0n);
}

/**
 * Trustee i's published commitments, each with its Schnorr proof:
 * `[{commitment: hex K_{i,j}, proof: {c, v}}…]`, j = 0 … k−1. `draw(label)` for vectors only.
 */
export function commitToPolynomial(hC, i, coefficients, draw = randomScalar) {
  checkSeat(i, "i");
  return coefficients.map((a, j) => {
    const K = mulSecret(G, a);
    const u = draw(`u${j}`);
    const c = Hq(hC, sep(COEFFICIENT_PROOF), int(i), int(j), element(K), element(mulSecret(G, u)));
    return { commitment: elementToHex(K), proof: { c: scalarToHex(c), v: scalarToHex(Fq.sub(u, Fq.mul(c, a))) } };
  });
}

/**
 * Decodes and checks trustee i's k published commitments and every Schnorr proof:
 * h = g^v·K^c, then c = Hq(H_C; 0x10, i, j, K, h). Returns the points K_{i,j}; throws
 * naming the trustee and coefficient otherwise.
 */
export function checkCommitments(hC, i, k, published) {
  checkSeat(i, "i");
  const where = `trustee ${i} commitments`;
  if (!Array.isArray(published) || published.length !== k) throw new TrusteeCryptoError(where, `not ${k} commitments`);
  return published.map((entry, j) => {
    checkKeys(entry, ["commitment", "proof"], `${where}[${j}]`);
    checkKeys(entry.proof, ["c", "v"], `${where}[${j}].proof`);
    const K = elementFromHex(entry.commitment, `${where}[${j}].commitment`);
    const c = scalarFromHex(entry.proof.c, `${where}[${j}].proof.c`);
    const v = scalarFromHex(entry.proof.v, `${where}[${j}].proof.v`);
    const h = mulPublic(G, v).add(mulPublic(K, c));
    if (c !== Hq(hC, sep(COEFFICIENT_PROOF), int(i), int(j), element(K), element(h))) {
      throw new TrusteeCryptoError(`${where}[${j}].proof`, "the Schnorr proof is false");
    }
    return K;
  });
}

function checkKeys(value, keys, where) {
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new TrusteeCryptoError(where, "not an object");
  const have = Object.keys(value).sort().join(",");
  if (have !== keys.join(",")) throw new TrusteeCryptoError(where, `keys are ${have}, not ${keys.join(",")}`);
}

async function shareCipher(hC, i, l, Kl, alpha, beta, usage) {
  const key = H(hC, sep(SHARE_KEY), int(i), int(l), element(Kl), element(alpha), element(beta));
  const aesKey = await globalThis.crypto.subtle.importKey("raw", key, "AES-GCM", false, [usage]);
  key.fill(0);
  return { aesKey, params: { name: "AES-GCM", iv: ZERO_NONCE, additionalData: concatBytes(hC, int(i), int(l)), tagLength: 128 } };
}

/**
 * Trustee i's share for trustee l, P_i(l), encrypted to K_l = K_{l,0} (hex):
 * ξ random, α = g^ξ, β = K_l^ξ, AES-256-GCM under H(H_C; 0x11, i, l, K_l, α, β).
 * Returns `{alpha, beta, ct}` (ct: 48 bytes hex). `draw` for vectors only.
 */
export async function encryptShare(hC, i, l, recipientKey, share, draw = randomScalar) {
  checkSeat(i, "i");
  checkSeat(l, "l");
  const Kl = elementFromHex(recipientKey, `trustee ${l}.commitments[0]`);
  const xi = draw("xi");
  const alpha = mulSecret(G, xi);
  const beta = mulSecret(Kl, xi);
  const { aesKey, params } = await shareCipher(hC, i, l, Kl, alpha, beta, "encrypt");
  const ct = new Uint8Array(await globalThis.crypto.subtle.encrypt(params, aesKey, scalarBytes(share)));
  return { alpha: elementToHex(alpha), beta: elementToHex(beta), ct: bytesToHex(ct) };
}

/**
 * Trustee l decrypts the share trustee i sent it, with its own a_{l,0}. Refuses a β
 * other than α^{a_{l,0}}, a ciphertext that does not authenticate, a scalar ≥ ℓ.
 */
export async function decryptShare(hC, i, l, ownSecret, { alpha, beta, ct }) {
  checkSeat(i, "i");
  checkSeat(l, "l");
  const where = `share from trustee ${i} to trustee ${l}`;
  const A = elementFromHex(alpha, `${where}.alpha`);
  const B = elementFromHex(beta, `${where}.beta`);
  if (!mulSecret(A, ownSecret).equals(B)) throw new TrusteeCryptoError(`${where}.beta`, "not α^{a_{l,0}}: not encrypted to this trustee");
  if (typeof ct !== "string" || !/^[0-9a-f]{96}$/.test(ct)) throw new TrusteeCryptoError(`${where}.ct`, "not 96 lowercase hex digits (48 bytes)");
  const { aesKey, params } = await shareCipher(hC, i, l, mulSecret(G, ownSecret), A, B, "decrypt");
  let plain;
  try {
    plain = new Uint8Array(await globalThis.crypto.subtle.decrypt(params, aesKey, hexToBytes(ct)));
  } catch {
    throw new TrusteeCryptoError(`${where}.ct`, "does not authenticate (AES-256-GCM)");
  }
  return scalarFromBytes(plain, `${where} (decrypted)`);
}

/** Feldman: g^{share} = ∏_j K_{i,j}^{l^j}, the commitments as points (checkCommitments). */
export function feldmanHolds(commitments, l, share) {
  checkSeat(l, "l");
  return mulSecret(G, share).equals(publicShareFrom([commitments], l));
}

/** s_l = Σ_i P_i(l) over every trustee's share for l (its own included). */
export function secretShare(shares) {
  return shares.reduce((acc, s) => Fq.add(acc, s), 0n);
}

/** K̂_l = ∏_i ∏_j K_{i,j}^{l^j}, from every trustee's commitments (as points). */
export function publicShareFrom(allCommitments, l) {
  checkSeat(l, "l");
  let total = null;
  for (const commitments of allCommitments) {
    let power = 1n;
    for (const K of commitments) {
      const term = mulPublic(K, power);
      total = total === null ? term : total.add(term);
      power = Fq.mul(power, BigInt(l));
    }
  }
  return total;
}

/** K̂_l as hex. */
export function publicShare(allCommitments, l) {
  return elementToHex(publicShareFrom(allCommitments, l));
}

/** K = ∏_i K_{i,0}, as hex. */
export function jointKey(allCommitments) {
  const first = allCommitments.map((commitments) => commitments[0]);
  return elementToHex(first.slice(1).reduce((acc, K) => acc.add(K), first[0]));
}

