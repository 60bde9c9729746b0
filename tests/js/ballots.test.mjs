// The tablet's ballot renderers (kiosk_client/static/js/kiosk/ballots.mjs) for the
// evaluation's variants, without a page: which renderer a vote gets, what counts as
// missing, and that scores go out as JSON integers in range (the server refuses "85").
// Run: node --test tests/js  (tests/test_js.py runs it in the Python suite).

import assert from "node:assert/strict";
import { test } from "node:test";

import { ballotKind } from "../../kiosk_client/static/js/kiosk/ballots.mjs";
import { canonical } from "../../kiosk_client/static/js/kiosk/statements.mjs";

const subjects = [{ id: "edu", title: "县教育局" }, { id: "civil", title: "县民政局" }];
const scored = { kind: "evaluation", subjects: subjects, scores: { min: 10, max: 100 } };
const marked = { kind: "evaluation", subjects: subjects };

test("a score evaluation gets the number pad, a marks evaluation the three keys", () => {
  assert.notEqual(ballotKind(scored), ballotKind(marked));
  assert.equal(ballotKind(marked), ballotKind({ kind: "evaluation", subjects: subjects }));
  assert.deepEqual(ballotKind(scored).empty(), {});
});

test("every department needs a score in range before the next step", () => {
  const kind = ballotKind(scored);
  assert.equal(kind.missing(scored, {}), 2);
  assert.equal(kind.missing(scored, { edu: 85 }), 1);
  assert.equal(kind.missing(scored, { edu: 85, civil: 5 }), 1); // below the lowest
  assert.equal(kind.missing(scored, { edu: 85, civil: 100 }), 0);
});

test("scores are sent as integers, and only those in range", () => {
  const kind = ballotKind(scored);
  const ballot = kind.ballot(scored, { edu: 85, civil: 5 });
  assert.deepEqual(ballot, { edu: 85 });
  assert.equal(canonical(kind.ballot(scored, { edu: 100, civil: 10 })), '{"civil":10,"edu":100}');
});
