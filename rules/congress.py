"""Who counts and who votes at a congress session (人民代表大会会议): pure rules.

A body's roster holds deputies (代表 / 组成人员: they vote and count in 应到 and 实到)
and attendees (列席: 政府组成人员, standing-committee members who are not deputies,
invited citizens — they sign in and read, and never vote nor count). Deputies may
sit on the presidium (主席团成员, one of them 执行主席), which takes its own votes
(主席团会议): there 应到 is the presidium and only its members vote.

A vote may depend on another (``requires``): the congress's livelihood-project
ballot opens only after the presidium adopted the motion to submit the list
(主席团原则通过…提交大会表决). The server (services/) and the offline verifier
(audit/verify.py) apply these same functions; a roster logged before roles existed
has no role fields, and a member without them is a deputy outside the presidium.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any


class MemberRole(StrEnum):
    DEPUTY = "deputy"  # 代表 / 组成人员: votes, counts in 应到 and 实到
    ATTENDEE = "attendee"  # 列席: signs in, sees documents and results, never votes


class PresidiumSeat(StrEnum):
    NONE = "none"
    MEMBER = "member"  # 主席团成员
    EXECUTIVE_CHAIR = "executive_chair"  # 执行主席: runs the votes from the console


class Electorate(StrEnum):
    BODY = "body"  # the whole body's deputies (大会全体会议 / 常委会会议)
    PRESIDIUM = "presidium"  # 主席团会议: the presidium's members only


DEFAULT_ROLE = MemberRole.DEPUTY
DEFAULT_PRESIDIUM = PresidiumSeat.NONE
DEFAULT_ELECTORATE = Electorate.BODY


def standing_of(member: Mapping[str, Any]) -> tuple[MemberRole, PresidiumSeat]:
    """A logged roster member's role and presidium seat; missing fields (old logs) are
    a deputy outside the presidium. Raises ValueError for an unknown value."""
    return (
        MemberRole(member.get("role", DEFAULT_ROLE)),
        PresidiumSeat(member.get("presidium", DEFAULT_PRESIDIUM)),
    )


def standing_error(role: MemberRole, presidium: PresidiumSeat) -> str | None:
    """Why a member cannot hold this combination: the presidium is elected from deputies."""
    if role is MemberRole.ATTENDEE and presidium is not PresidiumSeat.NONE:
        return "an attendee (列席) cannot sit on the presidium"
    return None


def in_electorate(electorate: Electorate, role: MemberRole, presidium: PresidiumSeat) -> bool:
    """Whether a member with this standing votes, and counts in 应到/实到, in a vote of
    ``electorate``. Attendees never do."""
    if role is not MemberRole.DEPUTY:
        return False
    return electorate is Electorate.BODY or presidium is not PresidiumSeat.NONE


# A secret evaluation admits attending deputies only if at least this many are signed
# in: their ballots are released and counted as a group of their own (the three-way
# report), and a group of one or two would show how each of them voted
# (docs/secret-ballot.md).
MIN_SECRET_ATTENDING = 3


def may_cast(
    electorate: Electorate, role: MemberRole, presidium: PresidiumSeat, admits_attending: bool
) -> bool:
    """Whether a member may cast a ballot in a vote: a member of its electorate, or — in a
    vote of the whole body that admits them (an evaluation's 列席代表参加测评) — a 列席
    attendee, whose ballot is counted apart (``attending``) and never in 应到, 实到, 已按."""
    if in_electorate(electorate, role, presidium):
        return True
    return admits_attending and role is MemberRole.ATTENDEE and electorate is Electorate.BODY


def attending_secrecy_error(secret: bool, admits_attending: bool, attendees: int) -> str | None:
    """Why a vote may not open with ``attendees`` 列席 signed in, or None: a secret vote
    admitting them needs at least MIN_SECRET_ATTENDING (their group's counts are
    published apart)."""
    if secret and admits_attending and attendees < MIN_SECRET_ATTENDING:
        return (
            f"a secret vote admitting attending deputies needs at least {MIN_SECRET_ATTENDING} "
            f"of them signed in ({attendees})"
        )
    return None


def adopted(result: Mapping[str, Any] | None) -> bool:
    """Whether a counted vote adopted what it put: decided, and every subject passed.

    Only a motion-like result (``subjects`` with ``passed``) can be adopted; an
    election or an evaluation decides no motion another vote could depend on."""
    if not result or result.get("outcome") != "decided":
        return False
    subjects = result.get("subjects")
    if not isinstance(subjects, Mapping) or not subjects:
        return False
    return all(isinstance(s, Mapping) and s.get("passed") is True for s in subjects.values())
