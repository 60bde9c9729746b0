"""The verifier on separation of duties (分权, docs/duties.md).

It builds the staff roster from the log's own ``staff_*`` entries and the
sitting's scrutineers from ``scrutineers_designated``, and rejects an entry
whose author the log does not allow at that point: a countersignature by an
account it never saw created, by a scrutineer not designated for the sitting,
by the secretariat; a paper count on a vote still open or never opened, or
whose 实到 differs from the sign-ins without a reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from audit.verify import verify_log
from rules import VoteKind, VoteSpec, tally
from rules.paper import ballots_from_counts
from tests.support.bundles import bundle_of, run
from tests.support.logs import LogBuilder

MOTION = VoteSpec(kind=VoteKind.MOTION, subjects=("budget",))
COUNTS = {"cast": 4, "subjects": {"budget": {"yes": 3, "no": 1, "abstain": 0, "invalid": 0}}}
NAMED = [{"budget": "yes"}, {"budget": "no"}, {"budget": "yes"}]


def first_error(log: LogBuilder) -> dict[str, Any] | None:
    report = verify_log(log.lines, log.server.public_bytes)
    return report.errors[0] if report.errors else None


def fails_at(log: LogBuilder, index: int, words: str) -> None:
    error = first_error(log)
    assert error is not None, "the log verified"
    assert (error["index"], words in error["reason"]) == (index, True), error


def closed_vote() -> LogBuilder:
    """Staff, designation, a named vote closed with its result."""
    log = LogBuilder(members=5)
    log.duties()
    log.sign_in(1, 2, 3, 4)
    log.configure(1, MOTION, secret=False)
    log.open(1, MOTION, present=4)
    for m, ballot in zip((1, 2, 3), NAMED, strict=True):
        log.press(1, m, ballot, secret=False)
    log.close(1, MOTION, 4, NAMED, secret=False)
    return log


def countersign(log: LogBuilder, by: int, role: str, subject: str = "result") -> int:
    return log.append(
        "countersigned", {"vote": 1, "subject": subject, "by": by, "role": role, "name": "某"}
    )


def held_and_cancelled(*, cancel_by: int | None = 1, reason: str = "表决器故障") -> LogBuilder:
    log = LogBuilder(members=5)
    log.duties()
    log.sign_in(1, 2, 3, 4)
    log.configure(1, MOTION, secret=True)
    log.open(1, MOTION, present=4)
    log.append("vote_cancelled", {"vote": 1, "reason": reason, "by": cancel_by})
    return log


def paper(log: LogBuilder, *, present: int = 4, reason: str | None = None, by: int = 2) -> int:
    return log.append("paper_count_entered", {
        "vote": 1, "members": 5, "present": present, "attendance": 4, "present_reason": reason,
        "mode": "counts", "counts": COUNTS, "ballots": ballots_from_counts(MOTION, COUNTS),
        "by": by,
    })  # fmt: skip


# --- countersignatures ---------------------------------------------------------------------


def test_designated_scrutineers_and_the_presidium_countersign_a_result() -> None:
    log = closed_vote()
    countersign(log, 1, "presidium")
    countersign(log, 7, "scrutineer")
    countersign(log, 8, "scrutineer")
    assert first_error(log) is None


def test_a_countersignature_by_an_account_the_log_never_created_is_rejected() -> None:
    log = closed_vote()
    k = countersign(log, 42, "scrutineer")
    fails_at(log, k, "account 42 was never created in the log")


def test_a_countersignature_by_a_scrutineer_not_designated_is_rejected() -> None:
    log = closed_vote()
    k = countersign(log, 9, "scrutineer")
    fails_at(log, k, "scrutineer 9 is not designated for this sitting")


def test_the_secretariat_never_countersigns() -> None:
    log = closed_vote()
    k = countersign(log, 2, "secretariat")
    fails_at(log, k, "role secretariat does not countersign")


def test_a_disabled_or_re_roled_account_no_longer_countersigns() -> None:
    log = closed_vote()
    log.append("staff_disabled", {"user": 7, "username": "user7", "name": "某", "role": "scrutineer",
                                  "by": 2})  # fmt: skip
    k = countersign(log, 7, "scrutineer")
    fails_at(log, k, "account 7 is unknown or disabled")

    log = closed_vote()
    log.append("staff_role_changed", {"user": 8, "username": "user8", "name": "某",
                                      "role": "display", "from": "scrutineer", "by": 2})  # fmt: skip
    k = countersign(log, 8, "scrutineer")
    fails_at(log, k, "role scrutineer, but account 8 is display")


# --- designations and account changes ----------------------------------------------------------


def test_scrutineers_are_designated_by_the_presidium_before_voting() -> None:
    log = LogBuilder(members=5)
    for user, role in ((1, "presidium"), (2, "secretariat"), (7, "scrutineer"), (8, "scrutineer")):
        log.staff(user, role)
    k = log.designate([7, 8], by=2)
    fails_at(log, k, "scrutineers are designated by the presidium")

    log = closed_vote()
    k = log.designate([7, 8], by=1)
    fails_at(log, k, "scrutineers designated after voting began")

    log = LogBuilder(members=5)
    log.staff(1, "presidium")
    log.staff(7, "scrutineer")
    k = log.designate([7, 7], by=1)
    fails_at(log, k, "named twice")


def test_account_changes_follow_the_duties() -> None:
    log = LogBuilder(members=5)
    log.staff(1, "presidium")
    log.staff(2, "secretariat")
    assert first_error(log) is None
    k = log.staff(3, "scrutineer", by=1)  # the presidium does not make accounts
    fails_at(log, k, "only the secretariat manages staff accounts")

    log = LogBuilder(members=5)
    log.staff(2, "secretariat")
    k = log.staff(3, "presidium", by=2)
    fails_at(log, k, "presidium role is granted from the command line only")

    log = LogBuilder(members=5)
    existing = {"username": "old", "name": "某", "by": None, "existing": True}
    log.append("staff_created", {"user": 1, "role": "presidium", **existing})  # an old account
    log.staff(2, "secretariat")
    assert first_error(log) is None
    k = log.append("staff_created", {"user": 3, "role": "presidium", **existing})
    fails_at(log, k, "an existing account after accounts were logged")

    log = LogBuilder(members=5)
    log.staff(2, "secretariat")
    k = log.append("staff_role_changed", {"user": 2, "username": "user2", "name": "某",
                                          "role": "scrutineer", "from": "secretariat", "by": 2})  # fmt: skip
    fails_at(log, k, "changes its own role")


# --- paper counts ------------------------------------------------------------------------------


def test_a_paper_count_needs_a_presidium_cancel_of_a_vote_that_was_held() -> None:
    log = held_and_cancelled()
    paper(log)
    assert first_error(log) is None

    log = LogBuilder(members=5)
    log.duties()
    log.sign_in(1, 2, 3, 4)
    log.configure(1, MOTION, secret=True)
    log.open(1, MOTION, present=4)
    k = paper(log)
    fails_at(log, k, "paper count for a vote that is open")

    log = LogBuilder(members=5)
    log.duties()
    log.configure(1, MOTION, secret=True)  # as a cancelled draft is logged
    log.append("vote_cancelled", {"vote": 1, "reason": "撤回", "by": 1})
    k = paper(log)
    fails_at(log, k, "never opened")

    for cancel_by, reason in ((None, "表决密钥丢失"), (1, " "), (2, "表决器故障")):
        log = held_and_cancelled(cancel_by=cancel_by, reason=reason)
        k = paper(log)
        fails_at(log, k, "not cancelled by the presidium with a reason")


def test_a_paper_count_is_entered_by_the_secretariat() -> None:
    log = held_and_cancelled()
    k = paper(log, by=1)
    fails_at(log, k, "entered by the secretariat")
    log = held_and_cancelled()
    k = paper(log, by=5)
    fails_at(log, k, "account 5 was never created in the log")


def test_present_other_than_the_sign_ins_needs_a_logged_reason() -> None:
    log = held_and_cancelled()
    k = paper(log, present=3)
    fails_at(log, k, "present 3 ≠ attendance 4: a reason is required")
    log = held_and_cancelled()
    paper(log, present=3, reason="一名代表离会")
    for by in (7, 8):
        countersign(log, by, "scrutineer", "paper_count")
    honest = tally(MOTION, 5, 3, ballots_from_counts(MOTION, COUNTS))
    log.append("manual_result", {"vote": 1, "members": 5, "present": 3, "result": honest})
    assert first_error(log) is None


def test_voting_audit_verify_names_the_entry_and_the_reason(tmp_path: Path) -> None:
    log = closed_vote()
    k = countersign(log, 42, "scrutineer")
    done = run("verify", str(bundle_of(tmp_path, log)))
    assert done.returncode == 1
    assert done.stdout.splitlines()[0] == (
        f"FAILED at entry {k}: countersigned: account 42 was never created in the log"
    )


def scope(log: LogBuilder, user: int, role: str, bodies: list[int] | None, by: int | None) -> int:
    return log.append("staff_scope_changed", {
        "user": user, "username": f"user{user}", "name": "某", "role": role, "active": True,
        "bodies": bodies, "from": None, "by": by,
    })  # fmt: skip


def test_an_account_scoped_away_from_the_body_no_longer_acts_in_its_log() -> None:
    """One log per body (docs/bodies.md): the roster names body 1; a scrutineer scoped
    to body 2 only has left it, and its countersignature in body 1's log is refused."""
    log = closed_vote()
    scope(log, 7, "scrutineer", [2], by=None)
    fails_at(log, countersign(log, 7, "scrutineer"), "unknown or disabled")


def test_an_account_scoped_into_the_body_acts_there_from_then_on() -> None:
    log = closed_vote()
    countersign(log, 1, "presidium")
    scope(log, 10, "presidium", [1, 2], by=None)  # an account the log had not seen: it comes
    countersign(log, 10, "presidium")
    assert first_error(log) is None
    # Scoping an account is the secretariat's (or the command line's), not the presidium's.
    fails_at(log, scope(log, 7, "scrutineer", None, by=1), "only the secretariat")


# --- sign-in PINs (签到密码) ------------------------------------------------------------------


def test_pins_are_reset_by_the_secretariat_or_the_command_line_only() -> None:
    log = LogBuilder(members=5)
    log.duties()  # 1 presidium, 2 secretariat, 7 and 8 scrutineers
    log.append("pins_reset", {"seats": [3], "all": False, "by": 2})
    log.append("pins_reset", {"seats": [1, 2, 3, 4, 5], "all": True, "by": None})
    assert first_error(log) is None
    k = log.append("pins_reset", {"seats": [3], "all": False, "by": 7})
    fails_at(log, k, "sign-in PINs are reset by the secretariat")
    log = LogBuilder(members=5)
    log.duties()
    k = log.append("pins_reset", {"seats": [], "all": False, "by": 2})
    fails_at(log, k, "seats: a non-empty list")
