// The scrutineer page's check before decrypting (kiosk_client/static/js/trustees/presented.mjs)
// against tests/vectors/trustee_presented.json, which tests/trustee_presented_vectors.py
// writes and audit/trustee_presented.py checks too: the honest vote passes; a single
// ballot presented as the aggregate, a forged ballot, a member counted twice, fewer
// ballots than cast, a tablet at another seat or never enrolled, a replayed ciphertext
// and another vote's ballot are each refused, naming the same field as Python.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { TrusteeCryptoError, checkPresentedAggregates } from "../../kiosk_client/static/js/trustees/index.mjs";

const V = JSON.parse(readFileSync(new URL("../vectors/trustee_presented.json", import.meta.url), "utf8"));
const context = { voteId: V.context.vote_id, manifest: V.context.manifest };
const run = (d) => checkPresentedAggregates(context, d.ballots, d.devices, d.aggregates, d.cast);

test("an honest vote's aggregates are the product of its signed ballots", async () => {
  const cast = Object.values(V.honest.cast).reduce((a, b) => a + b, 0);
  assert.deepEqual(await run(V.honest), { ballots: cast });
});

test("the vectors hold every case the issue names", () => {
  const names = V.cases.map((c) => c.name);
  for (const name of ["single ballot as the aggregate", "forged ballot", "member counted twice", "fewer ballots than cast"]) {
    assert.ok(names.includes(name), name);
  }
});

for (const c of V.cases) {
  test(`refused: ${c.name}`, async () => {
    await assert.rejects(run(c), (error) => {
      assert.ok(error instanceof TrusteeCryptoError, String(error));
      assert.equal(error.field, c.field);
      return true;
    });
  });
}

test("two options' aggregates swapped are refused: each option is its own product", async () => {
  const changed = structuredClone(V.honest);
  const [first, second] = changed.aggregates.members[1];
  changed.aggregates.members[1] = [second, first];
  await assert.rejects(run(changed), (error) => error.field === "aggregates.members[1][0] (contest 'plan' option 'yes')");
});
