"""The office's imports for tracked items (docs/supervision.md): proposals from CSV or
XLSX (a deputy's matched to the roster), and complaint statistics ranked by 两高一低 and
proposed as special-report topics — every bad row named, and nothing imported then."""

from __future__ import annotations

import io

import openpyxl
import pytest

from tests.support import paper, service_hall
from tests.support.service_hall import Hall
from voting_server.models import Member
from voting_server.services import supervision
from voting_server.services.supervision_imports import (
    ImportRejected,
    import_proposals,
    propose_topics,
    rank_file,
)

hall = service_hall.hall
BODY = 1

PROPOSALS = """\
2026年民生实事项目建议汇总
标题,来源,提出人,座位号,说明
新建城南小学,代表,,3,学位紧张
农村公路提档升级,部门,县交通运输局,,
城东广场改造,群众,,,
"""

COMPLAINTS = """\
部门,投诉量,重复投诉量,满意度
县住建局,1200,300,78.5%
县交通运输局,900,310,72
县市场监管局,400,50,91.0
县人社局,900,120,85
"""


def test_proposals_from_csv_and_xlsx(hall: Hall) -> None:
    sec = paper.users(hall, designate=False)["sec"]
    with hall.tx() as s:
        made = import_proposals(s, hall.log, BODY, sec.id, PROPOSALS.encode(), "a.csv", 2026)
        deputy = s.get(Member, made[0].proposer_member_id)
        assert deputy is not None and deputy.seat == 3
        assert [(i.source, i.proposer_name) for i in made] == [
            ("deputy", deputy.name), ("department", "县交通运输局"), ("public", "群众"),
        ]  # fmt: skip
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in (["title", "source"], ["路灯亮化", "public"]):
        sheet.append(row)
    data = io.BytesIO()
    book.save(data)
    with hall.tx() as s:
        (lamp,) = import_proposals(s, hall.log, BODY, sec.id, data.getvalue(), "b.xlsx", 2026)
        assert (lamp.title, lamp.state) == ("路灯亮化", "proposed")
    hall.verify()


def test_a_bad_row_imports_nothing(hall: Hall) -> None:
    sec = paper.users(hall, designate=False)["sec"]
    bad = PROPOSALS.replace(",代表,,3,", ",代表,无此人,,").replace(
        "城东广场改造,群众", "城东广场改造,外星人"
    )
    entries = hall.entries()
    with pytest.raises(ImportRejected) as err, hall.tx() as s:
        import_proposals(s, hall.log, BODY, sec.id, bad.encode(), "a.csv", 2026)
    assert [(e.line, e.field) for e in err.value.errors] == [(3, "proposer"), (5, "source")]
    assert hall.entries() == entries
    with hall.sessions() as s:
        assert supervision.items(s, BODY) == []


def test_complaint_statistics_rank_and_propose_topics(hall: Hall) -> None:
    sec = paper.users(hall, designate=False)["sec"]
    ranked = rank_file(COMPLAINTS.encode(), "c.csv")
    assert [(r.department, r.score) for r in ranked] == [
        ("县交通运输局", 4), ("县住建局", 5), ("县人社局", 8), ("县市场监管局", 12),
    ]  # fmt: skip
    with hall.tx() as s:
        topics = propose_topics(s, hall.log, BODY, sec.id, ranked[:2], 2026)
        assert [(t.kind, t.subject, t.state) for t in topics] == [
            ("topic", "县交通运输局", "proposed"), ("topic", "县住建局", "proposed"),
        ]  # fmt: skip
        assert "满意度 72%" in topics[0].description
    hall.verify()
    with pytest.raises(ImportRejected) as err:
        rank_file(COMPLAINTS.replace("78.5%", "七成").replace("900,120", "九百,120").encode(), "c")
    assert [(e.line, e.field) for e in err.value.errors] == [(2, "satisfaction"), (5, "complaints")]
    with pytest.raises(ImportRejected) as err:
        rank_file(COMPLAINTS.replace(",50,", ",5000,").encode(), "c.csv")
    assert "row 3: repeat complaints" in err.value.errors[0].message
