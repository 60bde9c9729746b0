/*
 * trustees/ballot.mjs — a ballot on the tablet (docs/trustee-crypto.md, "A ballot";
 * EG 2.0 §3.3): each option's 0/1 as exponential ElGamal (α, β) = (g^ξ, K^{σ+ξ}) under
 * the joint key, a disjunctive Chaum–Pedersen range proof per option (R = 1, separator
 * 0x24) and per contest over the aggregate (R = limit, separator 0x25), every proof
 * keyed by H_V and containing the ballot context H_B.
 *
 * encryptBallot returns the wire JSON only: no ξ, u or choice leaves this module.
 * The prover multiplies only the two fixed bases g and K (precomputed tables), always
 * in constant time (mulSecret): a simulated branch's commitments are computed from ξ
 * and σ (g^{v+ξc}, K^{v+(σ+ξ−j)c}), equal to the verifier's g^v·α^c and K^{v−jc}·β^c.
 * Only verification uses mulPublic (every scalar it multiplies by is published).
 */
import { Fq, G, TrusteeCryptoError, elementFromHex, elementToHex, mulPublic, mulSecret, randomScalar, scalarFromHex, scalarToHex } from "./group.mjs";
import { H, Hq, element, int, sep, text } from "./hashing.mjs";

const OPTION_PROOF = 0x24;
const LIMIT_PROOF = 0x25;
const BALLOT_CONTEXT = 0x21;

/** The default source of randomness: a fresh random scalar for each labelled draw. */
export function freshRandomness(_label) {
  return randomScalar();
}

/**
 * The marks as the layout's 0/1 lists, from the chosen option ids per contest:
 * `{contestId: [optionId…]}` (a contest missing = nothing marked). Throws on an id
 * not in the layout.
 */
export function marksFromChoice(layout, chosen) {
  for (const id of Object.keys(chosen)) {
    if (!layout.some((contest) => contest.id === id)) throw new TrusteeCryptoError(`choice.${id}`, "no such contest");
  }
  return layout.map((contest) => {
    const picked = chosen[contest.id] ?? [];
    for (const option of picked) {
      if (!contest.options.includes(option)) throw new TrusteeCryptoError(`choice.${contest.id}`, `no option ${option}`);
    }
    return contest.options.map((option) => (picked.includes(option) ? 1 : 0));
  });
}

/** H_B = H(H_V; 0x21, text member_id, text nonce, α₁, β₁, …) over every ciphertext in layout order. */
export function ballotContext(hV, memberId, nonce, ciphertexts) {
  const parts = [sep(BALLOT_CONTEXT), text(memberId, "member_id"), text(nonce, "nonce")];
  for (const contest of ciphertexts) {
    for (const { alpha, beta } of contest) parts.push(element(alpha), element(beta));
  }
  return H(hV, ...parts);
}

function rangeChallenge(ctx, prefix, alpha, beta, commitments) {
  const parts = [...prefix, element(ctx.K), element(alpha), element(beta)];
  for (const [a, b] of commitments) parts.push(element(a), element(b));
  return Hq(ctx.hV, ...parts);
}

/**
 * A proof that (α, β) encrypts σ ∈ {0…R} with nonce ξ. `prefix` is the hash parts
 * before K (separator, H_B, indices); `draw(name)` gives the named random scalar.
 */
function proveRange(ctx, prefix, alpha, beta, xi, sigma, R, draw) {
  const K = ctx.K;
  const commitments = [];
  const cs = [];
  const vs = [];
  let u = 0n;
  for (let j = 0; j <= R; j++) {
    if (j === sigma) {
      u = draw("u");
      commitments.push([mulSecret(G, u), mulSecret(K, u)]);
      cs.push(0n);
      vs.push(0n);
    } else {
      const c = draw(`c${j}`);
      const v = draw(`v${j}`);
      // a_j = g^v·α^c = g^{v + ξc} and b_j = K^{v − jc}·β^c = K^{v + (σ + ξ − j)c}: the same
      // points, by the two fixed bases' tables; the exponents hold ξ, so constant time.
      const a = mulSecret(G, Fq.add(v, Fq.mul(xi, c)));
      const b = mulSecret(K, Fq.add(v, Fq.mul(Fq.add(xi, Fq.create(BigInt(sigma - j))), c)));
      commitments.push([a, b]);
      cs.push(c);
      vs.push(v);
    }
  }
  const c = rangeChallenge(ctx, prefix, alpha, beta, commitments);
  const others = cs.reduce((sum, x) => Fq.add(sum, x), 0n);
  cs[sigma] = Fq.sub(c, others);
  vs[sigma] = Fq.sub(u, Fq.mul(cs[sigma], xi));
  return { c: cs.map(scalarToHex), v: vs.map(scalarToHex) };
}

/** Throws unless `proof` proves (α, β) encrypts a value in {0…R}; `where` names it. */
function checkRange(ctx, prefix, alpha, beta, R, proof, where) {
  checkKeys(proof, ["c", "v"], where);
  for (const key of ["c", "v"]) {
    if (!Array.isArray(proof[key]) || proof[key].length !== R + 1) {
      throw new TrusteeCryptoError(`${where}.${key}`, `not a list of ${R + 1} scalars`);
    }
  }
  const cs = proof.c.map((x, j) => scalarFromHex(x, `${where}.c[${j}]`));
  const vs = proof.v.map((x, j) => scalarFromHex(x, `${where}.v[${j}]`));
  const commitments = cs.map((c, j) => [
    mulPublic(G, vs[j]).add(mulPublic(alpha, c)),
    mulPublic(ctx.K, Fq.sub(vs[j], Fq.mul(BigInt(j), c))).add(mulPublic(beta, c)),
  ]);
  const sum = cs.reduce((acc, x) => Fq.add(acc, x), 0n);
  if (sum !== rangeChallenge(ctx, prefix, alpha, beta, commitments)) {
    throw new TrusteeCryptoError(where, "the challenges do not sum to the hash: the proof is false");
  }
}

function checkKeys(value, keys, where) {
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new TrusteeCryptoError(where, "not an object");
  const have = Object.keys(value).sort().join(",");
  if (have !== keys.join(",")) throw new TrusteeCryptoError(where, `keys are ${have}, not ${keys.join(",")}`);
}

function scoped(draw, name) {
  return (part) => draw(`${name}/${part}`);
}

/**
 * Encrypts and proves a ballot. `ctx` from voteContext; `marks` one list of 0/1 per
 * contest in layout order (marksFromChoice); `memberId` and `nonce` the deputy and the
 * submission. Returns the wire JSON
 * `{contests: [{selections: [{alpha, beta, proof: {c, v}}…], proof: {c, v}}…]}`.
 * `draw(label)` is for test vectors only: it names each random scalar (`xi/c/o`,
 * `option/c/o/u`, `option/c/o/c1`, `option/c/o/v1`, `limit/c/u`, `limit/c/c3`, …).
 * Throws if a contest has more marks than its limit or a mark is not 0 or 1.
 */
export function encryptBallot(ctx, { memberId, nonce, marks }, draw = freshRandomness) {
  const layout = ctx.layout;
  if (!Array.isArray(marks) || marks.length !== layout.length) throw new TrusteeCryptoError("marks", `not ${layout.length} contests`);
  const K = ctx.K;
  const ciphertexts = layout.map((contest, c) => {
    const row = marks[c];
    if (!Array.isArray(row) || row.length !== contest.options.length) {
      throw new TrusteeCryptoError(`marks[${c}]`, `not ${contest.options.length} options`);
    }
    if (row.some((m) => m !== 0 && m !== 1)) throw new TrusteeCryptoError(`marks[${c}]`, "a mark is not 0 or 1");
    if (row.reduce((a, b) => a + b, 0) > contest.limit) throw new TrusteeCryptoError(`marks[${c}]`, `more than ${contest.limit} marked`);
    return row.map((sigma, o) => {
      const xi = draw(`xi/${c}/${o}`);
      return { alpha: mulSecret(G, xi), beta: mulSecret(K, Fq.add(xi, BigInt(sigma))), xi, sigma };
    });
  });
  const hB = ballotContext(ctx.hV, memberId, nonce, ciphertexts);
  const contests = layout.map((contest, c) => {
    const row = ciphertexts[c];
    const selections = row.map(({ alpha, beta, xi, sigma }, o) => ({
      alpha: elementToHex(alpha),
      beta: elementToHex(beta),
      proof: proveRange(ctx, [sep(OPTION_PROOF), hB, int(c), int(o)], alpha, beta, xi, sigma, 1, scoped(draw, `option/${c}/${o}`)),
    }));
    const alpha = row.slice(1).reduce((acc, x) => acc.add(x.alpha), row[0].alpha);
    const beta = row.slice(1).reduce((acc, x) => acc.add(x.beta), row[0].beta);
    const xi = row.reduce((acc, x) => Fq.add(acc, x.xi), 0n);
    const total = row.reduce((acc, x) => acc + x.sigma, 0);
    const proof = proveRange(ctx, [sep(LIMIT_PROOF), hB, int(c)], alpha, beta, xi, total, contest.limit, scoped(draw, `limit/${c}`));
    return { selections, proof };
  });
  return { contests };
}

/**
 * Throws (a TrusteeCryptoError naming the contest, option and field) unless `ballot`
 * is a well-formed wire ballot for `ctx`'s layout whose every proof holds for this
 * deputy and submission nonce; returns true otherwise.
 */
export function verifyBallot(ctx, { memberId, nonce, ballot }) {
  const layout = ctx.layout;
  checkKeys(ballot, ["contests"], "ballot");
  if (!Array.isArray(ballot.contests) || ballot.contests.length !== layout.length) {
    throw new TrusteeCryptoError("ballot.contests", `not ${layout.length} contests`);
  }
  const decoded = layout.map((contest, c) => {
    const where = `contests[${c}]`;
    const wire = ballot.contests[c];
    checkKeys(wire, ["proof", "selections"], where);
    if (!Array.isArray(wire.selections) || wire.selections.length !== contest.options.length) {
      throw new TrusteeCryptoError(`${where}.selections`, `not ${contest.options.length} selections`);
    }
    return wire.selections.map((selection, o) => {
      checkKeys(selection, ["alpha", "beta", "proof"], `${where}.selections[${o}]`);
      return {
        alpha: elementFromHex(selection.alpha, `${where}.selections[${o}].alpha`),
        beta: elementFromHex(selection.beta, `${where}.selections[${o}].beta`),
      };
    });
  });
  const hB = ballotContext(ctx.hV, memberId, nonce, decoded);
  layout.forEach((contest, c) => {
    const where = `contests[${c}]`;
    const row = decoded[c];
    row.forEach(({ alpha, beta }, o) => {
      const proof = ballot.contests[c].selections[o].proof;
      checkRange(ctx, [sep(OPTION_PROOF), hB, int(c), int(o)], alpha, beta, 1, proof, `${where}.selections[${o}].proof`);
    });
    const alpha = row.slice(1).reduce((acc, x) => acc.add(x.alpha), row[0].alpha);
    const beta = row.slice(1).reduce((acc, x) => acc.add(x.beta), row[0].beta);
    checkRange(ctx, [sep(LIMIT_PROOF), hB, int(c)], alpha, beta, contest.limit, ballot.contests[c].proof, `${where}.proof`);
  });
  return true;
}
