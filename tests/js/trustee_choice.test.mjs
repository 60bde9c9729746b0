// Trustee mode on the tablet without a page: the deputy's choice as the manifest's
// chosen options (kiosk/ballots.mjs trusteeChoice, then trustees/ballot.mjs
// marksFromChoice), and the joint key's fingerprint (kiosk/fingerprint.mjs) that the
// scrutineers' page shows too. Run: node --test tests/js (tests/test_js.py).

import assert from "node:assert/strict";
import { test } from "node:test";

import { trusteeChoice } from "../../kiosk_client/static/js/kiosk/ballots.mjs";
import { keyFingerprint } from "../../kiosk_client/static/js/kiosk/fingerprint.mjs";
import { marksFromChoice } from "../../kiosk_client/static/js/trustees/index.mjs";

const motionLayout = [
  { id: "budget", options: ["yes", "no"], limit: 1 },
  { id: "plan", options: ["yes", "no"], limit: 1 },
];
const motion = {
  kind: "motion", subjects: [{ id: "budget", title: "预算" }, { id: "plan", title: "规划" }],
  trustees: { manifest: motionLayout },
};

test("a motion: yes and no are marks, 弃权 is nothing marked", () => {
  const chosen = trusteeChoice(motion, { budget: "no", plan: "abstain" });
  assert.deepEqual(chosen, { budget: ["no"], plan: [] });
  assert.deepEqual(marksFromChoice(motionLayout, chosen), [[0, 1], [0, 0]]);
});

test("a selection: the candidates chosen, in ballot order, in the one contest", () => {
  const layout = [{ id: "candidates", options: ["p1", "p2", "p3"], limit: 2 }];
  const vote = { kind: "selection", seats: 2, trustees: { manifest: layout },
    candidates: [{ id: "p1" }, { id: "p2" }, { id: "p3" }] };
  const chosen = trusteeChoice(vote, ["p3", "p1"]);
  assert.deepEqual(chosen, { candidates: ["p1", "p3"] });
  assert.deepEqual(marksFromChoice(layout, chosen), [[1, 0, 1]]);
});

test("an evaluation by marks: one of three per department; none is nothing marked", () => {
  const layout = [{ id: "edu", options: ["satisfied", "basic", "unsatisfied"], limit: 1 },
    { id: "civil", options: ["satisfied", "basic", "unsatisfied"], limit: 1 }];
  const vote = { kind: "evaluation", subjects: [{ id: "edu" }, { id: "civil" }], trustees: { manifest: layout } };
  assert.deepEqual(marksFromChoice(layout, trusteeChoice(vote, { edu: "basic" })), [[0, 1, 0], [0, 0, 0]]);
});

test("a score evaluation has no trustee-mode ballot; a subject outside the manifest is refused", () => {
  const scored = { kind: "evaluation", subjects: [{ id: "edu" }], scores: { min: 0, max: 100 },
    trustees: { manifest: motionLayout } };
  assert.throws(() => trusteeChoice(scored, { edu: 80 }), /no trustee-mode ballot/);
  const moved = { ...motion, subjects: [...motion.subjects, { id: "other" }] };
  assert.throws(() => marksFromChoice(motionLayout, trusteeChoice(moved, { other: "yes" })), /no such contest/);
});

test("the fingerprint: SHA-256 of the key's bytes, 8 hex digits in two groups, upper case", () => {
  // hashlib.sha256(bytes.fromhex(key)).hexdigest()[:8].upper() == "B4AED8A6"
  const key = "e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76";
  assert.equal(keyFingerprint(key), "B4AE D8A6");
  assert.throws(() => keyFingerprint(key.toUpperCase()), /64 lowercase hex/);
  assert.throws(() => keyFingerprint(key.slice(2)), /64 lowercase hex/);
});
