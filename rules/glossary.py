"""The glossary (术语表): the domain's words, one table, Chinese and English.

Every user-visible term of the domain — what a vote is called, the four
figures, the verdicts, who "all members" are — is spelled here once and read
by the screens (through ``voting_server.i18n``: ``term()`` in templates,
``term.<key>`` for scripts), the sheets and the exports. Pure data: no I/O, no
framework, so that the auditor's tools can print the same words.

Some words depend on the body (全体代表 at a congress, 全体组成人员 at a
standing committee) or on the kind of vote (表决 / 票决 / 测评): ``term`` takes
them as plain strings — a body kind is ``models.BodyKind``'s value, a vote kind
a registered kind's ``name`` — and falls back to the plain entry.

Sheets are official documents and always Chinese (``zh``); screens choose.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Term:
    zh: str
    en: str

    def in_(self, locale: str | None) -> str:
        """The word in ``locale`` ("en" → English; anything else → Chinese)."""
        return self.en if locale == "en" else self.zh


CONGRESS = "congress"  # 人民代表大会 (models.BodyKind.CONGRESS)
STANDING_COMMITTEE = "standing_committee"  # 常务委员会

# key → Term. Keys are stable identifiers used by code and by scripts (term.<key>).
TERMS: dict[str, Term] = {
    # The act of voting, by kind (表决 / 票决 / 测评) and its result's heading.
    "act": Term("表决", "Vote"),
    "act.motion": Term("表决", "Vote"),
    "act.selection": Term("票决", "Ballot"),
    "act.evaluation": Term("测评", "Evaluation"),
    "result": Term("表决结果", "Voting result"),
    "result.motion": Term("表决结果", "Voting result"),
    "result.selection": Term("票决结果", "Ballot result"),
    "result.evaluation": Term("测评结果", "Evaluation result"),
    "result.summary": Term("表决结果汇总", "Results of the sitting"),
    # The four figures (应到 / 实到 / 已按 / 未按) and absence.
    "members": Term("应到", "Members"),
    "present": Term("实到", "Present"),
    "absent": Term("缺席", "Absent"),
    "cast": Term("已按", "Voted"),
    "not_voted": Term("未按", "Did not vote"),
    "quorum": Term("法定人数", "Quorum"),
    # Who "all members" are: the base of 过半数, by body.
    "all_members": Term("全体组成人员", "All members"),
    f"all_members.{CONGRESS}": Term("全体代表", "All deputies"),
    f"all_members.{STANDING_COMMITTEE}": Term("全体组成人员", "All members"),
    "member": Term("组成人员", "Member"),
    f"member.{CONGRESS}": Term("代表", "Deputy"),
    f"member.{STANDING_COMMITTEE}": Term("组成人员", "Member"),
    "attendee": Term("列席", "Attending (non-voting)"),
    # Marks.
    "mark.yes": Term("赞成", "For"),
    "mark.no": Term("反对", "Against"),
    "mark.abstain": Term("弃权", "Abstain"),
    "mark.satisfied": Term("满意", "Satisfied"),
    "mark.basic": Term("基本满意", "Basically satisfied"),
    "mark.unsatisfied": Term("不满意", "Unsatisfied"),
    # Verdicts (结果). A livelihood project is 入选 on the screens and the sheet alike;
    # 当选 is for persons elected, which this system does not hold.
    "verdict.passed": Term("通过", "Passed"),
    "verdict.failed": Term("未通过", "Not passed"),
    "verdict.selected": Term("入选", "Selected"),
    "verdict.not_selected": Term("未入选", "Not selected"),
    "verdict.runoff": Term("须再次投票", "Tied: vote again"),
    "verdict.satisfactory": Term("满意", "Satisfactory"),
    "verdict.unsatisfactory": Term("不满意", "Unsatisfactory"),
    "verdict.void": Term("无效", "Void"),
    # 三档结论 (three grades): the outcome is one of the three grades
    "verdict.satisfied": Term("满意", "Satisfied"),
    "verdict.basic": Term("基本满意", "Basically satisfied"),
    "verdict.unsatisfied": Term("不满意", "Unsatisfied"),
    # Columns of result tables and sheets.
    "col.number": Term("序号", "No."),
    "col.subject": Term("表决事项", "Item"),
    "col.candidate": Term("候选项目", "Project"),
    "col.evaluated": Term("测评对象", "Department"),
    "col.votes": Term("得票", "Votes"),
    "col.rate": Term("满意率", "Satisfaction"),
    "col.rank": Term("名次", "Rank"),
    # 现场打分 (scores) and the overall rate of an evaluation
    "col.valid": Term("有效", "Valid"),
    "col.mean": Term("平均分", "Mean score"),
    "col.trimmed": Term("去掉最高分最低分", "Highest and lowest dropped"),
    "score": Term("分", "points"),
    "overall_rate": Term("总体满意率", "Overall satisfaction"),
    # Whose ballots a result counts when attending deputies (列席代表) vote too
    "group.members": Term("组成人员", "Members"),
    "group.attending": Term("列席代表", "Attending deputies"),
    "group.all": Term("全体", "All"),
    "col.required": Term("通过所需", "Needed"),
    "col.result": Term("结果", "Outcome"),
    # 无效 only where ballots can be invalid: paper counts and secret ballots.
    "col.invalid": Term("无效", "Invalid"),
    "col.invalid_ballots": Term("无效票", "Invalid ballots"),  # a selection's: whole ballots
    # "N 票以上" reads as "more than N" to some and "N or more" to others; the
    # statutory wording of a minimum is 不少于.
    "at_least_votes": Term("不少于 %(n)s 票", "at least %(n)s votes"),
    # Sitting status (会议状态).
    "sitting.planned": Term("筹备中", "In preparation"),
    "sitting.open": Term("举行中", "In session"),
    "sitting.closed": Term("已结束", "Ended"),  # 闭会
    # Ballot secrecy.
    "secret": Term("无记名", "Secret"),
    "named": Term("记名", "Named"),
    # Deputies' records (履职档案, rules/records.py).
    "record": Term("履职档案", "Record"),
    "record.present": Term("出席", "Present"),
    "record.leave": Term("请假", "On leave"),
    "record.absent": Term("缺席", "Absent"),
    "record.leave_withdrawn": Term("请假已撤回", "Leave withdrawn"),
    "record.held": Term("应出席", "Sittings"),
    "record.rate": Term("出勤率", "Attendance rate"),
}


def term(key: str, *, body_kind: str | None = None, kind: str | None = None,
         locale: str | None = None) -> str:  # fmt: skip
    """The word for ``key`` in ``locale``: the body's or the vote kind's variant if the
    table has one (``key.<body_kind>`` / ``key.<kind>``), else the plain entry.

    Raises KeyError naming the key if the table has no entry: a missing word is a bug
    to find in a test, not a blank on a screen.
    """
    for variant in (body_kind, kind):
        if variant and f"{key}.{variant}" in TERMS:
            return TERMS[f"{key}.{variant}"].in_(locale)
    if key not in TERMS:
        raise KeyError(f"the glossary has no term {key!r}")
    return TERMS[key].in_(locale)


def mark_word(value: object, locale: str | None = None) -> str:
    """A logged mark as people read it (``yes`` → 赞成); anything else — a score — as it is."""
    found = TERMS.get(f"mark.{value}")
    return found.in_(locale) if found is not None else str(value)


def at_least_votes(n: int, locale: str | None = None) -> str:
    """不少于 N 票: the minimum of votes, in ``locale``."""
    return term("at_least_votes", locale=locale) % {"n": n}


def terms(locale: str | None, *, body_kind: str | None = None) -> dict[str, str]:
    """Every plain key's word in ``locale`` (for a page's scripts), the body's variants
    applied; variant keys (``key.<x>``) are included as they are, for per-kind lookups."""
    out = {key: t.in_(locale) for key, t in TERMS.items()}
    if body_kind:
        for key in list(out):
            if f"{key}.{body_kind}" in TERMS:
                out[key] = TERMS[f"{key}.{body_kind}"].in_(locale)
    return out
