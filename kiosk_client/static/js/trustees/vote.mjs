/*
 * trustees/vote.mjs — the base hashes (docs/trustee-crypto.md, "Base hashes") and a
 * vote's context: the ceremony hash H_C, the layout (manifest) with its checks, the
 * vote hash H_V, and the joint key K with its wNAF table, built once per vote so that
 * each ballot's many K^x are fast.
 */
import { canonical } from "../kiosk/statements.mjs";
import { TrusteeCryptoError, elementFromHex, precomputed } from "./group.mjs";
import { H, ROOT_KEY, element, int, sep, text } from "./hashing.mjs";

export const MAX_TRUSTEES = 9;

/** H_C = H("congress-evote trustees v1"; 0x00, text ceremony_id, int n, int k); 1 ≤ k ≤ n ≤ 9. */
export function ceremonyHash(ceremonyId, n, k) {
  if (!Number.isInteger(n) || n < 1 || n > MAX_TRUSTEES) throw new TrusteeCryptoError("n", `not in 1…9: ${n}`);
  if (!Number.isInteger(k) || k < 1 || k > n) throw new TrusteeCryptoError("k", `not in 1…n (n = ${n}): ${k}`);
  return H(ROOT_KEY, sep(0x00), text(ceremonyId, "ceremony_id"), int(n, "n"), int(k, "k"));
}

/**
 * Checks a layout: a non-empty list of contests {id, options, limit}, ids and each
 * contest's options distinct non-empty strings, 1 ≤ limit ≤ number of options.
 * Returns it unchanged; throws naming the contest and field otherwise.
 */
export function checkLayout(layout) {
  if (!Array.isArray(layout) || layout.length === 0) throw new TrusteeCryptoError("layout", "not a non-empty list");
  const ids = new Set();
  layout.forEach((contest, c) => {
    const where = `layout[${c}]`;
    if (contest === null || typeof contest !== "object") throw new TrusteeCryptoError(where, "not an object");
    const keys = Object.keys(contest).sort().join(",");
    if (keys !== "id,limit,options") throw new TrusteeCryptoError(where, `keys are ${keys}, not id,limit,options`);
    if (typeof contest.id !== "string" || contest.id === "" || ids.has(contest.id)) {
      throw new TrusteeCryptoError(`${where}.id`, "not a distinct non-empty string");
    }
    ids.add(contest.id);
    const options = contest.options;
    if (!Array.isArray(options) || options.length === 0) throw new TrusteeCryptoError(`${where}.options`, "not a non-empty list");
    if (options.some((o) => typeof o !== "string" || o === "") || new Set(options).size !== options.length) {
      throw new TrusteeCryptoError(`${where}.options`, "not distinct non-empty strings");
    }
    if (!Number.isInteger(contest.limit) || contest.limit < 1 || contest.limit > options.length) {
      throw new TrusteeCryptoError(`${where}.limit`, `not in 1…${options.length}: ${contest.limit}`);
    }
  });
  return layout;
}

/** The manifest's bytes: the layout's canonical JSON (UTF-8, sorted keys, no spaces). */
export function manifestText(layout) {
  return canonical(checkLayout(layout));
}

/** H_V = H(H_C; 0x12, text vote_id, text manifest, K). */
export function voteHash(hC, voteId, layout, jointKey) {
  return H(hC, sep(0x12), text(voteId, "vote_id"), text(manifestText(layout), "manifest"), element(jointKey));
}

/**
 * A vote's context for ballots and partial decryptions:
 * `{ ceremony: {id, n, k}, voteId, layout, jointKey: hex }` →
 * `{ hC, hV, layout, K }`, K decoded (identity refused) and precomputed.
 */
export function voteContext({ ceremony, voteId, layout, jointKey }) {
  const hC = ceremonyHash(ceremony.id, ceremony.n, ceremony.k);
  const K = precomputed(elementFromHex(jointKey, "joint_key"));
  return Object.freeze({ hC, hV: voteHash(hC, voteId, layout, K), layout, K });
}
