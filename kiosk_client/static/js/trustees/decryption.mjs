/*
 * trustees/decryption.mjs — counting (docs/trustee-crypto.md, "Counting"; EG 2.0 §3.6):
 * the aggregate of an option, a trustee's partial decryption M_i = A^{s_i} with its
 * Chaum–Pedersen proof (separator 0x30), its check, and the combination of k partial
 * decryptions by Lagrange coefficients into the count t (T = B / M = K^t, searched in
 * 0 … the number of members).
 */
import { Fq, G, IDENTITY, TrusteeCryptoError, elementFromHex, elementToHex, mulPublic, mulSecret, randomScalar, scalarFromHex, scalarToHex } from "./group.mjs";
import { Hq, element, int, sep } from "./hashing.mjs";

const PARTIAL_PROOF = 0x30;

/** (A, B) = (∏ α, ∏ β) over a non-empty list of `{alpha, beta}` hex pairs; returns hex. */
export function aggregate(ciphertexts) {
  if (!Array.isArray(ciphertexts) || ciphertexts.length === 0) throw new TrusteeCryptoError("ciphertexts", "none to aggregate");
  let A = null;
  let B = null;
  ciphertexts.forEach(({ alpha, beta }, n) => {
    const a = elementFromHex(alpha, `ciphertexts[${n}].alpha`);
    const b = elementFromHex(beta, `ciphertexts[${n}].beta`);
    A = A === null ? a : A.add(a);
    B = B === null ? b : B.add(b);
  });
  return { alpha: elementToHex(A), beta: elementToHex(B) };
}

function challenge(hV, i, Khat, A, B, a, b, M) {
  return Hq(hV, sep(PARTIAL_PROOF), int(i, "i"), element(Khat), element(A), element(B), element(a), element(b), element(M));
}

/**
 * Trustee i's partial decryption of the aggregate `{alpha: A, beta: B}` (hex) with its
 * secret share s_i: `{m, c, v}`. `draw` for vectors only.
 */
export function partialDecrypt(hV, i, share, { alpha, beta }, draw = randomScalar) {
  const A = elementFromHex(alpha, "aggregate.alpha");
  const B = elementFromHex(beta, "aggregate.beta");
  const Khat = mulSecret(G, share);
  const M = mulSecret(A, share);
  const u = draw("u");
  const a = mulSecret(G, u);
  const b = mulSecret(A, u);
  const c = challenge(hV, i, Khat, A, B, a, b, M);
  return { m: elementToHex(M), c: scalarToHex(c), v: scalarToHex(Fq.sub(u, Fq.mul(c, share))) };
}

/**
 * Throws unless `partial` ({m, c, v}) is trustee i's proven partial decryption of the
 * aggregate under its public share K̂_i (hex): a = g^v·K̂_i^c, b = A^v·M^c, c recomputed.
 * Returns M as a point. `where` names it in a refusal.
 */
export function checkPartial(hV, i, publicShare, { alpha, beta }, partial, where = `trustee ${i} partial decryption`) {
  const Khat = elementFromHex(publicShare, `${where}.public_share`);
  const A = elementFromHex(alpha, "aggregate.alpha");
  const B = elementFromHex(beta, "aggregate.beta");
  const M = elementFromHex(partial?.m, `${where}.m`);
  const c = scalarFromHex(partial.c, `${where}.c`);
  const v = scalarFromHex(partial.v, `${where}.v`);
  const a = mulPublic(G, v).add(mulPublic(Khat, c));
  const b = mulPublic(A, v).add(mulPublic(M, c));
  if (c !== challenge(hV, i, Khat, A, B, a, b, M)) throw new TrusteeCryptoError(where, "the Chaum–Pedersen proof is false");
  return M;
}

/** w_i = ∏_{l∈U, l≠i} l / (l − i) mod ℓ for each seat i of U (distinct seats ≥ 1). */
export function lagrange(seats) {
  if (new Set(seats).size !== seats.length) throw new TrusteeCryptoError("seats", "not distinct");
  return new Map(seats.map((i) => [i, seats.filter((l) => l !== i)
    .reduce((w, l) => Fq.mul(w, Fq.div(BigInt(l), Fq.sub(BigInt(l), BigInt(i)))), 1n)]));
}

/**
 * The count t of an aggregate from at least k checked partial decryptions
 * `{seat: M (hex)}`: M = ∏ M_i^{w_i}, T = B / M, t ∈ 0 … maxCount with K^t = T.
 * Throws with fewer than k, or if no t is in range. `jointKey` hex.
 */
export function combine(jointKey, { beta }, partials, k, maxCount) {
  const seats = Object.keys(partials).map(Number);
  if (seats.length < k) throw new TrusteeCryptoError("partials", `${seats.length} trustees, fewer than the threshold ${k}`);
  const K = elementFromHex(jointKey, "joint_key");
  const B = elementFromHex(beta, "aggregate.beta");
  const weights = lagrange(seats);
  let M = null;
  for (const i of seats) {
    const term = mulPublic(elementFromHex(partials[i], `partial ${i}.m`), weights.get(i));
    M = M === null ? term : M.add(term);
  }
  const T = B.subtract(M);
  let power = IDENTITY; // K^0
  for (let t = 0; t <= maxCount; t++) {
    if (power.equals(T)) return t;
    power = power.add(K);
  }
  throw new TrusteeCryptoError("aggregate", `no count in 0…${maxCount}: refused`);
}

const IDENTITY_HEX = "00".repeat(32);

/**
 * Every option's aggregate over the counted wire ballots (already verified), per
 * contest per option in layout order: `[[{alpha, beta}…]…]`. With no ballot, each is
 * the identity pair (all-zero hex), as the spec states.
 */
export function aggregateBallots(layout, ballots) {
  return layout.map((contest, c) => contest.options.map((_, o) => (ballots.length === 0
    ? { alpha: IDENTITY_HEX, beta: IDENTITY_HEX }
    : aggregate(ballots.map((ballot) => ballot.contests[c].selections[o])))));
}

/**
 * The counts `{contestId: {option: t}}` from the aggregates (`[[{alpha, beta}]]`), the
 * trustees' public shares `{seat: hex}` and their partial decryptions
 * `{seat: [[{m, c, v}]]}` (at least k trustees; every proof is checked first). An
 * identity aggregate (no ballot) counts 0 and needs no partial decryption.
 */
export function decryptCounts(hV, layout, aggregates, publicShares, partialsBySeat, k, jointKey, maxCount) {
  const seats = Object.keys(partialsBySeat).map(Number);
  if (seats.length < k) throw new TrusteeCryptoError("partials", `${seats.length} trustees, fewer than the threshold ${k}`);
  const counts = {};
  layout.forEach((contest, c) => {
    counts[contest.id] = {};
    contest.options.forEach((option, o) => {
      const agg = aggregates[c][o];
      if (agg.alpha === IDENTITY_HEX && agg.beta === IDENTITY_HEX) {
        counts[contest.id][option] = 0;
        return;
      }
      const ms = {};
      for (const i of seats) {
        const where = `trustee ${i} partial decryption of aggregates[${c}][${o}]`;
        ms[i] = elementToHex(checkPartial(hV, i, publicShares[i], agg, partialsBySeat[i][c][o], where));
      }
      counts[contest.id][option] = combine(jointKey, agg, ms, k, maxCount);
    });
  });
  return counts;
}
