"""Every ``type`` of a log entry, in one place: the server writes only these
(``AuditLog`` refuses any other), the verifier dispatches on them
(``Replay.on_<type>``) and rejects any other, and the auditor's page filters
by them. docs/audit-log.md describes each entry's ``data``.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from crypto import statements


class EntryType(StrEnum):
    LOG_STARTED = "log_started"
    CHECKPOINT = statements.CHECKPOINT  # a signed head: the entry is the statement
    ROSTER = "roster"
    STAFF_CREATED = "staff_created"
    STAFF_DISABLED = "staff_disabled"
    STAFF_ROLE_CHANGED = "staff_role_changed"
    STAFF_SCOPE_CHANGED = "staff_scope_changed"
    SCRUTINEERS_DESIGNATED = "scrutineers_designated"
    DEVICE_ENROLLED = "device_enrolled"
    DEVICE_ENROLLMENT_REQUESTED = "device_enrollment_requested"
    DEVICE_ENROLLMENT_CONFIRMED = "device_enrollment_confirmed"
    DEVICE_ENROLLMENT_REJECTED = "device_enrollment_rejected"
    DEVICE_REVOKED = "device_revoked"
    SIGNED_IN = "signed_in"
    PIN_CONFIRMED = "pin_confirmed"
    VOTE_CONFIGURED = "vote_configured"
    VOTE_OPENED = "vote_opened"
    BALLOT = statements.BALLOT  # the kiosk signed the entry's statement of this type
    PARTICIPATION = statements.PARTICIPATION
    VOTE_CLOSED = "vote_closed"
    BALLOTS_RELEASED = "ballots_released"
    RESULT = "result"
    VOTE_CANCELLED = "vote_cancelled"
    VOTE_ANNOUNCED = "vote_announced"
    PAPER_COUNT_ENTERED = "paper_count_entered"
    COUNTERSIGNED = "countersigned"
    MANUAL_RESULT = "manual_result"


E = EntryType
DESCRIPTIONS: Mapping[EntryType, str] = {
    E.LOG_STARTED: "entry 0: the server's public key and the body whose log it is",
    E.CHECKPOINT: "a signed head (size, Merkle root) of every entry before it",
    E.ROSTER: "a body's whole active roster, whenever it changes",
    E.STAFF_CREATED: "a staff account made (or, once, one older than this logging)",
    E.STAFF_DISABLED: "a staff account disabled",
    E.STAFF_ROLE_CHANGED: "a staff account's role changed",
    E.STAFF_SCOPE_CHANGED: "the bodies a staff account serves changed",
    E.SCRUTINEERS_DESIGNATED: "the presidium designates a sitting's scrutineers (监票人)",
    E.DEVICE_ENROLLED: "a seat's first tablet and its key",
    E.DEVICE_ENROLLMENT_REQUESTED: "a replacement tablet, waiting for the presidium",
    E.DEVICE_ENROLLMENT_CONFIRMED: "the presidium confirms a replacement tablet",
    E.DEVICE_ENROLLMENT_REJECTED: "the presidium rejects a replacement tablet",
    E.DEVICE_REVOKED: "a tablet revoked",
    E.SIGNED_IN: "a deputy signed in (签到), on the tablet or by staff",
    E.PIN_CONFIRMED: "a deputy already present entered the PIN on a tablet",
    E.VOTE_CONFIGURED: "a vote's configuration, when it opens or is cancelled as a draft",
    E.VOTE_OPENED: "表决开始",
    E.BALLOT: "a named vote's ballot, signed by the tablet",
    E.PARTICIPATION: "a secret vote's participation, signed by the tablet, without the choice",
    E.VOTE_CLOSED: "表决结束",
    E.BALLOTS_RELEASED: "a secret vote's counted ballots, shuffled",
    E.RESULT: "the result, as the rules engine counted it",
    E.VOTE_CANCELLED: "a vote withdrawn, with the reason",
    E.VOTE_ANNOUNCED: "宣布表决结果",
    E.PAPER_COUNT_ENTERED: "a hand count (人工计票) entered by the secretariat",
    E.COUNTERSIGNED: "a countersignature (会签) of a paper count or a result",
    E.MANUAL_RESULT: "the result of a countersigned paper count",
}
NAMES = frozenset(t.value for t in EntryType)


def entry_type(name: str) -> EntryType:
    """The type called ``name``; ValueError naming it if the log has no such type."""
    try:
        return EntryType(name)
    except ValueError:
        raise ValueError(f"unknown entry type {name!r}") from None
