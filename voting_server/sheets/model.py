"""The result sheet (表决结果 / 票决结果 / 测评结果) as data: what one sheet prints,
before any format.

A ``ResultSheet`` is plain data (the shell builds it from the database:
``services.results.sheet_source`` → ``ResultSheet.from_source``);
``sheet_view`` turns it into the strings every format prints alike
(``SheetView``). The table and notes of a sheet are its vote kind's
(``rules.kinds``: ``Kind.sheet_table``), found in the registry. The domain's
words (titles, the four figures, verdicts, columns) are the glossary's
(``rules.glossary``, always Chinese: a sheet is an official document). Pure:
no database, no Flask, no clock.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import qrcode
import qrcode.constants
from PIL.Image import Image

from rules.breakdown import breakdown_table, breakdown_title
from rules.glossary import term
from rules.kinds import SheetTable, is_kind, kind_of, names
from voting_server.timefmt import beijing_time, period

ROLE_LABELS = {"presidium": "主持人", "scrutineer": "监票人"}
BLANK_SIGNATURES = {"presidium": 1, "scrutineer": 2}  # blank lines when nobody signed yet
STATUS_LABELS = {
    "decided": "有效",
    "no_quorum": f"未达{term('quorum')}",  # 未达法定人数
    "void": term("act") + term("verdict.void"),  # 表决无效
}
METHOD_LABELS = {"kiosk_pin": "表决器签到", "operator": "工作人员代签到"}
MANUAL_NOTE = "人工计票（纸质表决）：本结果由监票人监督下人工计票得出并录入系统。"
NO_CODE = "本结果尚未写入签名的日志检查点，暂无核验二维码；请在检查点生成后重新打印。"
# What a secret electronic vote's content rests on (``voting-audit verify``'s ``content``)
CONTENT_NOTES = {
    "proven": "选票内容：监票人密钥加密（content: proven）。每张选票在表决器上加密，"
    "只有足够多的监票人共同才能解密合计，任何一张选票都不单独解密；"
    "任何人可用核验工具从审计日志独立证明本结果是全部选票之和。",
    "server-trusted": "选票内容：服务器保管（content: server-trusted）。本次无记名表决未采用"
    "监票人密钥加密：核验工具能证明参加人数与计票一致，但不能独立证明每张选票的内容，"
    "表决期间选票内容由服务器保管。",
}


class SheetError(RuntimeError):
    """A sheet cannot be rendered (e.g. no Chinese font on this machine for the PDF)."""


@dataclass(frozen=True)
class ResultSheet:
    """What one result sheet prints: plain data, no database objects.

    ``result`` is the engine's result dict (CONTRACTS.md §2, with the
    engine's extra keys); ``titles`` maps subject/candidate ids to display
    titles; ``countersignatures`` are ``{role: "presidium"|"scrutineer",
    name, time}``; ``code`` is ``audit.evidence.sheet_code(...)``, or None
    while the result is not yet under a signed head (no QR code then).
    """

    body: str  # 机构, e.g. "某某市人大常委会"
    sitting: str  # 会议
    agenda_item: str  # 议程
    title: str  # 表决事项
    kind: str  # a registered vote kind (rules.kinds): "motion", "selection", "evaluation" …
    secret: bool  # 无记名
    manual: bool  # 人工计票 (paper count)
    opened_at: datetime | None
    closed_at: datetime | None
    members: int  # 应到
    present: int  # 实到
    result: Mapping[str, Any]
    titles: Mapping[str, str] = field(default_factory=dict)
    seats: int | None = None  # selection: 应选名额
    countersignatures: Sequence[Mapping[str, Any]] = ()
    code: Mapping[str, Any] | None = None
    vote_id: int | None = None  # the vote's number; else taken from ``code``
    # 人工计票 whose 实到 differs from the sign-ins: the difference and its logged reason
    present_note: str | None = None
    # 分团表决情况: the logged ``by_delegation`` of a named vote (rules/breakdown.py), or None
    by_delegation: Sequence[Mapping[str, Any]] | None = None
    group_head: str = "代表团"  # what the roster's groups are: 代表团, or a committee's 组别
    # a secret electronic vote: encrypted to the scrutineers' joint key (监票人密钥加密)
    trustees: bool = False

    @property
    def content(self) -> str | None:
        """What a secret electronic vote's content rests on, as the verifier reports it:
        ``proven`` (trustee mode) or ``server-trusted`` (the server's vote key); None for
        a named vote or a paper count, whose content is not secret or not electronic."""
        if not self.secret or self.manual:
            return None
        return "proven" if self.trustees else "server-trusted"

    def __post_init__(self) -> None:
        if not is_kind(self.kind):
            raise SheetError(f"kind must be one of {sorted(names())}; got {self.kind!r}")
        key = kind_of(self.kind).result_key
        if key not in self.result:
            raise SheetError(f"a {self.kind} result has {key!r}; got keys {sorted(self.result)}")

    @classmethod
    def from_source(cls, source: Mapping[str, Any]) -> ResultSheet:
        """From ``services.results.sheet_source``'s dict (unknown keys are ignored)."""
        return cls(**{k: source[k] for k in cls.__dataclass_fields__ if k in source})

    @property
    def number(self) -> int | None:
        if self.vote_id is not None:
            return self.vote_id
        return self.code.get("vote") if self.code else None

    @property
    def status(self) -> str:
        """``decided`` | ``no_quorum`` | ``void`` (the engine's whole-vote outcome)."""
        if self.result.get("void"):
            return "void"
        if not self.result.get("quorum", True):
            return "no_quorum"
        return "decided"


def code_payload(code: Mapping[str, Any]) -> str:
    """The text a sheet's QR code holds: the sheet code as compact, sorted JSON."""
    return json.dumps(code, separators=(",", ":"), sort_keys=True)


def qr_image(code: Mapping[str, Any], box_size: int = 6) -> Image:
    """The QR code of a sheet code, as a PIL image (medium error correction)."""
    qr = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=box_size, border=4
    )
    qr.add_data(code_payload(code))
    qr.make(fit=True)
    return qr.make_image(fill_color="black", back_color="white").get_image().convert("RGB")


def png(image: Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


# --- what a sheet shows (shared by HTML and PDF) -------------------------------------


@dataclass(frozen=True)
class Signature:
    role: str
    name: str
    time: str


@dataclass(frozen=True)
class SheetView:
    """Everything a sheet prints, as strings, in order."""

    sheet: ResultSheet
    heading: str  # 表决结果 | 票决结果 | 测评结果 (the kind's, rules.glossary)
    act: str  # 表决 | 票决 | 测评
    kind_label: str
    ballot_label: str  # 记名表决 | 无记名表决
    count_label: str  # 电子表决 | 人工计票（纸质表决）
    period: str
    turnout: list[tuple[str, int]]
    alert: tuple[str, str] | None  # (headline, detail) when nothing was decided
    verdict: str | None  # single-subject motion: 通过 | 未通过
    passed: bool  # the verdict is 通过
    table: SheetTable  # the kind's (rules.kinds: Kind.sheet_table)
    breakdown: SheetTable | None  # by delegation (named votes only), under its title
    breakdown_title: str
    notes: list[str]
    signatures: list[Signature]
    qr_png: bytes | None
    code: Mapping[str, Any] | None
    head_time: str  # of the signed head, Beijing time

    @property
    def head(self) -> Mapping[str, Any]:
        return (self.code or {}).get("head") or {}

    @property
    def head_text(self) -> str | None:
        """The signed head as ``SIZE:ROOT``, for ``voting-audit verify --head``."""
        return None if self.code is None else f"{self.head.get('size')}:{self.head.get('root')}"

    @property
    def qr_data_uri(self) -> str | None:
        if self.qr_png is None:
            return None
        return "data:image/png;base64," + base64.b64encode(self.qr_png).decode("ascii")

    @property
    def summary(self) -> str:
        """One line for the minutes' list of votes."""
        s, r = self.sheet, self.sheet.result
        if self.alert is not None:
            return self.alert[0]
        return kind_of(s.kind).summary(r, s.titles)


def _alert(sheet: ResultSheet) -> tuple[str, str] | None:
    r = sheet.result
    if sheet.status == "void":
        detail = (
            f"收回选票 {r.get('cast', 0)} 张，多于{term('present')} {sheet.present} 人"
            "（收回的选票多于发出的选票，表决无效），本次表决须重新进行。"
        )
        if r.get("reason"):
            detail += f" 原因：{r['reason']}"
        return f"{term('act', kind=sheet.kind)}{term('verdict.void')}", detail
    if sheet.status == "no_quorum":
        return (
            STATUS_LABELS["no_quorum"],
            f"{term('present')} {sheet.present} 人，未达到法定出席人数"
            f"（{term('members')} {sheet.members} 人），{term('result', kind=sheet.kind)}不生效，"
            f"所有事项均{term('verdict.failed')}。",
        )
    return None


def _signatures(sheet: ResultSheet) -> list[Signature]:
    out = []
    for role in ("presidium", "scrutineer"):
        signed = [c for c in sheet.countersignatures if c.get("role") == role]
        for c in signed:
            out.append(
                Signature(ROLE_LABELS[role], str(c.get("name") or ""), beijing_time(c.get("time")))
            )
        if not signed:
            out.extend(Signature(ROLE_LABELS[role], "", "") for _ in range(BLANK_SIGNATURES[role]))
    return out


def sheet_view(sheet: ResultSheet) -> SheetView:
    r = sheet.result
    kind = kind_of(sheet.kind)
    table = kind.sheet_table(r, sheet.titles, sheet.seats, sheet.status == "decided")
    # 无效 only where ballots can be invalid (a paper count; a kind whose kiosk ballots can be)
    invalid = kind.invalid_possible(sheet.manual)
    if not invalid:
        table = table.without_invalid()
    notes = table.all_notes
    code = sheet.code
    head: Mapping[str, Any] = (code.get("head") or {}) if code is not None else {}
    # secret votes never break down, whatever the source says
    breakdown = None if sheet.secret or not sheet.by_delegation else sheet.by_delegation
    by_group = (
        breakdown_table(sheet.kind, breakdown, sheet.titles, sheet.group_head)
        if breakdown
        else None
    )
    if by_group is not None and not invalid:
        by_group = by_group.without_invalid()
    act = term("act", kind=sheet.kind)
    return SheetView(
        sheet=sheet,
        heading=term("result", kind=sheet.kind),
        act=act,
        kind_label=kind.label_zh,
        ballot_label=term("secret" if sheet.secret else "named") + act,
        count_label="人工计票（纸质表决）" if sheet.manual else f"电子{act}",
        period=period(sheet.opened_at, sheet.closed_at),
        turnout=[
            (term("members"), sheet.members),
            (term("present"), sheet.present),
            (term("cast"), int(r.get("cast", 0))),
            (term("not_voted"), int(r.get("not_voted", 0))),
        ],
        alert=_alert(sheet),
        verdict=table.verdict,
        passed=table.verdict == term("verdict.passed"),
        table=table,
        breakdown=by_group,
        breakdown_title=breakdown_title(sheet.group_head),
        notes=[
            *notes,
            *([sheet.present_note] if sheet.present_note else []),
            *([CONTENT_NOTES[sheet.content]] if sheet.content else []),
        ],
        signatures=_signatures(sheet),
        qr_png=png(qr_image(code)) if code is not None else None,
        code=code,
        head_time=beijing_time(head.get("time")) or str(head.get("time") or ""),
    )
