"""分团表决情况: the result of a named vote broken down by delegation (代表团).

At a people's congress every deputy belongs to a delegation (named by
electoral unit; the roster's group column). Once a named vote is counted,
each delegation's 应到, 实到, 未按 and the counts its kind reports (赞成 /
反对 / 弃权 / 无效, a candidate's votes, 满意 …) are published beside the
result; the verifier recomputes them from the logged ballots and roster.
Secret votes never break down: the caller does not ask (a breakdown of a
small delegation would reveal how its deputies voted).

The counts are the kind's own (``Kind.breakdown_counts``): this module only
sorts members into delegations and never looks at a kind's name. Pure: no
I/O, no clock, no framework.

A breakdown is a list, in roster order (a delegation comes where its first
seat does), of::

    {"group": "第一代表团", "members": 20, "present": 18, "cast": 17,
     "not_voted": 1, "subjects": {...}}   # or "selection": {...}

Members without a delegation, in a roster where others have one, form one
more entry with ``"group": null``, shown as 未分团 (UNGROUPED); it is placed
by its first seat like any other. A roster where nobody has a delegation (a
township congress, a standing committee) has no breakdown: ``None``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from rules.congress import MemberRole, standing_of
from rules.glossary import term
from rules.kinds import SheetTable, VoteSpec, kind_of

UNGROUPED = "未分团"  # the label of the members without a delegation


def by_delegation(
    spec: VoteSpec,
    roster: Sequence[tuple[int, str | None]],
    present: Collection[int],
    ballots: Mapping[int, Any],
) -> list[dict[str, Any]] | None:
    """Break a named vote's counted ballots down by delegation.

    ``roster``: the voting members (id, delegation or None) in seat order —
    only those whose votes count (not 列席 attendees; the caller filters).
    ``present``: the ids signed in (签到); ids not in ``roster`` (attendees)
    are ignored. ``ballots``: member id → that member's counted ballot (one
    per member who voted, by the key policy). Returns None when no member
    of ``roster`` has a delegation, or the kind does not break down.

    Precondition: every member of ``ballots`` is in ``roster`` (ValueError
    if not) and the ballots have the kind's shape (``rules.engine``).
    """
    kind = kind_of(spec.kind)
    if not kind.breaks_down or all(group is None for _, group in roster):
        return None
    group_of = dict(roster)
    strangers = sorted(set(ballots) - set(group_of))
    if strangers:
        raise ValueError(f"ballots of members not on the roster: {strangers}")
    order: list[str | None] = []
    members: dict[str | None, list[int]] = {}
    for member, group in roster:
        if group not in members:
            order.append(group)
            members[group] = []
        members[group].append(member)
    here = set(present)
    out: list[dict[str, Any]] = []
    for group in order:
        ids = members[group]
        present_here = sum(1 for m in ids if m in here)
        counted = [ballots[m] for m in ids if m in ballots]
        entry: dict[str, Any] = {
            "group": group,
            "members": len(ids),  # 应到
            "present": present_here,  # 实到
            "cast": len(counted),
            "not_voted": max(0, present_here - len(counted)),  # 未按
        }
        entry.update(kind.breakdown_counts(spec, counted))
        out.append(entry)
    return out


def roster_pairs(members: Sequence[Mapping[str, Any]]) -> list[tuple[int, str | None]]:
    """(id, delegation) in seat order from a logged roster's ``members`` (``services/
    rosters.py``): the server and the verifier read the same snapshot the same way.
    A member without ``group`` (every roster logged before delegations) has none.
    Deputies only: 列席 attendees never vote, so no delegation counts them."""
    ordered = sorted(members, key=lambda m: int(m["seat"]))
    return [
        (int(m["id"]), m.get("group")) for m in ordered if standing_of(m)[0] is MemberRole.DEPUTY
    ]


def group_label(group: str | None) -> str:
    """How a breakdown names a delegation (None: the members without one)."""
    return UNGROUPED if group is None else group


def breakdown_title(group_head: str) -> str:
    """分团表决情况 by delegation (代表团), 分组表决情况 by a committee's groups (组别)."""
    return "分团表决情况" if group_head == "代表团" else "分组表决情况"


def breakdown_table(
    kind_name: str,
    breakdown: Sequence[Mapping[str, Any]],
    titles: Mapping[str, str],
    group_head: str = "代表团",
) -> SheetTable:
    """The 分团表决情况 table of a sheet or the console: one row per delegation and,
    for several subjects, per subject. Chinese: an official document. ``group_head``
    names the first column (a standing committee's groups are 组别)."""
    kind = kind_of(kind_name)
    head: list[str] = []
    rows: list[list[str]] = []
    several = False
    for entry in breakdown:
        head, lines = kind.breakdown_lines(entry, titles)
        several = several or len(lines) > 1
        for number, (title, counts) in enumerate(lines):
            turnout = [entry["members"], entry["present"], entry["not_voted"]]
            first = number == 0  # 应到 / 实到 / 未按 belong to the delegation: printed once
            rows.append(
                [
                    group_label(entry["group"]) if first else "",
                    title,
                    *(str(n) if first else "" for n in turnout),
                    *(str(n) for n in counts),
                ]
            )
    figures = [term(f) for f in ("members", "present", "not_voted")]  # 应到 / 实到 / 未按
    columns = [group_head, term("col.subject"), *figures, *head]
    widths = [3.0, 4.0, 1.1, 1.1, 1.1, *(1.3 for _ in head)]
    if not several:  # one line per delegation: no item column
        columns.pop(1)
        widths.pop(1)
        rows = [row[:1] + row[2:] for row in rows]
    return SheetTable(
        head=columns,
        rows=rows,
        marks=["" for _ in rows],
        widths=widths,
        notes=[f"{term('not_voted')}：已签到而未按表决器的人数。"],
    )
