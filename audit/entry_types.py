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
    PINS_RESET = "pins_reset"
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
    ITEM_CHANGED = "item_changed"  # a tracked item (督办事项) changed state: rules/supervision.py
    LEAVE_RECORDED = "leave_recorded"
    # 密钥仪式: the trustees' key ceremony (docs/trustees.md, audit/trustee_ceremony.py)
    TRUSTEE_CEREMONY_STARTED = "trustee_ceremony_started"
    TRUSTEE_COMMITMENTS = "trustee_commitments"
    TRUSTEE_SHARES = "trustee_shares"
    TRUSTEE_VERDICTS = "trustee_verdicts"
    TRUSTEE_CEREMONY_FAILED = "trustee_ceremony_failed"
    TRUSTEE_KEY = "trustee_key"
    # a trustee-mode secret vote (docs/trustee-votes.md, audit/trustee_content.py)
    ENCRYPTED_BALLOT = statements.ENCRYPTED_BALLOT_ENTRY  # signed: ``encrypted-ballot``
    AGGREGATES = "aggregates"
    DECRYPTION_SHARE = "decryption_share"


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
    E.PINS_RESET: "new sign-in PINs (签到密码) for seats, by the secretariat; never the PINs",
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
    E.ITEM_CHANGED: "a tracked item (督办事项) changed state, with who or which vote changed it",
    E.LEAVE_RECORDED: "a member's leave (请假) for a sitting, with the reason, by the secretariat",
    E.TRUSTEE_CEREMONY_STARTED: "the presidium starts a key ceremony: the sitting's scrutineers as trustees, n and k",
    E.TRUSTEE_COMMITMENTS: "a trustee's k coefficient commitments, each with its Schnorr proof",
    E.TRUSTEE_SHARES: "a trustee's shares for the other trustees, each encrypted to its recipient",
    E.TRUSTEE_VERDICTS: "a trustee's verdict on each share it received: verified, or a complaint with the share",
    E.TRUSTEE_CEREMONY_FAILED: "a key ceremony failed (a valid complaint) or was abandoned for a new one",
    E.TRUSTEE_KEY: "the joint public key and each trustee's public share, from the commitments",
    E.ENCRYPTED_BALLOT: "a trustee-mode secret vote's encrypted ballot with its proofs, signed by the tablet",
    E.AGGREGATES: "a trustee-mode vote's counted ballots multiplied per option, at its close",
    E.DECRYPTION_SHARE: "a scrutineer's partial decryption of the aggregates, with its proofs",
}
NAMES = frozenset(t.value for t in EntryType)

# What people read for each type (the auditor's page, in Chinese or English): one label
# per type, here beside the types, so that a new type cannot go unnamed.
LABELS: Mapping[EntryType, tuple[str, str]] = {
    E.LOG_STARTED: ("日志开始", "Log started"),
    E.CHECKPOINT: ("签名检查点", "Signed checkpoint"),
    E.ROSTER: ("名册", "Roster"),
    E.STAFF_CREATED: ("新建工作人员账号", "Staff account created"),
    E.STAFF_DISABLED: ("停用工作人员账号", "Staff account disabled"),
    E.STAFF_ROLE_CHANGED: ("更改账号角色", "Staff role changed"),
    E.STAFF_SCOPE_CHANGED: ("更改服务机构", "Bodies served changed"),
    E.SCRUTINEERS_DESIGNATED: ("指定监票人", "Scrutineers designated"),
    E.DEVICE_ENROLLED: ("终端登记", "Tablet enrolled"),
    E.DEVICE_ENROLLMENT_REQUESTED: ("申请更换终端", "Replacement tablet requested"),
    E.DEVICE_ENROLLMENT_CONFIRMED: ("确认更换终端", "Replacement tablet confirmed"),
    E.DEVICE_ENROLLMENT_REJECTED: ("拒绝更换终端", "Replacement tablet rejected"),
    E.DEVICE_REVOKED: ("停用终端", "Tablet revoked"),
    E.PINS_RESET: ("重设签到密码", "Sign-in PINs reset"),
    E.SIGNED_IN: ("签到", "Signed in"),
    E.PIN_CONFIRMED: ("确认签到密码", "PIN confirmed"),
    E.VOTE_CONFIGURED: ("表决设置", "Vote configured"),
    E.VOTE_OPENED: ("表决开始", "Vote opened"),
    E.BALLOT: ("记名选票", "Named ballot"),
    E.PARTICIPATION: ("参加无记名表决", "Took part in a secret vote"),
    E.VOTE_CLOSED: ("表决结束", "Vote closed"),
    E.BALLOTS_RELEASED: ("公开无记名选票", "Secret ballots released"),
    E.RESULT: ("计票结果", "Result"),
    E.VOTE_CANCELLED: ("取消表决", "Vote cancelled"),
    E.VOTE_ANNOUNCED: ("宣布结果", "Result announced"),
    E.PAPER_COUNT_ENTERED: ("录入人工计票", "Paper count entered"),
    E.COUNTERSIGNED: ("会签", "Countersigned"),
    E.MANUAL_RESULT: ("人工计票结果", "Paper count result"),
    E.ITEM_CHANGED: ("督办事项变更", "Tracked item changed"),
    E.LEAVE_RECORDED: ("请假", "Leave recorded"),
    E.TRUSTEE_CEREMONY_STARTED: ("开始密钥仪式", "Key ceremony started"),
    E.TRUSTEE_COMMITMENTS: ("监票人公开承诺", "Trustee commitments"),
    E.TRUSTEE_SHARES: ("监票人分发密钥份额", "Trustee shares"),
    E.TRUSTEE_VERDICTS: ("监票人核验份额", "Trustee verdicts"),
    E.TRUSTEE_CEREMONY_FAILED: ("密钥仪式失败", "Key ceremony failed"),
    E.TRUSTEE_KEY: ("联合公钥", "Joint key"),
    E.ENCRYPTED_BALLOT: ("加密选票", "Encrypted ballot"),
    E.AGGREGATES: ("密文汇总", "Aggregates"),
    E.DECRYPTION_SHARE: ("监票人部分解密", "Decryption share"),
}


def label(name: str, locale: str | None = None) -> str:
    """The type's name for people ("en" → English, else Chinese); an unknown name as is."""
    try:
        zh, en = LABELS[EntryType(name)]
    except ValueError:
        return name
    return en if locale == "en" else zh


def entry_type(name: str) -> EntryType:
    """The type called ``name``; ValueError naming it if the log has no such type."""
    try:
        return EntryType(name)
    except ValueError:
        raise ValueError(f"unknown entry type {name!r}") from None
