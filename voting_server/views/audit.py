"""The auditor's page (监票人): the log with filters, its verification, receipts.

Each entry is shown as its canonical line — the bytes that are hashed,
signed and exported — never joined to anything else: the log already keeps
a secret vote's choices apart from who pressed, and this page adds no join.
Filters run in SQL and pages are keyset-paged by index, so a log of a
million entries is read a page at a time.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as N_
from sqlalchemy import ColumnElement, String, cast, func, select
from sqlalchemy.dialects.postgresql import JSONB

from audit.entry_types import EntryType, label
from rules.parsing import parse_int
from voting_server.bounds import MAX_ID
from voting_server.extensions import db
from voting_server.i18n import current_locale, term
from voting_server.models import AuditEntry, StaffRole
from voting_server.services.audit_log import utc_timestamp
from voting_server.services.log_check import LogCheck
from voting_server.services.log_summary import VoteSummary, vote_summaries
from voting_server.timefmt import from_form_value, log_time
from voting_server.views.auth import login_required, role_labels
from voting_server.views.common import no_body_page, selected_body

bp = Blueprint("audit", __name__, url_prefix="/audit")

AUDITOR = StaffRole.SCRUTINEER
PAGE_SIZE = 50
# The entry types of the log (audit/entry_types.py: the writer's and the verifier's list).
ENTRY_TYPES = tuple(sorted(t.value for t in EntryType))

# The fields of entries' ``data`` as a reader names them (docs/audit-log.md has them all);
# the four figures come from the glossary. A field not listed shows its own key.
FIELD_LABELS: dict[str, Any] = {
    "sitting": N_("会议"), "member": N_("组成人员编号"),
    "seat": N_("座位"), "seats": N_("座位"), "all": N_("全体"), "device": N_("终端"),
    "method": N_("签到方式"), "by": N_("操作人账号"), "role": N_("角色"),
    "name": N_("姓名"), "username": N_("用户名"), "user": N_("账号"), "from": N_("原为"),
    "active": N_("有效"), "bodies": N_("服务机构"), "reason": N_("原因"),
    "press": N_("提交次序"), "nonce": N_("请求编号"), "ballot": N_("选票"),
    "ballots": N_("选票"), "closes_at": N_("截止时间"),
    "subject": N_("会签事项"), "public_key": N_("公钥"), "kiosk_sig": N_("终端签名"),
    "server_key": N_("服务器公钥"), "replaces": N_("替换的终端"), "result": N_("结果"),
    "basis": N_("依据"), "scrutineers": N_("监票人账号"), "body": N_("机构"),
    "member_count": N_("组成人员数"), "software": N_("软件"), "size": N_("条数"),
    "root": N_("默克尔根"), "time": N_("时间"), "sig": N_("签名"), "mode": N_("计票方式"),
    "counts": N_("票数"), "attendance": N_("签到人数"), "present_reason": N_("实到说明"),
    "existing": N_("原有账号"), "by_delegation": N_("分团表决情况"),
}  # fmt: skip
GLOSSARY_FIELDS = {"vote": "act", "members": "members", "present": "present", "cast": "cast",
                   "quorum_required": "quorum"}  # fmt: skip  # field → its glossary word
# The fields a reader looks for first (what, who, the choice); the rest follow, and the
# keys and signatures (checked by the verifier, not read) come last.
FIRST_FIELDS = ("vote", "sitting", "seat", "seats", "member", "press", "ballot", "result",
                "members", "present", "cast", "reason", "subject", "role", "name", "by")  # fmt: skip
LAST_FIELDS = ("device", "nonce", "public_key", "kiosk_sig", "server_key", "sig", "root")
LONG_TEXT = 24  # keys and signatures: shown as their first characters (the line has all)
MANY = 8  # a list longer than this shows its length (a roster, a secret vote's ballots)


def _value(key: str, value: Any) -> str:
    """A field's value for reading: short, in words where the log has a code."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if key == "method":
        return {"kiosk_pin": _("本人在终端输入密码"), "operator": _("工作人员代为签到")}.get(
            str(value), str(value)
        )
    if key == "role" and isinstance(value, str):
        return role_labels().get(value, value)
    if key == "vote" and isinstance(value, dict):  # vote_configured: the whole configuration
        return _("%(id)s：%(name)s", id=value.get("id"), name=value.get("title", ""))
    if key == "ballot" and isinstance(value, dict):  # subject → mark, in the glossary's words
        return _("、").join(
            _("%(id)s：%(name)s", id=k, name=_mark(str(v))) for k, v in value.items()
        )
    if key == "body" and isinstance(value, dict):
        return _("%(id)s：%(name)s", id=value.get("id"), name=value.get("name", ""))
    if isinstance(value, list) and len(value) > MANY:
        return _("共 %(n)s 项", n=len(value))
    if isinstance(value, str) and len(value) > LONG_TEXT * 2:
        return value[:LONG_TEXT] + "…"
    if isinstance(value, dict | list):
        text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
        return text if len(text) <= 160 else text[:160] + "…"
    return str(value)


def _mark(mark: str) -> str:
    try:
        return term(f"mark.{mark}")
    except KeyError:
        return mark


def _field_order(key: str) -> tuple[int, int]:
    if key in FIRST_FIELDS:
        return (0, FIRST_FIELDS.index(key))
    return (2, LAST_FIELDS.index(key)) if key in LAST_FIELDS else (1, 0)


def result_lines(summary: VoteSummary) -> list[str]:
    """A vote's result as a scrutineer checks it against the sheet, in the glossary's
    words: per subject 赞成 / 反对 / 弃权 and the verdict; the candidates 入选 with their
    votes; per department the outcome. Falls back to the kind's own line."""
    r, titles = summary.result or {}, summary.titles
    try:
        if r.get("quorum") is False:
            return [_("未达法定人数，表决结果不生效")]
        if summary.kind == "selection":
            sel = r["selection"]
            chosen = _("、").join(
                _("%(title)s（%(n)s 票）", title=titles.get(c, c), n=sel["votes"].get(c, 0))
                for c in sel["selected"]
            )
            return [_("%(id)s：%(name)s", id=term("verdict.selected"), name=chosen or "—")]
        lines = []
        named = len(r["subjects"]) > 1 or summary.kind != "motion"
        for key, c in r["subjects"].items():
            if summary.kind == "motion":
                line = _(
                    "%(yes)s %(y)s，%(no)s %(n)s，%(abstain)s %(a)s — %(verdict)s",
                    yes=term("mark.yes"), y=c["yes"], no=term("mark.no"), n=c["no"],
                    abstain=term("mark.abstain"), a=c["abstain"],
                    verdict=term("verdict.passed" if c["passed"] else "verdict.failed"),
                )  # fmt: skip
            else:
                outcome = c.get("outcome")
                line = term(f"verdict.{outcome}") if outcome else "—"
            lines.append(
                _("%(id)s：%(name)s", id=titles.get(key, key), name=line) if named else line
            )
        return lines
    except (KeyError, TypeError, AttributeError):
        return [summary.result_line] if summary.result_line else []


def readable(line: str) -> dict[str, Any]:
    """An entry as a reader sees it: its time (北京时间), type's name and data's fields."""
    entry = json.loads(line)
    data = entry.get("data")
    fields: list[tuple[str, str]] = []
    if isinstance(data, dict):
        for key, value in sorted(data.items(), key=lambda kv: _field_order(kv[0])):
            name = (
                term(GLOSSARY_FIELDS[key]) if key in GLOSSARY_FIELDS else FIELD_LABELS.get(key, key)
            )
            fields.append((str(name), _value(key, value)))
    return {"time": log_time(entry.get("t")), "fields": fields}


def _log_check() -> LogCheck:
    check = current_app.extensions.get("voting.log_check")
    if check is None:
        check = current_app.extensions["voting.log_check"] = LogCheck(
            current_app.config["VOTING_DATABASE_URL"], Path(current_app.config["INSTANCE_DIR"])
        )
    return check


def _json_text(*path: str) -> ColumnElement[Any]:
    """A field of the entry's JSON as text, in SQL (the line is the stored JSON)."""
    if db().get_bind().dialect.name == "postgresql":
        return func.jsonb_extract_path_text(cast(AuditEntry.line, JSONB), *path)
    return cast(func.json_extract(AuditEntry.line, "$." + ".".join(path)), String)


def _local_to_utc(text: str) -> str | None:
    """A datetime-local value (北京时间) as the log's UTC timestamp form, for comparison."""
    try:
        local = from_form_value(text)
    except ValueError:
        return None
    return utc_timestamp(local)


def parse_filters(args: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """The query's filters and an error per bad field (a bad field filters nothing)."""
    filters: dict[str, Any] = {}
    errors: dict[str, str] = {}
    type_ = args.get("type", "")
    if type_:
        if type_ in ENTRY_TYPES:
            filters["type"] = type_
        else:
            errors["type"] = _("没有这种记录类型。")
    for name in ("vote", "from", "to", "after"):
        text = args.get(name, "").strip()
        if text:
            number = parse_int(text, 0, MAX_ID)
            if number is None:
                errors[name] = _("应为非负整数。")
            else:
                filters[name] = number
    for name in ("since", "until"):
        text = args.get(name, "").strip()
        if text:
            stamp = _local_to_utc(text)
            if stamp is None:
                errors[name] = _("时间格式应为 2027-03-01 09:00。")
            else:
                filters[name] = stamp
    return filters, errors


def query_entries(
    body_id: int, filters: dict[str, Any], limit: int = PAGE_SIZE
) -> list[AuditEntry]:
    """One page of ``body_id``'s log matching ``filters``, in index order."""
    query = (
        select(AuditEntry)
        .where(AuditEntry.body_id == body_id)
        .order_by(AuditEntry.idx)
        .limit(limit)
    )
    if "type" in filters:
        query = query.where(AuditEntry.type == filters["type"])
    if "from" in filters:
        query = query.where(AuditEntry.idx >= filters["from"])
    if "to" in filters:
        query = query.where(AuditEntry.idx <= filters["to"])
    if "after" in filters:
        query = query.where(AuditEntry.idx > filters["after"])
    if "vote" in filters:
        # ``vote`` is the vote's id, or (vote_configured) the vote object with its id
        vote = func.coalesce(_json_text("data", "vote", "id"), _json_text("data", "vote"))
        query = query.where(vote == str(filters["vote"]))
    if "since" in filters:
        query = query.where(_json_text("t") >= filters["since"])
    if "until" in filters:
        query = query.where(_json_text("t") < filters["until"])
    return list(db().scalars(query))


def _log_size(body_id: int) -> int:
    last = db().scalar(select(func.max(AuditEntry.idx)).where(AuditEntry.body_id == body_id))
    return 0 if last is None else last + 1


@bp.get("/")
@login_required(AUDITOR)
def index() -> ResponseReturnValue:
    body = selected_body()  # the chosen body's log (one log per body, docs/bodies.md)
    if body is None:
        return no_body_page()
    filters, errors = parse_filters(request.args)
    entries = query_entries(body.id, filters, PAGE_SIZE + 1)
    more = len(entries) > PAGE_SIZE
    entries = entries[:PAGE_SIZE]
    args = {k: v for k, v in request.args.items() if k != "after" and v}
    check = _log_check().current
    if check is not None and check.body != body.id:
        check = None  # another body's check
    locale = current_locale()
    with_summary = not filters or set(filters) <= {"vote"}
    return render_template(
        "audit/index.html",
        entries=[(e, readable(e.line)) for e in entries],
        summaries=vote_summaries(db(), body.id, filters.get("vote")) if with_summary else [],
        type_names={t: label(t, locale) for t in ENTRY_TYPES},
        result_lines=result_lines,
        more=more,
        next_args={**args, "after": entries[-1].idx} if more else None,
        subjects={"paper_count": _("人工计票"), "result": term("result")},
        first_args=args if "after" in filters else None,
        args=request.args,
        errors=errors,
        types=[t.value for t in EntryType],  # in the order of a sitting, as the registry has them
        size=_log_size(body.id),
        body=body,
        check=check,
        local=log_time,
    ), (400 if errors else 200)


@bp.post("/verify")
@login_required(AUDITOR)
def verify() -> ResponseReturnValue:
    body = selected_body()
    if body is None:
        return no_body_page()
    _log_check().start(_log_size(body.id), body.id)
    return redirect(url_for("audit.index", body=body.id, _anchor="verification"))
