// Trustee mode end to end in JavaScript (kiosk_client/static/js/trustees/,
// docs/trustee-crypto.md), with fresh randomness: a 3-trustee, threshold-2 ceremony,
// ballots of the three kinds' layouts encrypted and verified, the aggregates decrypted
// by any two trustees and not by one, each tampering refused, and the backup file.
// The byte-level agreement with Python is trustees.test.mjs (tests/vectors/trustees.json).
// Run: node --test tests/js  (tests/test_js.py runs it in the Python suite).

import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { test } from "node:test";

import {
  TrusteeCryptoError, aggregate, backupTrustee, checkCommitments, checkPartial, combine,
  commitToPolynomial, decryptShare, encryptBallot, encryptShare, evaluatePolynomial, feldmanHolds,
  jointKey, marksFromChoice, newPolynomial, partialDecrypt, publicShare, restoreTrustee,
  secretShare, verifyBallot, voteContext,
} from "../../kiosk_client/static/js/trustees/index.mjs";
import { ceremonyHash } from "../../kiosk_client/static/js/trustees/vote.mjs";
import { G, elementToHex, mulSecret, scalarToHex } from "../../kiosk_client/static/js/trustees/group.mjs";

const CEREMONY = { id: "sitting-2026-12-06", n: 3, k: 2 };
const refused = (field) => (error) => error instanceof TrusteeCryptoError && error.field.includes(field);

/** Three trustees run the ceremony; every check a trustee makes is made. */
async function runCeremony() {
  const hC = ceremonyHash(CEREMONY.id, CEREMONY.n, CEREMONY.k);
  const seats = [1, 2, 3];
  const polys = seats.map(() => newPolynomial(CEREMONY.k));
  const published = seats.map((i) => commitToPolynomial(hC, i, polys[i - 1]));
  const points = seats.map((i) => checkCommitments(hC, i, CEREMONY.k, published[i - 1]));
  const shares = new Map(seats.map((l) => [l, []]));
  for (const i of seats) {
    for (const l of seats) {
      if (l === i) {
        shares.get(l).push(evaluatePolynomial(polys[i - 1], l));
        continue;
      }
      const sent = await encryptShare(hC, i, l, published[l - 1][0].commitment, evaluatePolynomial(polys[i - 1], l));
      const share = await decryptShare(hC, i, l, polys[l - 1][0], sent);
      assert.ok(feldmanHolds(points[i - 1], l, share), `Feldman ${i}→${l}`);
      shares.get(l).push(share);
    }
  }
  const secret = new Map(seats.map((l) => [l, secretShare(shares.get(l))]));
  for (const l of seats) {
    assert.equal(publicShare(points, l), elementToHex(mulSecret(G, secret.get(l))), `K̂_${l} = g^{s_${l}}`);
  }
  return { hC, polys, published, points, secret, K: jointKey(points) };
}

const layouts = {
  motion: [{ id: "reg-1", options: ["yes", "no"], limit: 1 }, { id: "reg-2", options: ["yes", "no"], limit: 1 }],
  selection: [{ id: "candidates", options: Array.from({ length: 12 }, (_, n) => `cand-${n + 1}`), limit: 10 }],
  evaluation: [{ id: "edu", options: ["satisfied", "basic", "unsatisfied"], limit: 1 },
    { id: "civil", options: ["satisfied", "basic", "unsatisfied"], limit: 1 }],
};

test("a ceremony, ballots of every kind, and any 2 of 3 trustees count them; 1 cannot", async () => {
  const ceremony = await runCeremony();
  const choices = {
    motion: [{ "reg-1": ["yes"], "reg-2": [] }, { "reg-1": ["no"], "reg-2": ["yes"] }, { "reg-1": ["yes"] }],
    selection: [{ candidates: ["cand-1", "cand-2", "cand-3", "cand-4", "cand-5", "cand-6", "cand-7", "cand-8", "cand-9", "cand-10"] },
      { candidates: ["cand-1", "cand-12"] }, {}],
    evaluation: [{ edu: ["satisfied"], civil: ["basic"] }, { edu: ["satisfied"] }, { edu: ["unsatisfied"], civil: ["basic"] }],
  };
  for (const [kind, layout] of Object.entries(layouts)) {
    const ctx = voteContext({ ceremony: CEREMONY, voteId: `vote-${kind}`, layout, jointKey: ceremony.K });
    const ballots = choices[kind].map((choice, n) => {
      const ballot = encryptBallot(ctx, { memberId: `m${n}`, nonce: `nonce-${n}`, marks: marksFromChoice(layout, choice) });
      assert.equal(verifyBallot(ctx, { memberId: `m${n}`, nonce: `nonce-${n}`, ballot }), true);
      assert.deepEqual(Object.keys(ballot), ["contests"]); // only the wire JSON: no nonce, no choice
      return ballot;
    });
    layout.forEach((contest, c) => contest.options.forEach((option, o) => {
      const agg = aggregate(ballots.map((b) => b.contests[c].selections[o]));
      const expected = choices[kind].filter((choice) => (choice[contest.id] ?? []).includes(option)).length;
      const partials = {};
      for (const i of [1, 2, 3]) {
        const partial = partialDecrypt(ctx.hV, i, ceremony.secret.get(i), agg);
        checkPartial(ctx.hV, i, publicShare(ceremony.points, i), agg, partial);
        partials[i] = partial.m;
      }
      for (const pair of [[1, 2], [1, 3], [2, 3]]) {
        const some = Object.fromEntries(pair.map((i) => [i, partials[i]]));
        assert.equal(combine(ceremony.K, agg, some, 2, 3), expected, `${kind} ${contest.id}/${option} by ${pair}`);
      }
      assert.throws(() => combine(ceremony.K, agg, { 1: partials[1] }, 2, 3), refused("partials"), "below the threshold");
      if (expected > 0) {
        // even told k = 1, one trustee's share does not open the aggregate
        assert.throws(() => combine(ceremony.K, agg, { 1: partials[1] }, 1, 3), refused("aggregate"), "one trustee alone");
      }
    }));
  }
});

test("a ballot is refused when anything in it is changed or moved", async () => {
  const K = elementToHex(mulSecret(G, 123456789n));
  const layout = layouts.evaluation;
  const ctx = voteContext({ ceremony: CEREMONY, voteId: "v", layout, jointKey: K });
  const ballot = encryptBallot(ctx, { memberId: "m1", nonce: "n1", marks: [[1, 0, 0], [0, 0, 0]] });
  const who = { memberId: "m1", nonce: "n1" };
  const copy = () => JSON.parse(JSON.stringify(ballot));
  assert.throws(() => verifyBallot(ctx, { memberId: "m2", nonce: "n1", ballot }), refused("contests[0].selections[0].proof"));
  assert.throws(() => verifyBallot(ctx, { memberId: "m1", nonce: "n2", ballot }), refused("proof"));
  const other = voteContext({ ceremony: CEREMONY, voteId: "v2", layout, jointKey: K });
  assert.throws(() => verifyBallot(other, { ...who, ballot }), refused("proof"));
  let bad = copy();
  [bad.contests[0].selections[0], bad.contests[0].selections[1]] = [bad.contests[0].selections[1], bad.contests[0].selections[0]];
  assert.throws(() => verifyBallot(ctx, { ...who, ballot: bad }), refused("proof"), "options swapped");
  bad = copy();
  bad.contests[1].selections[2].beta = bad.contests[1].selections[2].alpha;
  assert.throws(() => verifyBallot(ctx, { ...who, ballot: bad }), refused("proof"), "β replaced");
  bad = copy();
  bad.contests[0].proof.v[1] = scalarToHex(1n);
  assert.throws(() => verifyBallot(ctx, { ...who, ballot: bad }), refused("contests[0].proof"), "limit proof response");
  bad = copy();
  bad.contests[0].selections[0].alpha = "00".repeat(32);
  assert.throws(() => verifyBallot(ctx, { ...who, ballot: bad }), refused("contests[0].selections[0].alpha"), "identity α");
  bad = copy();
  bad.contests[0].selections[0].proof.c[0] = "ff".repeat(32);
  assert.throws(() => verifyBallot(ctx, { ...who, ballot: bad }), refused("proof.c[0]"), "scalar ≥ ℓ");
  bad = copy();
  bad.contests[1].selections.pop();
  assert.throws(() => verifyBallot(ctx, { ...who, ballot: bad }), refused("contests[1].selections"), "an option missing");
  bad = copy();
  bad.contests[0].extra = 1;
  assert.throws(() => verifyBallot(ctx, { ...who, ballot: bad }), refused("contests[0]"), "an extra key");
});

test("the tablet refuses to encrypt more marks than the limit, or a mark other than 0 or 1", () => {
  const K = elementToHex(mulSecret(G, 987654321n));
  const ctx = voteContext({ ceremony: CEREMONY, voteId: "v", layout: layouts.motion, jointKey: K });
  assert.throws(() => encryptBallot(ctx, { memberId: "m", nonce: "n", marks: [[1, 1], [0, 0]] }), refused("marks[0]"));
  assert.throws(() => encryptBallot(ctx, { memberId: "m", nonce: "n", marks: [[2, 0], [0, 0]] }), refused("marks[0]"));
});

test("the ceremony's checks refuse a false proof, a share for another trustee, a share off the polynomial", async () => {
  const hC = ceremonyHash(CEREMONY.id, 3, 2);
  const poly = newPolynomial(2);
  const mine = commitToPolynomial(hC, 1, poly);
  assert.throws(() => checkCommitments(hC, 2, 2, mine), refused("trustee 2 commitments[0].proof"), "moved to another seat");
  const swapped = [{ ...mine[0], proof: mine[1].proof }, { ...mine[1], proof: mine[0].proof }];
  assert.throws(() => checkCommitments(hC, 1, 2, swapped), refused("trustee 1 commitments[0].proof"));
  assert.throws(() => checkCommitments(hC, 1, 3, mine), refused("trustee 1 commitments"), "fewer than k");
  const points = checkCommitments(hC, 1, 2, mine);
  const other = newPolynomial(2);
  const sent = await encryptShare(hC, 1, 2, elementToHex(mulSecret(G, other[0])), evaluatePolynomial(poly, 2));
  await assert.rejects(decryptShare(hC, 1, 3, other[0], sent), refused("ct"), "decrypted as if sent to seat 3");
  await assert.rejects(decryptShare(hC, 1, 2, newPolynomial(1)[0], sent), refused("beta"), "by the wrong trustee");
  const flipped = { ...sent, ct: (sent.ct[0] === "0" ? "1" : "0") + sent.ct.slice(1) };
  await assert.rejects(decryptShare(hC, 1, 2, other[0], flipped), refused("ct"));
  const share = await decryptShare(hC, 1, 2, other[0], sent);
  assert.ok(feldmanHolds(points, 2, share));
  assert.ok(!feldmanHolds(points, 3, share), "the share for seat 2 is not seat 3's");
  assert.ok(!feldmanHolds(points, 2, share + 1n));
});

test("a partial decryption's proof binds the trustee, the aggregate and the vote", async () => {
  const ceremony = await runCeremony();
  const ctx = voteContext({ ceremony: CEREMONY, voteId: "v", layout: layouts.motion, jointKey: ceremony.K });
  const ballot = encryptBallot(ctx, { memberId: "m", nonce: "n", marks: [[1, 0], [0, 1]] });
  const agg = aggregate([ballot.contests[0].selections[0]]);
  const partial = partialDecrypt(ctx.hV, 1, ceremony.secret.get(1), agg);
  const K1 = publicShare(ceremony.points, 1);
  checkPartial(ctx.hV, 1, K1, agg, partial);
  assert.throws(() => checkPartial(ctx.hV, 2, publicShare(ceremony.points, 2), agg, partial), refused("trustee 2 partial"));
  const otherAgg = aggregate([ballot.contests[1].selections[0]]);
  assert.throws(() => checkPartial(ctx.hV, 1, K1, otherAgg, partial), refused("trustee 1 partial"));
  const wrongM = { ...partial, m: agg.alpha };
  assert.throws(() => checkPartial(ctx.hV, 1, K1, agg, wrongM), refused("trustee 1 partial"));
  const other = voteContext({ ceremony: CEREMONY, voteId: "v-other", layout: layouts.motion, jointKey: ceremony.K });
  assert.throws(() => checkPartial(other.hV, 1, K1, agg, partial), refused("trustee 1 partial"));
});

test("the backup file restores the trustee's secrets with the passphrase, and nothing without it", async () => {
  const secrets = { ceremony: CEREMONY, seat: 2, coefficients: newPolynomial(2), secretShare: newPolynomial(1)[0] };
  const file = await backupTrustee(secrets, "监票人的口令 correct horse");
  for (const secret of [...secrets.coefficients, secrets.secretShare]) {
    assert.ok(!file.includes(scalarToHex(secret)), "a secret in the clear");
  }
  assert.deepEqual(await restoreTrustee(file, "监票人的口令 correct horse"), secrets);
  await assert.rejects(restoreTrustee(file, "监票人的口令 correct horse!"), refused("backup"));
  const altered = JSON.parse(file);
  altered.cipher.iv = "00".repeat(12);
  await assert.rejects(restoreTrustee(JSON.stringify(altered), "监票人的口令 correct horse"), refused("backup"));
  await assert.rejects(backupTrustee(secrets, "short"), refused("passphrase"));
});

test("variable-time multiplication stays behind mulPublic, and the tablet's prover never uses it", () => {
  const dir = new URL("../../kiosk_client/static/js/trustees/", import.meta.url);
  for (const name of readdirSync(dir).filter((n) => n.endsWith(".mjs"))) {
    const source = readFileSync(new URL(name, dir), "utf8");
    if (name !== "group.mjs") assert.doesNotMatch(source, /multiplyUnsafe/, name);
  }
  const ballot = readFileSync(new URL("ballot.mjs", dir), "utf8");
  const body = (fn) => ballot.slice(ballot.indexOf(`function ${fn}(`), ballot.indexOf("\n}\n", ballot.indexOf(`function ${fn}(`)));
  for (const fn of ["proveRange", "encryptBallot"]) {
    assert.ok(body(fn).length > 100, fn);
    assert.doesNotMatch(body(fn), /mulPublic/, `${fn} multiplies in variable time`);
  }
});
