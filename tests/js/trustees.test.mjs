// The JavaScript trustee-mode cryptography (kiosk_client/static/js/trustees/) against the
// shared vectors tests/vectors/trustees.json, which the Python side (crypto/trustees/,
// tests/trustee_vectors.py) writes: from the file's inputs and fixed randomness, every
// hash, commitment, proof, encrypted share, ballot, aggregate, partial decryption,
// Lagrange coefficient and count must come out byte for byte; every tampered variant
// must be refused. Run: node --test tests/js  (tests/test_js.py runs it in the suite).

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { bytesToHex, hexToBytes } from "../../kiosk_client/static/js/vendor/noble.mjs";
import { G, ORDER, TrusteeCryptoError, elementFromHex, elementToHex, scalarFromHex, scalarToHex } from "../../kiosk_client/static/js/trustees/group.mjs";
import { H, Hq, element, int, sep, text } from "../../kiosk_client/static/js/trustees/hashing.mjs";
import {
  aggregateBallots, ballotContext, checkCommitments, checkPartial, commitToPolynomial,
  decryptCounts, decryptShare, encryptBallot, encryptShare, evaluatePolynomial, feldmanHolds,
  jointKey, lagrange, manifestText, partialDecrypt, publicShare, secretShare, verifyBallot,
  voteContext,
} from "../../kiosk_client/static/js/trustees/index.mjs";
import { ceremonyHash } from "../../kiosk_client/static/js/trustees/vote.mjs";

const V = JSON.parse(readFileSync(new URL("../vectors/trustees.json", import.meta.url), "utf8"));
const C = V.ceremony;
const CEREMONY = { id: C.ceremony_id, n: C.n, k: C.k };
const trustee = (i) => C.trustees.find((t) => t.i === i);
const commitmentPoints = () => C.trustees.map((t) => checkCommitments(ceremonyHash(C.ceremony_id, C.n, C.k), t.i, C.k, t.commitments));
const contextOf = (vote, voteId = vote.vote_id) => voteContext({ ceremony: CEREMONY, voteId, layout: vote.layout, jointKey: C.joint_key });
const voteNamed = (name) => V.votes.find((v) => v.name === name);

/** The file's fixed randomness as encryptBallot's labelled draws (trustees/ballot.mjs). */
function ballotDraws(nonces, marks) {
  return (label) => {
    const [kind, ...rest] = label.split("/");
    if (kind === "xi") return scalarFromHex(nonces[+rest[0]].selections[+rest[1]].xi);
    const [c, o, what] = kind === "option" ? [+rest[0], +rest[1], rest[2]] : [+rest[0], null, rest[1]];
    const source = o === null ? nonces[c].limit : nonces[c].selections[o];
    const value = o === null ? marks[c].reduce((a, b) => a + b, 0) : marks[c][o];
    if (what === "u") return scalarFromHex(source.u);
    const j = Number(what.slice(1));
    return scalarFromHex(source[what[0]][j < value ? j : j - 1]); // the simulated pairs skip the true branch
  };
}

function hashPart(part) {
  const [[kind, value]] = Object.entries(part);
  switch (kind) {
    case "separator": return sep(value);
    case "int": return int(value);
    case "text": return text(value);
    case "element": return element(elementFromHex(value, "element"));
    case "scalar": return hexToBytes(scalarToHex(scalarFromHex(value, "scalar")));
    case "hash": return hexToBytes(value);
    default: throw new Error(`unknown part ${kind}`);
  }
}

test("the group is ristretto255: its order and base point", () => {
  assert.equal(ORDER.toString(), V.group.order);
  assert.equal(elementToHex(G), V.group.base);
});

test("H and Hq over every kind of part", () => {
  for (const [n, item] of V.hashing.entries()) {
    const parts = item.parts.map(hashPart);
    assert.equal(bytesToHex(H(hexToBytes(item.key), ...parts)), item.H, `hashing[${n}].H`);
    assert.equal(scalarToHex(Hq(hexToBytes(item.key), ...parts)), item.Hq, `hashing[${n}].Hq`);
  }
});

test("the ceremony: H_C, commitments and Schnorr proofs, shares, public shares, joint key", async () => {
  const hC = ceremonyHash(C.ceremony_id, C.n, C.k);
  assert.equal(bytesToHex(hC), C.H_C);
  for (const t of C.trustees) {
    const coefficients = t.coefficients.map((x) => scalarFromHex(x));
    const us = t.schnorr_u.map((x) => scalarFromHex(x));
    assert.deepEqual(commitToPolynomial(hC, t.i, coefficients, (label) => us[Number(label.slice(1))]), t.commitments, `trustee ${t.i}`);
    assert.equal(scalarToHex(evaluatePolynomial(coefficients, t.i)), t.own_share);
    for (const share of t.shares) {
      assert.equal(scalarToHex(evaluatePolynomial(coefficients, share.to)), share.value, `P_${t.i}(${share.to})`);
      const recipient = trustee(share.to);
      const sent = await encryptShare(hC, t.i, share.to, recipient.commitments[0].commitment, scalarFromHex(share.value), () => scalarFromHex(share.xi));
      assert.deepEqual(sent, share.encrypted, `share ${t.i}→${share.to}`);
      const opened = await decryptShare(hC, t.i, share.to, scalarFromHex(recipient.coefficients[0]), share.encrypted);
      assert.equal(scalarToHex(opened), share.value);
    }
  }
  const points = commitmentPoints();
  for (const t of C.trustees) {
    const received = C.trustees.map((s) => (s.i === t.i ? s.own_share : s.shares.find((x) => x.to === t.i).value));
    for (const s of C.trustees) {
      if (s.i !== t.i) assert.ok(feldmanHolds(points[s.i - 1], t.i, scalarFromHex(received[s.i - 1])), `Feldman ${s.i}→${t.i}`);
    }
    assert.equal(scalarToHex(secretShare(received.map((x) => scalarFromHex(x)))), t.secret_share, `s_${t.i}`);
    assert.equal(publicShare(points, t.i), t.public_share, `K̂_${t.i}`);
  }
  assert.equal(jointKey(points), C.joint_key);
});

for (const vote of V.votes) {
  test(`the ${vote.name}: manifest, H_V, each ballot byte for byte, H_B, and it verifies`, () => {
    assert.equal(manifestText(vote.layout), vote.manifest);
    const ctx = contextOf(vote);
    assert.equal(bytesToHex(ctx.hV), vote.H_V);
    for (const b of vote.ballots) {
      const who = { memberId: b.member_id, nonce: b.nonce };
      const ballot = encryptBallot(ctx, { ...who, marks: b.marks }, ballotDraws(b.nonces, b.marks));
      assert.deepEqual(ballot, b.ballot, `${b.member_id}'s ballot`);
      const cts = b.ballot.contests.map((c) => c.selections.map((s) => ({ alpha: elementFromHex(s.alpha), beta: elementFromHex(s.beta) })));
      assert.equal(bytesToHex(ballotContext(ctx.hV, b.member_id, b.nonce, cts)), b.H_B);
      assert.equal(verifyBallot(ctx, { ...who, ballot: b.ballot }), true);
    }
  });

  test(`the ${vote.name}: aggregates, partial decryptions, Lagrange coefficients, counts`, () => {
    const ctx = contextOf(vote);
    const aggregates = aggregateBallots(vote.layout, vote.ballots.map((b) => b.ballot));
    assert.deepEqual(aggregates, vote.aggregates);
    const publicShares = Object.fromEntries(C.trustees.map((t) => [t.i, t.public_share]));
    const partials = {};
    for (const p of vote.partials) {
      const share = scalarFromHex(trustee(p.i).secret_share);
      const mine = vote.layout.map((contest, c) => contest.options.map((_, o) =>
        partialDecrypt(ctx.hV, p.i, share, aggregates[c][o], () => scalarFromHex(p.u[c][o]))));
      assert.deepEqual(mine, p.partials, `trustee ${p.i}'s partial decryptions`);
      mine.forEach((row, c) => row.forEach((partial, o) => checkPartial(ctx.hV, p.i, publicShares[p.i], aggregates[c][o], partial)));
      partials[p.i] = p.partials;
    }
    for (const set of vote.lagrange) {
      const w = lagrange(set.trustees);
      assert.deepEqual(set.trustees.map((i) => scalarToHex(w.get(i))), set.w, `Lagrange ${set.trustees}`);
      const some = Object.fromEntries(set.trustees.map((i) => [i, partials[i]]));
      assert.deepEqual(decryptCounts(ctx.hV, vote.layout, aggregates, publicShares, some, C.k, C.joint_key, vote.bound), vote.counts, `counts by ${set.trustees}`);
    }
  });
}

/** Runs the check a tampered case names; returns the refusal (or undefined if accepted). */
async function refusalOf(item) {
  const hC = ceremonyHash(C.ceremony_id, C.n, C.k);
  try {
    switch (item.kind) {
      case "ballot": {
        const ctx = contextOf(voteNamed(item.vote), item.vote_id);
        verifyBallot(ctx, { memberId: item.member_id, nonce: item.nonce, ballot: item.ballot });
        break;
      }
      case "commitments":
        checkCommitments(hC, item.trustee, C.k, item.commitments);
        break;
      case "share": {
        const share = await decryptShare(hC, item.from, item.to, scalarFromHex(trustee(item.to).coefficients[0]), item.encrypted);
        if (!feldmanHolds(commitmentPoints()[item.from - 1], item.to, share)) {
          throw new TrusteeCryptoError(`share from trustee ${item.from} to trustee ${item.to}`, "Feldman's check fails");
        }
        break;
      }
      case "partial": {
        const vote = voteNamed(item.vote);
        const agg = vote.aggregates[item.contest][item.option];
        const where = `trustee ${item.trustee} partial decryption of aggregates[${item.contest}][${item.option}]`;
        checkPartial(contextOf(vote).hV, item.trustee, trustee(item.trustee).public_share, agg, item.partial, where);
        break;
      }
      case "aggregates": {
        const vote = voteNamed(item.vote);
        const publicShares = Object.fromEntries(C.trustees.map((t) => [t.i, t.public_share]));
        const partials = Object.fromEntries(item.trustees.map((i) => [i, vote.partials.find((p) => p.i === i).partials]));
        decryptCounts(contextOf(vote).hV, vote.layout, item.aggregates, publicShares, partials, C.k, C.joint_key, vote.bound);
        break;
      }
      default:
        throw new Error(`unknown tampered kind ${item.kind}`);
    }
  } catch (error) {
    if (!(error instanceof TrusteeCryptoError)) throw error;
    return error;
  }
  return undefined;
}

test("every tampered variant is refused", async () => {
  assert.ok(V.tampered.length >= 30);
  for (const item of V.tampered) {
    const error = await refusalOf(item);
    assert.ok(error, `accepted: ${item.kind} "${item.name}" (Python refuses ${item.field}: ${item.error})`);
    // where Python names a field (not the ballot as a whole), the same field is named here
    if (item.field !== "ballot" && !item.field.startsWith("trustee ")) {
      assert.equal(error.field, item.field, `${item.name}: ${error.message}`);
    }
  }
});
