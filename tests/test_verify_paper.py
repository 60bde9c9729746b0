"""The verifier on paper counts (人工计票) and countersignatures.

A hand count enters the log as ballots (entered directly, or made from the
counts) after the presidium cancelled the failed vote with a reason, is
countersigned by two distinct designated scrutineers, and only then is its
result logged — which the verifier recounts like any other.
"""

from __future__ import annotations

import json
from typing import Any

from audit.verify import verify_log
from rules import VoteKind, VoteSpec, tally
from rules.paper import ballots_from_counts
from tests.support.logs import LogBuilder

MOTION = VoteSpec(kind=VoteKind.MOTION, subjects=("budget",))
COUNTS = {"cast": 4, "subjects": {"budget": {"yes": 3, "no": 1, "abstain": 0, "invalid": 0}}}


def paper_sitting(
    *,
    signers: tuple[tuple[int, str], ...] = ((7, "scrutineer"), (8, "scrutineer")),
    counts: dict[str, Any] = COUNTS,
    ballots: list[Any] | None = None,
    result: dict[str, Any] | None = None,
) -> tuple[LogBuilder, dict[str, int]]:
    """5 members, 4 present; the electronic vote fails and is cancelled; paper takes over."""
    log = LogBuilder(members=5)
    log.duties()
    log.sign_in(1, 2, 3, 4)
    log.configure(1, MOTION, secret=True)
    log.open(1, MOTION, present=4)
    log.press(1, 1, None, secret=True)
    log.append("vote_cancelled", {"vote": 1, "reason": "系统故障，改用纸质表决", "by": 1})
    marks = {}
    paper = ballots_from_counts(MOTION, counts) if ballots is None else ballots
    marks["entered"] = log.append("paper_count_entered", {
        "vote": 1, "members": 5, "present": 4, "attendance": 4, "present_reason": None,
        "mode": "counts", "counts": counts, "ballots": paper, "by": 2,
    })  # fmt: skip
    for i, (by, role) in enumerate(signers):
        marks[f"signed{i}"] = log.append(
            "countersigned",
            {"vote": 1, "subject": "paper_count", "by": by, "role": role, "name": f"监票人{by}"},
        )
    marks["result"] = log.append("manual_result", {
        "vote": 1, "members": 5, "present": 4,
        "result": result or tally(MOTION, 5, 4, ballots_from_counts(MOTION, counts)),
    })  # fmt: skip
    return log, marks


def first_error(log: LogBuilder) -> dict | None:
    report = verify_log(log.lines, log.server.public_bytes)
    return report.errors[0] if report.errors else None


def test_a_countersigned_paper_count_verifies_and_is_checkpointed() -> None:
    log, marks = paper_sitting()
    assert first_error(log) is None
    after = json.loads(log.lines[marks["result"] + 1])
    assert after["type"] == "checkpoint"
    result = json.loads(log.lines[marks["result"]])["data"]["result"]
    assert result["subjects"]["budget"]["yes"] == 3 and result["subjects"]["budget"]["passed"]


def test_one_scrutineer_is_not_enough() -> None:
    log, marks = paper_sitting(signers=((7, "scrutineer"),))
    error = first_error(log)
    assert error is not None and error["index"] == marks["result"]
    assert "1 scrutineer(s) countersigned; 2 needed" in error["reason"]


def test_the_same_scrutineer_twice_is_refused() -> None:
    log, marks = paper_sitting(signers=((7, "scrutineer"), (7, "scrutineer")))
    error = first_error(log)
    assert error is not None and error["index"] == marks["signed1"] and "twice" in error["reason"]


def test_the_presidium_cannot_stand_in_for_a_scrutineer() -> None:
    log, marks = paper_sitting(signers=((7, "scrutineer"), (1, "presidium")))
    error = first_error(log)
    assert error is not None and error["index"] == marks["signed1"]
    assert "scrutineers" in error["reason"]


def test_ballots_that_are_not_the_counts_fail_where_entered() -> None:
    log, marks = paper_sitting(ballots=[{"budget": "yes"}] * 4)
    error = first_error(log)
    assert error is not None and error["index"] == marks["entered"]
    assert "not those of the counts" in error["reason"]


def test_a_manual_result_that_is_not_the_recount_fails() -> None:
    honest = tally(MOTION, 5, 4, ballots_from_counts(MOTION, COUNTS))
    inflated = json.loads(json.dumps(honest))
    inflated["subjects"]["budget"]["no"] = 0
    log, marks = paper_sitting(result=inflated)
    error = first_error(log)
    assert error is not None and error["index"] == marks["result"]
    assert "recount of the paper ballots" in error["reason"]


def test_no_paper_count_for_a_vote_that_has_its_result() -> None:
    log = LogBuilder(members=5)
    log.duties()
    log.sign_in(1, 2, 3, 4)
    log.configure(1, MOTION, secret=False)
    log.open(1, MOTION, present=4)
    log.press(1, 1, {"budget": "yes"}, secret=False)
    log.close(1, MOTION, 4, [{"budget": "yes"}], secret=False)
    k = log.append("paper_count_entered", {
        "vote": 1, "members": 5, "present": 4, "attendance": 4, "present_reason": None,
        "mode": "counts", "counts": COUNTS, "ballots": ballots_from_counts(MOTION, COUNTS), "by": 2,
    })  # fmt: skip
    error = first_error(log)
    assert error is not None and error["index"] == k and "closed" in error["reason"]


def test_a_result_is_countersigned_only_once_it_exists() -> None:
    log = LogBuilder(members=5)
    log.duties()
    log.sign_in(1, 2, 3, 4)
    log.configure(1, MOTION, secret=False)
    log.open(1, MOTION, present=4)
    early = log.append(
        "countersigned",
        {"vote": 1, "subject": "result", "by": 1, "role": "presidium", "name": "甲"},
    )
    error = first_error(log)
    assert error is not None and error["index"] == early and "before the result" in error["reason"]

    log = LogBuilder(members=5)
    log.duties()
    log.sign_in(1, 2, 3, 4)
    log.configure(1, MOTION, secret=False)
    log.open(1, MOTION, present=4)
    log.press(1, 1, {"budget": "yes"}, secret=False)
    log.close(1, MOTION, 4, [{"budget": "yes"}], secret=False)
    for by, role in ((1, "presidium"), (7, "scrutineer")):
        log.append(
            "countersigned", {"vote": 1, "subject": "result", "by": by, "role": role, "name": "乙"}
        )
    assert first_error(log) is None
    again = log.append(
        "countersigned",
        {"vote": 1, "subject": "result", "by": 7, "role": "scrutineer", "name": "乙"},
    )
    error = first_error(log)
    assert error is not None and error["index"] == again and "twice" in error["reason"]
