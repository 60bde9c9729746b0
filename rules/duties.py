"""Separation of duties (分权): who may do what, as plain rules. Pure: no I/O.

The services refuse what these functions refuse, and the offline verifier
(audit/verify.py) applies the same functions to the log's own record of the
staff roster, so a log the server should never have written fails there too.
docs/duties.md is the table for people.

Roles are the values of ``models.StaffRole``; ``None`` as an actor is the
operator of the server's command line (``voting-server staff …``), who holds
the machine and its keys anyway.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

PRESIDIUM = "presidium"
SECRETARIAT = "secretariat"
SCRUTINEER = "scrutineer"
DISPLAY = "display"
ROLES = (PRESIDIUM, SECRETARIAT, SCRUTINEER, DISPLAY)

MIN_SCRUTINEERS = 2  # 两名监票人: a paper count needs two different signatures
BASIS_MAX = 200  # characters of the basis of a designation

# Who signs what (会签), by the ``subject`` of a countersignature: a paper count
# only the sitting's designated scrutineers; a published result also the
# presidium (主持人 signs the announced result). Never the secretariat.
COUNTERSIGNERS: dict[str, frozenset[str]] = {
    "paper_count": frozenset({SCRUTINEER}),
    "result": frozenset({SCRUTINEER, PRESIDIUM}),
}
PAPER_COUNT_ENTERERS = frozenset({SECRETARIAT})  # 人工计票: never a signer of it
# Who chooses what the hall display (会场大屏) shows: the chair runs the sitting, so the
# presidium; the secretariat's console is read-only, the display account only shows.
DISPLAY_OPERATORS = frozenset({PRESIDIUM})
PIN_RESETTERS = frozenset({SECRETARIAT})  # 签到密码: the office that prints the slips
SITTING_CLOSERS = frozenset({PRESIDIUM, SECRETARIAT})  # 闭会: the chair, or the office for it


def account_change_error(
    actor_id: int | None, actor_role: str | None, target_id: int | None, new_role: str | None
) -> str | None:
    """Why ``actor`` may not create, disable or change the role of an account, or None.

    ``new_role``: the role an account is created with or changed to (None when
    disabling). On the pages only the secretariat manages accounts, never its own
    (no account changes its own role or disables itself), and it never grants the
    presidium role: the presidium designates the scrutineers, so an office that
    could make presidium accounts could make a whole paper count alone. Presidium
    accounts are created from the command line (``actor_id`` None); the secretariat
    may still disable one or change its role (taking power away, e.g. a lost laptop).
    """
    if actor_id is None:
        return None
    if actor_role != SECRETARIAT:
        return "only the secretariat manages staff accounts"
    if target_id is not None and target_id == actor_id:
        return "no account disables itself or changes its own role"
    if new_role == PRESIDIUM:
        return "the presidium role is granted from the command line only"
    return None


def scope_error(
    actor_bodies: Collection[int] | None, target_bodies: Collection[int] | None
) -> str | None:
    """Why an actor serving ``actor_bodies`` may not manage an account serving
    ``target_bodies``, or None. None as a set of bodies is every body (a platform
    account, or the command line). A body's secretariat manages only accounts that
    serve nothing beyond its own bodies: a town's office neither makes a platform
    account nor touches the county's (docs/bodies.md)."""
    if actor_bodies is None:
        return None
    if target_bodies is None:
        return "only a platform account manages accounts that serve every body"
    if not set(target_bodies) <= set(actor_bodies):
        return "a body's secretariat manages the accounts of the bodies it serves only"
    return None


def designation_error(
    actor_role: str | None, scrutineers: Collection[int], roles: Mapping[int, str | None]
) -> str | None:
    """Why scrutineers may not be designated so, or None.

    ``roles``: each named account's current role (None: unknown or disabled).
    """
    if actor_role != PRESIDIUM:
        return "scrutineers are designated by the presidium"
    if len(set(scrutineers)) != len(list(scrutineers)):
        return "a scrutineer is named twice"
    if len(set(scrutineers)) < MIN_SCRUTINEERS:
        return f"at least {MIN_SCRUTINEERS} different scrutineers are needed"
    for user in scrutineers:
        if roles.get(user) != SCRUTINEER:
            return f"account {user} is not an active scrutineer account"
    return None


def countersign_error(
    subject: str, signer: int, signer_role: str | None, designated: Collection[int]
) -> str | None:
    """Why ``signer`` may not countersign ``subject`` of a vote of a sitting whose
    designated scrutineers are ``designated``, or None.

    A paper count: only the sitting's designated scrutineers. A published
    result: its designated scrutineers and the presidium (主持人 signs the
    announced result). The secretariat, which enters paper counts and manages
    accounts, never countersigns.
    """
    if signer_role is None:
        return f"account {signer} is unknown or disabled"
    if signer_role not in COUNTERSIGNERS.get(subject, ()):
        if subject == "paper_count":
            return "a paper count is countersigned by the sitting's designated scrutineers"
        return f"role {signer_role} does not countersign"
    if signer_role == SCRUTINEER and signer not in designated:
        return f"scrutineer {signer} is not designated for this sitting"
    return None


def paper_count_error(actor_role: str | None) -> str | None:
    """Who enters a paper count: the secretariat, never a signer of it."""
    if actor_role not in PAPER_COUNT_ENTERERS:
        return "a paper count is entered by the secretariat"
    return None


def pin_reset_error(actor_role: str | None) -> str | None:
    """Who gives seats new sign-in PINs: the secretariat (None: the command line)."""
    if actor_role is not None and actor_role not in PIN_RESETTERS:
        return "sign-in PINs are reset by the secretariat"
    return None


def close_sitting_error(actor_role: str | None) -> str | None:
    """Who declares a sitting ended (闭会): the presidium or the secretariat."""
    if actor_role not in SITTING_CLOSERS:
        return "a sitting is closed by the presidium or the secretariat"
    return None


def present_error(present: int, attendance: int, reason: str | None) -> str | None:
    """实到 of a paper count is the sitting's recorded attendance, or the difference
    has a reason (members who left, or came without signing in)."""
    if present != attendance and not (reason and reason.strip()):
        return f"present {present} ≠ attendance {attendance}: a reason is required"
    return None


def display_stage_error(actor_role: str | None) -> str | None:
    """Who chooses the hall display's stage (会标, 签到, 议程, 表决, 结果, 黑屏): the presidium."""
    if actor_role not in DISPLAY_OPERATORS:
        return "the hall display's stage is chosen by the presidium"
    return None


# --- tracked items (督办事项, rules/supervision.py) ---------------------------------------
# The office records what arrives (proposals, progress and rectification reports); the
# presidium (主席团 / 主任会议) decides (初审, deadlines, what goes to a vote); a change
# that an announced vote decides is made by the system, citing that vote.
SYSTEM = "system"
ITEM_RECORDERS = frozenset({SECRETARIAT})
ITEM_DECIDERS = frozenset({PRESIDIUM})
ITEM_SYSTEM = frozenset({SYSTEM})


def item_role_error(action: str, allowed_roles: Collection[str], role: str | None) -> str | None:
    """Why ``role`` may not take ``action`` on a tracked item allowed to ``allowed_roles``."""
    if role in allowed_roles:
        return None
    if SYSTEM in allowed_roles:
        return f"{action} is made by the system when a vote's result is announced, not by {role}"
    return f"{action} is for {' or '.join(sorted(allowed_roles))}, not {role}"


# 请假: the secretariat records a member's leave for a sitting (it keeps the attendance
# register); the presidium runs the sitting, the scrutineers check it.
LEAVE_RECORDERS = frozenset({SECRETARIAT})


def leave_error(actor_role: str | None) -> str | None:
    """Who records a member's leave (请假) for a sitting: the secretariat."""
    if actor_role not in LEAVE_RECORDERS:
        return "leave is recorded by the secretariat"
    return None


# 密钥仪式 (trustee-mode secret votes, docs/trustees.md): the presidium starts the key
# ceremony of a sitting; the trustees are the sitting's designated scrutineers, each acting
# only for its own seat in the ceremony. Nobody's role alone makes a result: the key is
# the trustees' joint one, and a count needs k of them.
CEREMONY_STARTERS = frozenset({PRESIDIUM})
TRUSTEES = frozenset({SCRUTINEER})


def ceremony_start_error(actor_role: str | None) -> str | None:
    """Who starts a sitting's key ceremony (密钥仪式): the presidium."""
    if actor_role not in CEREMONY_STARTERS:
        return "a key ceremony is started by the presidium"
    return None


def trustee_error(actor: int, actor_role: str | None, designated: Collection[int]) -> str | None:
    """Why account ``actor`` may not act as a trustee of a sitting whose designated
    scrutineers are ``designated``, or None: an active scrutineer account designated
    for the sitting."""
    if actor_role not in TRUSTEES:
        return f"account {actor} is not an active scrutineer account"
    if actor not in designated:
        return f"scrutineer {actor} is not designated for this sitting"
    return None
