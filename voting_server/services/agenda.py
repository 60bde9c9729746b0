"""Sittings, agenda items, documents and draft votes, as the secretariat edits them.

Forms are parsed by pure functions (``parse_*_form``) into plain values or a
``FormErrors`` naming each bad field; the vote's configuration goes through
the rules' own schema (``Vote.configure`` → ``rules.schema``), so the form
restates no rule. The writers run inside the caller's write transaction and
refuse to touch a vote once it has been opened: its configuration is then
in the audit log (``vote_configured``) and must not change under it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.trustee_votes import configuration_error
from rules import SchemaError, VoteKind, VoteSpec, parse_vote_config
from rules.congress import Electorate
from rules.duties import close_sitting_error
from rules.kinds import (
    DEFAULT_KEY_POLICY,
    DEFAULT_LIVE_TALLY,
    DEFAULT_MOTION_THRESHOLD,
    DEFAULT_SECRET,
    DEFAULT_UNSATISFIED_THRESHOLD,
    SCORE_LIMIT,
    EvaluationRule,
    GradeRule,
    KeyPolicy,
    LiveTally,
    OutcomeGroup,
    ScoreRule,
    ThresholdBase,
    is_kind,
    kind_of,
    live_tally_allowed,
    names,
)
from rules.lifecycle import Action, allowed
from rules.parsing import parse_int
from voting_server.models import (
    TITLE_MAX,
    AgendaItem,
    Document,
    ItemEvent,
    Sitting,
    SittingStatus,
    Vote,
    VoteState,
)
from voting_server.presets import Presets
from voting_server.services.refusals import Refusal
from voting_server.timefmt import from_form_value

DESCRIPTION_MAX = 20_000
DOCUMENT_MAX_BYTES = 20_000_000  # a draft regulation as PDF
CUSTOM = "custom"  # the rule choice "自定义" instead of a named preset
STRICT, AT_LEAST = "strict", "at_least"  # 过半数 (more than) / 以上 (at least)
ITEM_SEPARATOR = re.compile(r"\s*[|｜]\s*")  # "p01 | 新建中小学" — half- or full-width bar


@dataclass(frozen=True)
class FieldError:
    """A form field's message: its msgid and values. The service names the fault; the
    view translates it for the reader (``views.agenda``), so no service imports Flask."""

    msgid: str
    values: Mapping[str, object] = field(default_factory=dict)


def _(msgid: str, **values: object) -> FieldError:
    """Spelled like gettext so that ``make translations`` extracts the msgid."""
    return FieldError(msgid, values)


class FormErrors(Exception):
    """Bad form fields: field name → message. Nothing was changed."""

    def __init__(self, errors: Mapping[str, FieldError]) -> None:
        super().__init__("; ".join(f"{k}: {v.msgid}" for k, v in errors.items()))
        self.errors = dict(errors)


# --- sittings and agenda items ------------------------------------------------------------


@dataclass(frozen=True)
class SittingForm:
    """What the secretariat types about a sitting. Its status is not typed: it follows
    what happens (筹备中 → 举行中 at the first sign-in or vote → 已结束 at 闭会)."""

    title: str
    starts_at: datetime


@dataclass(frozen=True)
class ItemForm:
    position: int
    title: str
    description: str


def _title(form: Mapping[str, str], errors: dict[str, FieldError], field: str = "title") -> str:
    title = " ".join(form.get(field, "").split())
    if not 1 <= len(title) <= TITLE_MAX:
        errors[field] = _("请填写标题（1至%(n)s个字）。", n=TITLE_MAX)
    return title


def _int(
    form: Mapping[str, str],
    field: str,
    errors: dict[str, FieldError],
    low: int,
    high: int,
    key: str = "",
) -> int:
    value = parse_int(form.get(field, ""), low, high)
    if value is not None:
        return value
    errors[key or field] = _("应为%(low)s至%(high)s的整数。", low=low, high=high)
    return low


def parse_sitting_form(form: Mapping[str, str]) -> SittingForm:
    """Title, start (北京时间, ``YYYY-MM-DDTHH:MM`` from a datetime-local field)."""
    errors: dict[str, FieldError] = {}
    title = _title(form, errors)
    starts_at = datetime.now(UTC)
    try:
        starts_at = from_form_value(form.get("starts_at", "")).astimezone(UTC)
    except ValueError:
        errors["starts_at"] = _("请填写开会时间（北京时间），如 2027-03-01 09:00。")
    if errors:
        raise FormErrors(errors)
    return SittingForm(title, starts_at)


def parse_item_form(form: Mapping[str, str]) -> ItemForm:
    errors: dict[str, FieldError] = {}
    position = _int(form, "position", errors, 1, 999)
    title = _title(form, errors)
    description = form.get("description", "").strip()
    if len(description) > DESCRIPTION_MAX:
        errors["description"] = _("说明不能超过%(n)s个字。", n=DESCRIPTION_MAX)
    if errors:
        raise FormErrors(errors)
    return ItemForm(position, title, description)


def create_sitting(session: Session, body_id: int, form: SittingForm) -> Sitting:
    sitting = Sitting(
        body_id=body_id, title=form.title, starts_at=form.starts_at, status=SittingStatus.PLANNED
    )
    session.add(sitting)
    session.flush()
    return sitting


def update_sitting(session: Session, sitting_id: int, form: SittingForm) -> Sitting:
    sitting = session.get(Sitting, sitting_id)
    if sitting is None:
        raise Refusal("invalid_payload", "no such sitting")
    sitting.title, sitting.starts_at = form.title, form.starts_at
    session.flush()
    return sitting


def close_sitting(session: Session, sitting_id: int, role: str | None) -> Sitting:
    """闭会: the sitting is over (已结束), declared by the presidium or the secretariat
    (rules/duties.py). Refused while one of its votes is open ('vote_already_open'): the
    chair ends or cancels it first. Closing twice changes nothing."""
    if close_sitting_error(role) is not None:
        raise Refusal("forbidden", "a sitting is closed by the presidium or the secretariat")
    sitting = session.get(Sitting, sitting_id)
    if sitting is None:
        raise Refusal("invalid_payload", "no such sitting")
    if session.scalar(
        select(Vote.id)
        .join(AgendaItem)
        .where(AgendaItem.sitting_id == sitting_id, Vote.state == VoteState.OPEN)
        .limit(1)
    ):
        raise Refusal("vote_already_open", "a vote of the sitting is open")
    sitting.status = SittingStatus.CLOSED
    session.flush()
    return sitting


def item_editable(item: AgendaItem) -> bool:
    """An item whose vote has been opened keeps its record as it was."""
    return all(allowed(v.state, Action.EDIT) for v in item.votes)


def save_item(session: Session, sitting_id: int, item_id: int | None, form: ItemForm) -> AgendaItem:
    """Create or edit an item. Moving it to a taken position swaps the two items."""
    sitting = session.get(Sitting, sitting_id)
    if sitting is None:
        raise Refusal("invalid_payload", "no such sitting")
    items = list(sitting.agenda_items)
    if item_id is None:
        last = max((i.position for i in items), default=0)
        item = AgendaItem(
            sitting_id=sitting_id, position=last + 1, title=form.title, description=form.description
        )
        session.add(item)
        session.flush()
        items.append(item)
    else:
        found = session.get(AgendaItem, item_id)
        if found is None or found.sitting_id != sitting_id:
            raise Refusal("invalid_payload", "no such agenda item")
        if not item_editable(found):
            raise Refusal("vote_not_draft")
        item = found
    other = next((i for i in items if i.position == form.position and i.id != item.id), None)
    if other is not None:
        # (sitting, position) is unique: park the moved item while the other takes its place
        old = item.position
        item.position = -item.id
        session.flush()
        other.position = old
        session.flush()
    item.position, item.title, item.description = form.position, form.title, form.description
    session.flush()
    return item


def delete_item(session: Session, item_id: int) -> int:
    """Delete an item without votes (delete its draft votes first); returns its sitting."""
    item = session.get(AgendaItem, item_id)
    if item is None:
        raise Refusal("invalid_payload", "no such agenda item")
    if item.votes:
        raise Refusal("vote_not_draft")
    sitting_id = item.sitting_id
    for document in item.documents:
        session.delete(document)
    session.delete(item)
    session.flush()
    return sitting_id


def add_document(
    session: Session, item_id: int, title: str, filename: str, media_type: str, content: bytes
) -> Document:
    item = session.get(AgendaItem, item_id)
    if item is None:
        raise Refusal("invalid_payload", "no such agenda item")
    if not item_editable(item):
        raise Refusal("vote_not_draft")
    document = Document(
        agenda_item_id=item_id,
        title=(title.strip() or filename)[:TITLE_MAX],
        filename=filename[:255],
        media_type=(media_type or "application/octet-stream")[:127],
        content=content,
    )
    session.add(document)
    session.flush()
    return document


def delete_document(session: Session, document_id: int) -> int:
    document = session.get(Document, document_id)
    if document is None:
        raise Refusal("invalid_payload", "no such document")
    if not item_editable(document.agenda_item):
        raise Refusal("vote_not_draft")
    item_id = document.agenda_item_id
    session.delete(document)
    session.flush()
    return item_id


# --- votes --------------------------------------------------------------------------------


@dataclass(frozen=True)
class VoteDraft:
    """A validated vote form: what ``save_vote`` stores."""

    title: str
    config: dict[str, Any]  # VoteSpec.to_json(): every default explicit
    titles: dict[str, str]
    secret: bool
    key_policy: KeyPolicy
    live_tally: LiveTally
    electorate: Electorate = Electorate.BODY  # 主席团会议: only the presidium votes
    requires: int | None = None  # a vote of the sitting that must be adopted first
    trustees: bool = False  # 监票人密钥加密: trustee mode (docs/trustee-votes.md)

    def spec(self) -> VoteSpec:
        return parse_vote_config(self.config)


# form prefixes of thresholds (T1 and T2 of the three grades: grade_satisfied, grade_basic)
THRESHOLD_GROUPS = ("threshold", "quorum", "unsatisfied", "grade_satisfied", "grade_basic")


def _default_spec(kind: str) -> VoteSpec:
    """RULES.md's defaults for a kind, as the schema fills them in (rules.kinds)."""
    return parse_vote_config({"kind": kind, **kind_of(kind).example_items()})


def _threshold_fields(prefix: str, threshold: Any) -> dict[str, str]:
    return {
        f"{prefix}_base": threshold.base.value,
        f"{prefix}_num": str(threshold.num),
        f"{prefix}_den": str(threshold.den),
        f"{prefix}_strict": STRICT if threshold.strict else AT_LEAST,
    }


def _rule_fields(spec: VoteSpec) -> dict[str, str]:
    """The explicit rule fields of ``spec``; a rule its kind lacks shows the default."""
    rules = kind_of(spec.kind).rules
    threshold = spec.threshold if "threshold" in rules else DEFAULT_MOTION_THRESHOLD
    rule = spec.evaluation if "evaluation" in rules else EvaluationRule()
    unsatisfied = rule.unsatisfied_threshold or DEFAULT_UNSATISFIED_THRESHOLD
    below = rule.satisfaction_below
    scores = rule.scores or ScoreRule()
    grades = rule.grades or GradeRule()
    eval_rule = (
        "scores" if rule.scores else "three" if rule.grades else "below" if below else "unsatisfied"
    )
    return {
        **_threshold_fields("threshold", threshold),
        **_threshold_fields("quorum", spec.quorum),
        **_threshold_fields("unsatisfied", unsatisfied),
        **_threshold_fields("grade_satisfied", grades.satisfied),
        **_threshold_fields("grade_basic", grades.basic),
        "eval_rule": eval_rule,
        "below_num": str(below[0]) if below else "",
        "below_den": str(below[1]) if below else "",
        "score_min": str(scores.low),
        "score_max": str(scores.high),
        "score_trim": str(scores.trim),
        "score_pass": "" if scores.pass_mark is None else str(scores.pass_mark),
        "admit_attending": "1" if rule.admit_attending else "",
        "outcome_on": rule.outcome_on.value,
    }


def _evaluation_rules(form: Mapping[str, str], errors: dict[str, FieldError]) -> dict[str, Any]:
    """The evaluation's rule from the form's custom fields (RULES.md, and its variants)."""
    config: dict[str, Any] = {}
    choice = form.get("eval_rule", "unsatisfied")
    if choice == "below":
        num = _int(form, "below_num", errors, 0, 1_000_000, "below")
        den = _int(form, "below_den", errors, 1, 1_000_000, "below")
        config["satisfaction_below"] = [num, den]
    elif choice == "three":  # 三档结论: T1 on 满意, T2 on 满意 + 基本满意
        config["grades"] = "three"
        config["grade_thresholds"] = {
            "satisfied": _threshold(form, "grade_satisfied", errors),
            "basic": _threshold(form, "grade_basic", errors),
        }
    elif choice == "scores":  # 现场打分
        low = _int(form, "score_min", errors, 0, SCORE_LIMIT, "scores")
        high = _int(form, "score_max", errors, 0, SCORE_LIMIT, "scores")
        trim = _int(form, "score_trim", errors, 0, 100, "scores")
        scores: dict[str, Any] = {"min": low, "max": high, "trim": trim}
        if "scores" not in errors and low >= high:
            errors["scores"] = _("最高分应大于最低分。")
        if form.get("score_pass", "").strip():
            scores["pass_mark"] = _int(form, "score_pass", errors, low, max(low, high), "scores")
        config["scores"] = scores
    elif choice == "unsatisfied":
        config["unsatisfied_threshold"] = _threshold(form, "unsatisfied", errors)
    else:
        errors["eval_rule"] = _("请选择测评结果的确定办法。")
    if form.get("admit_attending") == "1":  # 列席代表参加测评
        outcome_on = form.get("outcome_on", OutcomeGroup.MEMBERS.value)
        if outcome_on not in {g.value for g in OutcomeGroup}:
            errors["attending"] = _("请选择按谁的票确定测评结果。")
        config["admit_attending"] = True
        config["outcome_on"] = outcome_on
    return config


def _preset_of(spec: VoteSpec, presets: Presets) -> str:
    """The name of the preset whose rules ``spec`` has, else ``custom``."""
    kind = kind_of(spec.kind)
    items: dict[str, Any] = {kind.items_key: list(kind.items(spec))}
    if kind.has_seats:
        items["seats"] = spec.seats
    for name, rules in presets.get(spec.kind, {}).items():
        if parse_vote_config({"kind": spec.kind, **items, **rules}) == spec:
            return name
    return CUSTOM


def blank_vote_form(presets: Presets) -> dict[str, Any]:
    """A new vote's form: a secret motion under the default preset, rules explicit."""
    first = names()[0]  # the form's first kind (a motion: 议案表决)
    spec = _default_spec(first)
    return {
        "title": "",
        "kind": first,
        "rows": [("", "")] * BLANK_ROWS,
        "seats": "",
        "rule": "default" if "default" in presets.get(first, {}) else CUSTOM,
        **_rule_fields(spec),
        "secret": "1" if DEFAULT_SECRET else "0",
        "key_policy": DEFAULT_KEY_POLICY.value,
        "live_tally": DEFAULT_LIVE_TALLY.value,
        "electorate": Electorate.BODY.value,
        "requires": "",
        "trustees": "0",
    }


def vote_form_values(vote: Vote, presets: Presets) -> dict[str, Any]:
    """The form fields of a stored vote (the inverse of ``parse_vote_form``)."""
    spec = vote.spec()
    return {
        "title": vote.title,
        "kind": spec.kind,
        "rows": [(str(i), str(t)) for i, t in vote.options()],
        "seats": str(spec.seats) if kind_of(spec.kind).has_seats else "",
        "rule": _preset_of(spec, presets),
        **_rule_fields(spec),
        "secret": "1" if vote.secret else "0",
        "key_policy": vote.key_policy.value,
        "live_tally": vote.live_tally.value,
        "electorate": vote.electorate.value,
        "requires": str(vote.requires_vote_id or ""),
        "trustees": "1" if vote.trustees else "0",
    }


Row = tuple[str, str]  # a subject's, candidate's or department's (id, title) as typed
MAX_ITEMS = 200  # rows of one vote (a livelihood ballot has a few dozen candidates)
BLANK_ROWS = 3  # empty rows a new vote's form offers
ROW_OP = re.compile(r"(up|down|remove):([0-9]{1,4})")
# Headers of an imported list, compared without spaces and case.
ID_HEADERS = frozenset({"编号", "代号", "序号", "id", "code", "no", "no."})
TITLE_HEADERS = frozenset({"名称", "项目名称", "候选项目", "项目", "测评对象", "部门", "单位",
                           "表决事项", "标题", "title", "name"})  # fmt: skip


def rows_of(form: Any) -> list[Row]:
    """The rows of a vote form: the row editor's ``item_id`` / ``item_title`` fields, or
    the older text field ``items`` (one ``id | title`` or ``title`` a line), or the
    ``rows`` of ``vote_form_values``. Empty rows are kept: the editor shows them."""
    if isinstance(form, Mapping) and "rows" in form and not hasattr(form, "getlist"):
        return list(form["rows"])
    if hasattr(form, "getlist") and ("item_title" in form or "item_id" in form):
        ids, titles = form.getlist("item_id"), form.getlist("item_title")
        width = max(len(ids), len(titles))
        ids, titles = ids + [""] * (width - len(ids)), titles + [""] * (width - len(titles))
        return [(i.strip(), " ".join(t.split())) for i, t in zip(ids, titles, strict=True)]
    return [(i or "", t) for i, t in _lines(form.get("items", "") if form else "")]


def apply_row_op(rows: list[Row], op: str) -> list[Row] | None:
    """The rows after the editor's button: ``add`` a row, or ``up:i`` / ``down:i`` /
    ``remove:i`` (i from 0). None for anything else (a forged button)."""
    rows = list(rows)
    if op == "add":
        return [*rows, ("", "")] if len(rows) < MAX_ITEMS else rows
    match = ROW_OP.fullmatch(op)
    if match is None or int(match.group(2)) >= len(rows):
        return None
    what, i = match.group(1), int(match.group(2))
    if what == "remove":
        del rows[i]
    elif what == "up" and i > 0:
        rows[i - 1], rows[i] = rows[i], rows[i - 1]
    elif what == "down" and i + 1 < len(rows):
        rows[i + 1], rows[i] = rows[i], rows[i + 1]
    return rows


def _key(text: str) -> str:
    return re.sub(r"\s+", "", text).lower()


def rows_from_table(table: list[tuple[int, list[str]]]) -> list[Row]:
    """An uploaded list (CSV or XLSX rows as text) → rows. A header row naming 名称 (and
    optionally 编号) picks the columns, a title row above it is skipped; without one, a
    row of one cell is a title and of two or more an id and a title. Raises FormErrors on
    ``items`` naming the line of the first fault; nothing is half-read."""
    id_col, title_col, start = None, None, 0
    for n, (_line, cells) in enumerate(table[:5]):  # a header within the first rows
        keys = [_key(c) for c in cells]
        titles = [k for k in keys if k in TITLE_HEADERS]
        if titles:
            title_col = keys.index(titles[0])
            id_col = next((i for i, k in enumerate(keys) if k in ID_HEADERS), None)
            start = n + 1
            break
    rows: list[Row] = []
    seen: dict[str, int] = {}
    for line, cells in table[start:]:
        if title_col is not None:
            title = cells[title_col] if title_col < len(cells) else ""
            id_ = cells[id_col] if id_col is not None and id_col < len(cells) else ""
        elif len(cells) == 1:
            id_, title = "", cells[0]
        else:
            id_, title = cells[0], cells[1]
        title, id_ = " ".join(title.split()), id_.strip()
        if not title:
            raise FormErrors({"items": _("导入失败：第 %(line)s 行没有名称。", line=line)})
        if len(title) > TITLE_MAX or len(id_) > 64:
            raise FormErrors({"items": _("导入失败：第 %(line)s 行的名称或编号过长。", line=line)})
        if id_ and id_ in seen:
            raise FormErrors({"items": _("导入失败：第 %(line)s 行的编号 %(id)s 与第 %(first)s 行重复。",
                                         line=line, id=id_, first=seen[id_])})  # fmt: skip
        seen[id_] = line
        rows.append((id_, title))
        if len(rows) > MAX_ITEMS:
            raise FormErrors({"items": _("导入失败：最多 %(n)s 项。", n=MAX_ITEMS)})
    if not rows:
        raise FormErrors({"items": _("导入失败：文件中没有任何项目。")})
    return rows


def _lines(text: str) -> list[tuple[str | None, str]]:
    """Lines ``id | title`` or just ``title`` (the older text field)."""
    given: list[tuple[str | None, str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        parts = ITEM_SEPARATOR.split(line, maxsplit=1)
        given.append((parts[0], parts[1]) if len(parts) == 2 else (None, line))
    return given


def _items(given: list[tuple[str | None, str]], prefix: str) -> tuple[list[str], dict[str, str]]:
    """Rows (id or None, title) → ids and titles; a missing id is made: s1, s2 … / c1, c2 …"""
    taken = {i for i, _t in given if i}
    ids: list[str] = []
    titles: dict[str, str] = {}
    n = 0
    for id_, title in given:
        if id_ is None:
            n += 1
            while f"{prefix}{n}" in taken:
                n += 1
            id_ = f"{prefix}{n}"
            taken.add(id_)
        ids.append(id_)
        titles[id_] = title  # a repeated id is kept in ``ids``: the schema names it
    return ids, titles


def _threshold(
    form: Mapping[str, str], prefix: str, errors: dict[str, FieldError]
) -> dict[str, Any]:
    key = prefix
    base = form.get(f"{prefix}_base", "")
    if base not in {b.value for b in ThresholdBase}:
        errors[key] = _("请选择计算基数。")
    num = _int(form, f"{prefix}_num", errors, 0, 1_000_000, key)
    den = _int(form, f"{prefix}_den", errors, 1, 1_000_000, key)
    strict = form.get(f"{prefix}_strict", STRICT)
    if strict not in {STRICT, AT_LEAST}:
        errors[key] = _("请选择“超过”或“以上”。")
    return {"base": base, "ratio": [num, den], "strict": strict == STRICT}


# The schema's field (first part of its dotted path) → the form field it is about.
_SCHEMA_FIELDS = {
    "subjects": "items",
    "candidates": "items",
    "titles": "items",
    "seats": "seats",
    "threshold": "threshold",
    "quorum": "quorum",
    "unsatisfied_threshold": "unsatisfied",
    "satisfaction_below": "below",
    "scores": "scores",
    "grades": "eval_rule",
    "grade_thresholds": "grade_satisfied",
    "admit_attending": "attending",
    "outcome_on": "attending",
    "kind": "kind",
}


def parse_vote_form(form: Mapping[str, str], presets: Presets) -> VoteDraft:
    """Validate a vote form. Raises FormErrors naming every bad field."""
    errors: dict[str, FieldError] = {}
    title = _title(form, errors)
    name = form.get("kind", "")
    if not is_kind(name):
        raise FormErrors({**errors, "kind": _("请选择表决方式。")})
    kind = kind_of(name)
    candidates = kind.items_key == "candidates"  # ids c1, c2 … rather than s1, s2 …
    rows = [(i, t) for i, t in rows_of(form) if i or t]
    if any(not t for _i, t in rows):
        errors["items"] = _("每一项都要填写名称（编号可以不填）。")
    if len(rows) > MAX_ITEMS:
        errors["items"] = _("最多 %(n)s 项。", n=MAX_ITEMS)
    ids, titles = _items([(i or None, t) for i, t in rows], "c" if candidates else "s")
    if not ids:
        errors["items"] = (
            _("请至少填写一项候选项目。") if candidates else _("请至少填写一项表决事项或测评对象。")
        )
    config: dict[str, Any] = {"kind": name, kind.items_key: ids}
    if kind.has_seats:
        config["seats"] = _int(form, "seats", errors, 1, 500)

    rule = form.get("rule", CUSTOM)
    if rule != CUSTOM:
        if rule not in presets.get(name, {}):
            errors["rule"] = _("该规则不适用于所选的表决方式或本机构。")
        else:
            config.update(presets[name][rule])
    else:
        if "threshold" in kind.rules:
            config["threshold"] = _threshold(form, "threshold", errors)
        config["quorum"] = _threshold(form, "quorum", errors)
        if "evaluation" in kind.rules:
            config.update(_evaluation_rules(form, errors))

    secret = form.get("secret", "1") == "1"
    try:
        key_policy = KeyPolicy(form.get("key_policy", ""))
    except ValueError:
        errors["key_policy"] = _("请选择按键方式。")
        key_policy = KeyPolicy.LAST_PRESS
    try:
        live_tally = LiveTally(form.get("live_tally", ""))
    except ValueError:
        errors["live_tally"] = _("请选择表决中显示的内容。")
        live_tally = LiveTally.HIDDEN
    if not live_tally_allowed(secret, live_tally):
        errors["live_tally"] = _("无记名表决不能在表决中显示各项票数。")
    try:
        electorate = Electorate(form.get("electorate", Electorate.BODY.value))
    except ValueError:
        errors["electorate"] = _("请选择表决人。")
        electorate = Electorate.BODY
    requires = None
    if form.get("requires", "").strip():
        requires = _int(form, "requires", errors, 1, 2**31 - 1)
    if errors:
        raise FormErrors(errors)

    probe = Vote()  # not in a session: only to run the model's own validation
    try:
        spec = probe.configure(config, titles)
    except SchemaError as exc:
        field = _SCHEMA_FIELDS.get(re.split(r"[.\[]", exc.field)[0], "items")
        raise FormErrors({field: _("设置有误：%(detail)s", detail=str(exc))}) from None
    trustees = form.get("trustees") == "1"
    if trustees and (error := trustees_error(secret, spec)) is not None:
        raise FormErrors({"trustees": error})
    return VoteDraft(title, spec.to_json(), probe.titles, secret, key_policy, live_tally,
                     electorate, requires, trustees)  # fmt: skip


def trustees_error(secret: bool, spec: VoteSpec) -> FieldError | None:
    """Why the form may not hold this vote in trustee mode (监票人密钥加密), in Chinese;
    the rule is ``audit.trustee_votes.configuration_error``, shared with the verifier."""
    if configuration_error(secret, spec) is None:
        return None
    if not secret:
        return _("记名表决公开每位代表的选择，不能采用监票人密钥加密。")
    return _("只有无记名的议案、选举或测评表决才能采用监票人密钥加密")


def vote_editable(vote: Vote) -> bool:
    return allowed(vote.state, Action.EDIT)  # rules/lifecycle.py: a draft only


def save_vote(session: Session, item_id: int, vote_id: int | None, draft: VoteDraft) -> Vote:
    """Create a draft vote on an item, or change a draft. Opened votes are refused."""
    item = session.get(AgendaItem, item_id)
    if item is None:
        raise Refusal("invalid_payload", "no such agenda item")
    if vote_id is None:
        vote = Vote(agenda_item_id=item_id, state=VoteState.DRAFT)
        session.add(vote)
    else:
        found = session.get(Vote, vote_id)
        if found is None or found.agenda_item_id != item_id:
            raise Refusal("unknown_vote")
        if not vote_editable(found):
            raise Refusal("vote_not_draft")
        vote = found
    vote.title = draft.title
    vote.configure(draft.config, draft.titles)
    vote.secret, vote.key_policy, vote.live_tally = draft.secret, draft.key_policy, draft.live_tally
    vote.electorate = draft.electorate
    vote.trustees = draft.trustees
    session.flush()
    if draft.requires is not None:
        _check_requirement(session, item, vote, draft.requires)
    vote.requires_vote_id = draft.requires
    session.flush()
    return vote


def _check_requirement(session: Session, item: AgendaItem, vote: Vote, required_id: int) -> None:
    """A vote may depend on another motion of the same sitting (主席团原则通过…提交大会
    表决): only a motion can be adopted, and a vote cannot wait for itself — nor for a
    vote that waits for it. Raises FormErrors on the ``requires`` field."""
    required = session.get(Vote, required_id)
    if required is None or required.agenda_item.sitting_id != item.sitting_id:
        raise FormErrors({"requires": _("请选择本次会议的另一项表决。")})
    if required.kind != VoteKind.MOTION:
        raise FormErrors({"requires": _("只能依据议案表决的通过。")})
    seen = {vote.id}
    step: Vote | None = required
    while step is not None:
        if step.id in seen:
            raise FormErrors({"requires": _("表决之间不能互相依据。")})
        seen.add(step.id)
        step = step.requires_vote


def requirement_choices(session: Session, sitting_id: int, vote_id: int | None) -> list[Vote]:
    """The votes of the sitting a vote may depend on: its other motions."""
    return [
        v
        for v in session.scalars(
            select(Vote).join(AgendaItem).where(AgendaItem.sitting_id == sitting_id)
            .order_by(AgendaItem.position, Vote.id)
        )
        if v.id != vote_id and v.kind == VoteKind.MOTION
    ]  # fmt: skip


def delete_vote(session: Session, vote_id: int) -> int:
    """Delete a draft that was never opened (nothing of it is logged); returns its item."""
    vote = session.get(Vote, vote_id)
    if vote is None:
        raise Refusal("unknown_vote")
    if not vote_editable(vote):
        raise Refusal("vote_not_draft")
    if session.scalar(select(ItemEvent.id).where(ItemEvent.vote_id == vote.id).limit(1)):
        # generated from tracked items (督办事项), which record it: it stays, as a draft
        raise Refusal("vote_not_draft", "generated from tracked items")
    item_id = vote.agenda_item_id
    session.delete(vote)
    session.flush()
    return item_id
