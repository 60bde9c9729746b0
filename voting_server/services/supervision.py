"""Tracked items (督办事项): livelihood projects, special-report topics and rectifications,
followed across sittings (docs/supervision.md).

Every change of an item goes through ``rules.supervision.apply`` — the one table of
states, steps and roles — and is one ``ItemEvent`` row and one ``item_changed`` entry
in the log of the item's body, in the caller's write transaction. Votes are generated
from item lists (``generate_selection_vote``, ``generate_evaluation_vote``) so that
nobody retypes a list, and the vote's ``vote_configured`` entry names its source items
(``source_items``), which the verifier compares with the list. When a vote's result is
announced, ``on_announced`` (called by ``vote_lifecycle.announce``) makes the system's
changes it calls for and opens a rectification for each unsatisfactory subject.

The read functions at the end (``items``, ``item_detail``, ``public_timeline``,
``proposals_by_member``, ``subject_history``) return plain dicts for the pages, the
public site and the deputies' records.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from audit.entry_types import EntryType
from rules.duties import SYSTEM, item_role_error
from rules.kinds import kind_of
from rules.lifecycle import VoteState
from rules.schema import SchemaError
from rules.supervision import (
    AWAITING,
    Event,
    ItemKind,
    ItemState,
    Refused,
    allowed_actions,
    announced_action,
    apply,
    ballot_title,
    step_of,
    unsatisfactory_subjects,
)
from voting_server.models import (
    DEPARTMENT_MAX,
    TITLE_MAX,
    AgendaItem,
    Body,
    ItemDocument,
    ItemEvent,
    Member,
    Sitting,
    SittingStatus,
    StaffUser,
    TrackedItem,
    Vote,
    utcnow,
)
from voting_server.services import staff
from voting_server.services.agenda import DOCUMENT_MAX_BYTES  # a report: as any document
from voting_server.services.audit_log import AuditLog
from voting_server.services.refusals import Refusal

SOURCES = ("deputy", "public", "department", "complaints", "office", "evaluation")
NOTE_MAX = 2_000
DESCRIPTION_MAX = 20_000
YEARS = (2000, 2100)


@dataclass(frozen=True)
class Upload:
    """A report's file as uploaded: bounded by the view, hashed into the log entry."""

    title: str
    filename: str
    media_type: str
    content: bytes


@dataclass(frozen=True)
class Proposal:
    """A proposal (征集) as the office records it (form or a row of an imported list)."""

    kind: str  # project or topic
    title: str
    year: int
    source: str
    description: str = ""
    department: str | None = None
    proposer_member_id: int | None = None
    proposer_name: str | None = None
    subject: str | None = None  # a topic's department id; a project's is made from its id


# --- changes -------------------------------------------------------------------------------


def _state(item: TrackedItem) -> ItemState:
    return ItemState(
        kind=item.kind,
        state=item.state,
        subject=item.subject,
        vote=item.pending_vote_id,
        reports=frozenset(item.reports or ()),
        round=item.round,
    )


def _actor(session: Session, log: AuditLog, body_id: int, by: int | None) -> tuple[int | None, str]:
    """The account acting on ``body_id``'s items and its role; the system when ``by`` is
    None. Accounts older than the log's record of accounts are logged first, so that
    the verifier knows the role."""
    if by is None:
        return None, SYSTEM
    role = staff.actor_role(session, by)
    if role is None or not staff.serves(session, by, body_id):
        raise Refusal("forbidden", "the account does not serve this body")
    staff.log_unlogged_accounts(session, log, body_id)
    return by, role


def _refuse(refused: Refused, action: str, kind: str, role: str) -> Refusal:
    step = step_of(kind, action)
    if step is not None and item_role_error(action, step.roles, role) is not None:
        return Refusal("forbidden", refused.reason)
    return Refusal("invalid_payload", refused.reason)


def _record(
    session: Session,
    log: AuditLog,
    item: TrackedItem,
    action: str,
    by: int | None,
    role: str,
    *,
    vote: int | None = None,
    note: str = "",
    document: ItemDocument | None = None,
    period: str | None = None,
    deadline: str | None = None,
    issues: str | None = None,
    created: Mapping[str, Any] | None = None,
) -> ItemEvent:
    """Apply one step to ``item`` (new when ``created`` holds its first entry's fields)."""
    note = note.strip()
    if len(note) > NOTE_MAX:
        raise Refusal("invalid_payload", f"note: at most {NOTE_MAX} characters")
    before = None if created is not None else _state(item)
    event = Event(
        kind=item.kind, action=action, role=role, subject=item.subject, vote=vote,
        document=document is not None, period=period, deadline=deadline, issues=issues,
    )  # fmt: skip
    new = apply(before, event)
    if isinstance(new, Refused):
        raise _refuse(new, action, item.kind, role)
    data: dict[str, Any] = {
        "item": item.id, "kind": item.kind, "action": action,
        "from": before.state if before else None, "to": new.state,
        "by": by, "role": role, "vote": vote, "note": note,
    }  # fmt: skip
    if created is not None:
        data.update(created)
    if document is not None:
        data["document"] = {"id": document.id, "title": document.title,
                            "sha256": document.sha256}  # fmt: skip
    if period is not None:
        data["period"] = period
    if deadline is not None:
        data["deadline"], data["issues"] = deadline, issues
    appended = log.append(session, item.body_id, EntryType.ITEM_CHANGED, data)
    item.state, item.pending_vote_id = new.state, new.vote
    item.reports, item.round = sorted(new.reports), new.round
    if deadline is not None:
        item.deadline, item.issues = deadline, issues
    row = ItemEvent(
        item_id=item.id, action=action, from_state=data["from"], to_state=new.state,
        by_id=by, role=role, at=utcnow(), note=note,
        document_id=document.id if document else None, vote_id=vote, period=period,
        log_index=appended.index,
    )  # fmt: skip
    session.add(row)
    session.flush()
    return row


def _text(value: str | None, field: str, high: int, *, required: bool = True) -> str:
    text = " ".join((value or "").split())
    if (required and not text) or len(text) > high:
        raise Refusal("invalid_payload", f"{field}: 1 to {high} characters")
    return text


def _created(item: TrackedItem) -> dict[str, Any]:
    """What the first entry of an item says of it: what it is and who proposed it."""
    return {
        "title": item.title, "subject": item.subject, "department": item.department,
        "year": item.year, "source": item.source,
        "proposer": {"member": item.proposer_member_id, "name": item.proposer_name},
    }  # fmt: skip


def propose(session: Session, log: AuditLog, body_id: int, by: int, p: Proposal) -> TrackedItem:
    """Record a proposal (a project, or a topic for a special report) as ``proposed``."""
    by_, role = _actor(session, log, body_id, by)
    if p.kind not in (ItemKind.PROJECT, ItemKind.TOPIC):
        raise Refusal("invalid_payload", f"kind: project or topic, not {p.kind!r}")
    if p.source not in SOURCES:
        raise Refusal("invalid_payload", f"source: one of {SOURCES}")
    if not YEARS[0] <= p.year <= YEARS[1]:
        raise Refusal("invalid_payload", "year: out of range")
    if p.proposer_member_id is not None:
        member = session.get(Member, p.proposer_member_id)
        if member is None or member.body_id != body_id:
            raise Refusal("unknown_member", "the proposer is not a member of this body")
    department = _text(p.department, "department", DEPARTMENT_MAX, required=False) or None
    item = TrackedItem(
        body_id=body_id, kind=p.kind, title=_text(p.title, "title", TITLE_MAX),
        description=(p.description or "").strip()[:DESCRIPTION_MAX], department=department,
        year=p.year, subject="-", source=p.source, proposer_member_id=p.proposer_member_id,
        proposer_name=_text(p.proposer_name, "proposer", 100, required=False) or None,
        state="-", reports=[], round=1, created_at=utcnow(),
    )  # fmt: skip
    session.add(item)
    session.flush()
    if p.kind == ItemKind.TOPIC:
        # a department's name is its stable id across the years (evaluations, 回头看)
        item.subject = _text(p.subject or department, "department", DEPARTMENT_MAX)
        item.department = item.department or item.subject
    else:
        item.subject = f"p{item.id}"
    _record(session, log, item, "propose", by_, role, created=_created(item))
    return item


def _item(session: Session, item_id: int) -> TrackedItem:
    item = session.get(TrackedItem, item_id)
    if item is None:
        raise Refusal("invalid_payload", f"no tracked item {item_id}")
    return item


def change(
    session: Session,
    log: AuditLog,
    item_id: int,
    action: str,
    by: int,
    *,
    note: str = "",
    department: str | None = None,
    period: str | None = None,
    deadline: str | None = None,
    issues: str | None = None,
    upload: Upload | None = None,
) -> TrackedItem:
    """A staff member's step on an item that generates no vote: 初审 (``shortlist``,
    ``reject``), ``drop``, ``assign`` (with the responsible department), ``report`` (with
    its document; a project's with its period), ``set_deadline`` (with the issues)."""
    item = _item(session, item_id)
    by_, role = _actor(session, log, item.body_id, by)
    step = step_of(item.kind, action)
    if step is None or step.vote:
        raise Refusal("invalid_payload", f"{action}: not a step taken on its own")
    if action == "assign":
        item.department = _text(department, "department", DEPARTMENT_MAX)
    if issues is not None:
        issues = issues.strip()
    document = None
    if upload is not None and step.document:
        document = _store_document(session, item, upload)
    _record(session, log, item, action, by_, role, note=note, document=document,
            period=period, deadline=deadline, issues=issues)  # fmt: skip
    return item


def _store_document(session: Session, item: TrackedItem, upload: Upload) -> ItemDocument:
    if not upload.content or len(upload.content) > DOCUMENT_MAX_BYTES:
        raise Refusal("invalid_payload", f"document: 1 byte to {DOCUMENT_MAX_BYTES} bytes")
    document = ItemDocument(
        item_id=item.id,
        title=(upload.title.strip() or upload.filename)[:TITLE_MAX] or "report",
        filename=upload.filename[:255] or "report",
        media_type=(upload.media_type or "application/octet-stream")[:127],
        sha256=hashlib.sha256(upload.content).hexdigest(),
        content=upload.content,
    )
    session.add(document)
    session.flush()
    return document


# --- votes generated from item lists --------------------------------------------------------


GENERATING = {  # (kind, state) → the step that puts such an item to a vote
    ("project", "shortlisted"): "submit",
    ("project", "in_progress"): "submit_acceptance",
    ("topic", "proposed"): "schedule",
    ("rectification", "reported"): "schedule_reevaluation",
}


def _list(session: Session, item_ids: Sequence[int], vote_kind: str) -> list[TrackedItem]:
    if not item_ids or len(set(item_ids)) != len(item_ids):
        raise Refusal("invalid_payload", "items: a list without repeats")
    listed = [_item(session, i) for i in item_ids]
    if len({i.body_id for i in listed}) != 1:
        raise Refusal("invalid_payload", "items: all of one body")
    for item in listed:
        action = GENERATING.get((item.kind, item.state))
        if action is None:
            raise Refusal(
                "invalid_payload", f"item {item.id} is {item.state}: not ready for a vote"
            )
        wanted = "selection" if action == "submit" else "evaluation"
        if wanted != vote_kind:
            raise Refusal("invalid_payload", f"item {item.id} goes to a {wanted} vote")
    return listed


def _later_sitting(session: Session, sitting_id: int, body_id: int) -> Sitting:
    sitting = session.get(Sitting, sitting_id)
    if sitting is None or sitting.body_id != body_id:
        raise Refusal("no_sitting", "a sitting of the items' body is needed")
    if sitting.status is SittingStatus.CLOSED:
        raise Refusal("no_sitting", "the sitting is closed")
    return sitting


def _new_vote(
    session: Session, sitting: Sitting, title: str, config: dict[str, Any], titles: dict[str, str]
) -> Vote:
    """An agenda item at the end of ``sitting`` with one draft vote (the list as typed
    by nobody: ids and titles come from the items)."""
    last = session.scalar(
        select(func.max(AgendaItem.position)).where(AgendaItem.sitting_id == sitting.id)
    )
    agenda = AgendaItem(sitting_id=sitting.id, position=(last or 0) + 1, title=title,
                        description="")  # fmt: skip
    session.add(agenda)
    session.flush()
    vote = Vote(agenda_item_id=agenda.id, title=title, state=VoteState.DRAFT)
    try:
        vote.configure(config, titles)
    except SchemaError as exc:
        raise Refusal("bad_configuration", str(exc)) from None
    session.add(vote)
    session.flush()
    return vote


def generate_selection_vote(
    session: Session,
    log: AuditLog,
    sitting_id: int,
    item_ids: Sequence[int],
    seats: int,
    by: int,
    title: str | None = None,
    rules: Mapping[str, Any] | None = None,
) -> Vote:
    """The congress's ballot (民生实事项目票决) of the shortlisted projects, in the given
    order, for ``seats`` projects: a new agenda item and draft vote in ``sitting_id``;
    each project is ``submit``-ted to it."""
    listed = _list(session, item_ids, "selection")
    body_id = listed[0].body_id
    by_, role = _actor(session, log, body_id, by)
    sitting = _later_sitting(session, sitting_id, body_id)
    if not 1 <= seats <= len(listed):
        raise Refusal("invalid_payload", f"seats: 1 to {len(listed)}")
    name = _text(title or f"{listed[0].year}年民生实事项目票决", "title", TITLE_MAX)
    config = {**(rules or {}), "kind": "selection", "seats": seats,
              "candidates": [i.subject for i in listed]}  # fmt: skip
    vote = _new_vote(session, sitting, name, config, {i.subject: i.title for i in listed})
    for item in listed:
        _record(session, log, item, "submit", by_, role, vote=vote.id)
    return vote


def generate_evaluation_vote(
    session: Session,
    log: AuditLog,
    sitting_id: int,
    item_ids: Sequence[int],
    by: int,
    title: str | None = None,
    rules: Mapping[str, Any] | None = None,
) -> Vote:
    """An evaluation (测评) of the listed items, one subject each, in the given order:
    the year-end 验单 of projects in progress, the special reports' topics, or the
    re-evaluation (回头看) of rectifications — with their subject ids, so that a
    department's evaluations link across the years. ``rules``: a preset's settings."""
    listed = _list(session, item_ids, "evaluation")
    body_id = listed[0].body_id
    by_, role = _actor(session, log, body_id, by)
    sitting = _later_sitting(session, sitting_id, body_id)
    if len({i.subject for i in listed}) != len(listed):
        raise Refusal("invalid_payload", "items: two with the same subject")
    for item in listed:
        opened = item.opened_by_vote_id and session.get(Vote, item.opened_by_vote_id)
        if opened and opened.agenda_item.sitting_id == sitting.id:
            raise Refusal("no_sitting", "回头看 is held in a later sitting than the evaluation")
    labels = {"project": "验单测评", "topic": "满意度测评", "rectification": "整改情况满意度测评"}
    name = _text(title or f"{listed[0].year}年{labels[listed[0].kind]}", "title", TITLE_MAX)
    config = {**(rules or {}), "kind": "evaluation", "subjects": [i.subject for i in listed]}
    titles = {i.subject: _subject_title(i) for i in listed}
    vote = _new_vote(session, sitting, name, config, titles)
    for item in listed:
        _record(session, log, item, GENERATING[(item.kind, item.state)], by_, role, vote=vote.id)
    return vote


def _subject_title(item: TrackedItem) -> str:
    return ballot_title(item.kind, item.title, item.department)


def _votes_chain(session: Session, vote: Vote) -> list[int]:
    """The vote and the votes it re-runs (再次表决), newest first."""
    chain, step = [], vote
    while step is not None and step.id not in chain:
        chain.append(step.id)
        step = step.rerun_of
    return chain


def source_items(session: Session, vote: Vote) -> list[int]:
    """The items a vote was generated from (or the vote it re-runs), in ballot order:
    what its ``vote_configured`` entry names as ``source_items``."""
    chain = _votes_chain(session, vote)
    waiting = list(
        session.scalars(
            select(TrackedItem).where(TrackedItem.pending_vote_id.in_(chain),
                                      TrackedItem.state.in_(AWAITING))
        )
    )  # fmt: skip
    if not waiting:
        return []
    order = {i.subject: i for i in waiting}
    spec = vote.spec()
    ids = list(kind_of(spec.kind).items(spec))
    return [order[s].id for s in ids if s in order]


def check_sources(session: Session, vote: Vote) -> list[int]:
    """``source_items`` for a vote about to open; refuses when its draft no longer lists
    exactly its items (a candidate added, removed or renamed after it was generated)."""
    items = source_items(session, vote)
    if not items:
        return []
    listed = [_item(session, i) for i in items]
    spec = vote.spec()
    ids = list(kind_of(spec.kind).items(spec))
    waiting = session.scalar(
        select(func.count()).select_from(TrackedItem).where(
            TrackedItem.pending_vote_id.in_(_votes_chain(session, vote)),
            TrackedItem.state.in_(AWAITING),
        )
    )  # fmt: skip
    if (
        ids != [i.subject for i in listed]
        or waiting != len(listed)
        or any(vote.titles.get(i.subject) != _subject_title(i) for i in listed)
    ):
        raise Refusal("bad_configuration", "the vote no longer lists the items it was made from")
    for item in listed:  # a re-run: the items now await this vote
        item.pending_vote_id = vote.id
    return items


# --- what an announced result does ----------------------------------------------------------


def on_announced(session: Session, log: AuditLog, vote: Vote) -> list[int]:
    """The system's changes an announced result calls for (rules.supervision): items
    awaiting the vote are selected or not, accepted or not, evaluated, closed or
    reopened; every unsatisfactory subject of an evaluation that is not a re-evaluation
    opens a rectification (not a project's at 验单: it is not accepted). Returns the ids
    of the items changed or opened."""
    result = vote.result or {}
    changed: list[int] = []
    chain = _votes_chain(session, vote)
    awaiting = session.scalars(
        select(TrackedItem).where(TrackedItem.pending_vote_id.in_(chain),
                                  TrackedItem.state.in_(AWAITING)).order_by(TrackedItem.id)
    ).all()  # fmt: skip
    followed: set[str] = set()  # subjects whose own item this vote decides
    for item in awaiting:
        item.pending_vote_id = vote.id  # a re-run decides for the vote it re-runs
        action = announced_action(_state(item), result)
        if item.kind in (ItemKind.RECTIFICATION, ItemKind.PROJECT):
            followed.add(item.subject)
        if action is not None:
            _record(session, log, item, action, None, SYSTEM, vote=vote.id)
            changed.append(item.id)
    body_id = vote.owner_body_id()
    # a rectification belongs to the year of the topic evaluated (专项工作报告的年度), not
    # to the calendar day of the vote; a hand-made evaluation has no topic: its closing year
    topic_years = {item.subject: item.year for item in awaiting}
    closed_year = (vote.closed_at or utcnow()).year
    for subject in unsatisfactory_subjects(result):
        if subject in followed:
            # 回头看 still unsatisfied: that rectification reopens, no new one; a project
            # not accepted at 验单 is not a department's rectification
            continue
        department = vote.titles.get(subject, subject)[:DEPARTMENT_MAX]
        item = TrackedItem(
            body_id=body_id, kind=ItemKind.RECTIFICATION, title=f"{department}整改",
            description=vote.title, department=department,
            year=topic_years.get(subject, closed_year), subject=subject, source="evaluation", state="-", reports=[], round=1, opened_by_vote_id=vote.id,
            created_at=utcnow(),
        )  # fmt: skip
        session.add(item)
        session.flush()
        _record(session, log, item, "open", None, SYSTEM, vote=vote.id, created=_created(item))
        changed.append(item.id)
    return changed


# --- reading ----------------------------------------------------------------------------------


def _summary(item: TrackedItem) -> dict[str, Any]:
    return {
        "id": item.id, "body_id": item.body_id, "kind": item.kind, "title": item.title,
        "department": item.department, "year": item.year, "subject": item.subject,
        "source": item.source, "proposer_member_id": item.proposer_member_id,
        "proposer_name": item.proposer_name, "state": item.state,
        "pending_vote_id": item.pending_vote_id, "reports": list(item.reports or ()),
        "round": item.round, "deadline": item.deadline, "issues": item.issues,
        "created_at": item.created_at.isoformat(),
    }  # fmt: skip


def items(
    session: Session,
    body_id: int,
    kind: str | None = None,
    year: int | None = None,
    state: str | None = None,
) -> list[dict[str, Any]]:
    """The body's tracked items, oldest first, as plain dicts."""
    query = select(TrackedItem).where(TrackedItem.body_id == body_id)
    if kind is not None:
        query = query.where(TrackedItem.kind == kind)
    if year is not None:
        query = query.where(TrackedItem.year == year)
    if state is not None:
        query = query.where(TrackedItem.state == state)
    return [_summary(i) for i in session.scalars(query.order_by(TrackedItem.id))]


def _event(event: ItemEvent, *, public: bool) -> dict[str, Any]:
    vote = event.vote_id
    out: dict[str, Any] = {
        "action": event.action, "from": event.from_state, "to": event.to_state,
        "role": event.role, "at": event.at.isoformat(), "note": event.note,
        "vote_id": vote, "period": event.period, "log_index": event.log_index,
        "document": None,
    }  # fmt: skip
    if event.document is not None:
        out["document"] = {"id": event.document.id, "title": event.document.title,
                           "filename": event.document.filename,
                           "sha256": event.document.sha256}  # fmt: skip
    if not public:
        out["by_id"] = event.by_id
        out["by_name"] = event.by.display_name if event.by is not None else None
    return out


def item_detail(session: Session, item_id: int) -> dict[str, Any]:
    """An item with its whole timeline (who, when, documents, votes) for the staff page."""
    item = _item(session, item_id)
    out = _summary(item)
    out["description"] = item.description
    out["events"] = [_event(e, public=False) for e in item.events]
    out["actions"] = allowed_actions(_state(item), item.kind)
    out["votes"] = _votes_of(session, item)
    return out


def public_timeline(session: Session, item_id: int) -> dict[str, Any]:
    """What the public may read of an item: what it is, its states and the votes that
    decided it, each step with its log index (checkable in the body's bundle) — never a
    staff member's name. Votes are given only once announced."""
    item = _item(session, item_id)
    out = {k: v for k, v in _summary(item).items() if k not in ("proposer_member_id",)}
    if item.source == "public":
        out["proposer_name"] = None  # a member of the public is not named
    out["events"] = [_event(e, public=True) for e in item.events]
    out["votes"] = [v for v in _votes_of(session, item) if v["state"] == VoteState.ANNOUNCED]
    return out


def _votes_of(session: Session, item: TrackedItem) -> list[dict[str, Any]]:
    ids = sorted({e.vote_id for e in item.events if e.vote_id is not None})
    out = []
    for vote_id in ids:
        vote = session.get(Vote, vote_id)
        if vote is not None:
            out.append({"id": vote.id, "title": vote.title, "kind": vote.kind,
                        "state": vote.state.value, "sitting_id": vote.agenda_item.sitting_id})  # fmt: skip
    return out


def proposals_by_member(session: Session, member_id: int) -> list[dict[str, Any]]:
    """The proposals a deputy made (代表履职: 提出的民生实事项目建议), oldest first."""
    return proposals_by_members(session, [member_id]).get(member_id, [])


def proposals_by_members(
    session: Session, member_ids: Sequence[int]
) -> dict[int, list[dict[str, Any]]]:
    """member → the proposals the deputy made, oldest first; one query for a whole roster."""
    query = select(TrackedItem).where(TrackedItem.proposer_member_id.in_(list(member_ids)))
    found: dict[int, list[dict[str, Any]]] = {}
    for item in session.scalars(query.order_by(TrackedItem.id)):
        found.setdefault(item.proposer_member_id or 0, []).append(_summary(item))
    return found


def subject_history(session: Session, body_id: int, subject: str) -> dict[str, Any]:
    """Every announced evaluation of ``subject`` in the body, oldest first (its result for
    that subject), and the tracked items of that subject (topics, rectifications)."""
    votes = session.scalars(
        select(Vote).join(AgendaItem).join(Sitting)
        .where(Sitting.body_id == body_id, Vote.state == VoteState.ANNOUNCED)
        .order_by(Vote.closed_at, Vote.id)
    )  # fmt: skip
    evaluations = []
    for vote in votes:
        subjects = (vote.result or {}).get("subjects")
        if not isinstance(subjects, dict) or subject not in subjects:
            continue
        sitting = vote.agenda_item.sitting
        evaluations.append({
            "vote_id": vote.id, "title": vote.title, "kind": vote.kind,
            "sitting_id": sitting.id, "sitting": sitting.title,
            "closed_at": vote.closed_at.isoformat() if vote.closed_at else None,
            "department": vote.titles.get(subject, subject), "result": subjects[subject],
        })  # fmt: skip
    related = session.scalars(
        select(TrackedItem).where(TrackedItem.body_id == body_id, TrackedItem.subject == subject)
        .order_by(TrackedItem.id)
    )  # fmt: skip
    return {"subject": subject, "evaluations": evaluations,
            "items": [_summary(i) for i in related]}  # fmt: skip


def document(session: Session, document_id: int) -> ItemDocument:
    found = session.get(ItemDocument, document_id)
    if found is None:
        raise Refusal("unknown_document")
    return found


def body_of(session: Session, item_id: int) -> Body:
    body = session.get(Body, _item(session, item_id).body_id)
    assert body is not None
    return body


def staff_name(session: Session, user_id: int | None) -> str | None:
    user = session.get(StaffUser, user_id) if user_id is not None else None
    return user.display_name if user is not None else None
