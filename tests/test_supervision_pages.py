"""督办事项 pages through the Flask test client on the real app (docs/staff-pages.md):
each role sees only its own forms, a step by the wrong role is refused with nothing
logged, the imports name every bad row, and the complaint ranking proposes topics."""

from __future__ import annotations

import io
import json
from typing import Any

from flask import Flask

from tests.support.live import LoggedIn, body_id, logged_in, post_form
from voting_server.extensions import sessions
from voting_server.models import StaffRole
from voting_server.services import supervision
from voting_server.services.audit_log import iter_lines

COMPLAINTS = "部门,投诉量,重复投诉量,满意度\n县住建局,1200,300,78.5\n县交通运输局,900,310,72\n县人社局,900,120,85\n"


def _text(response: Any) -> str:
    return response.get_data(as_text=True)


def _items(app: Flask, **kw: Any) -> list[dict[str, Any]]:
    with app.app_context(), sessions()() as s:
        return supervision.items(s, body_id(app), **kw)


def _changes(app: Flask) -> int:
    with app.app_context(), sessions()() as s:
        lines = iter_lines(s, body_id(app))
        return sum(1 for line in lines if json.loads(line)["type"] == "item_changed")


def _upload(who: LoggedIn, path: str, name: str, content: str, **fields: Any) -> Any:
    data = {**fields, "file": (io.BytesIO(content.encode()), name)}
    page = _text(who.client.get("/admin/supervision/"))
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    return who.client.post(path, data={**data, "csrf_token": token},
                           content_type="multipart/form-data")  # fmt: skip


def test_each_role_sees_its_own_forms(live_app: Flask) -> None:
    office = logged_in(live_app, StaffRole.SECRETARIAT)
    chair = logged_in(live_app, StaffRole.PRESIDIUM)
    page = _text(office.client.get("/admin/supervision/"))
    assert "征集建议" in page and "生成票决" not in page
    page = _text(chair.client.get("/admin/supervision/"))
    assert "生成票决" in page and "征集建议" not in page
    assert "督办事项" in _text(office.client.get("/admin/"))


def test_a_proposal_through_initial_review(live_app: Flask) -> None:
    office = logged_in(live_app, StaffRole.SECRETARIAT)
    chair = logged_in(live_app, StaffRole.PRESIDIUM)
    done = post_form(office.client, "/admin/supervision/proposals",
                     {"kind": "project", "title": "新建城南小学", "source": "deputy", "seat": "3",
                      "year": "2026"})  # fmt: skip
    assert done.status_code == 302
    (item,) = _items(live_app)
    path = f"/admin/supervision/items/{item['id']}"
    page = _text(office.client.get(path))
    assert "待初审" in page and 'id="form-shortlist"' not in page  # the presidium's step
    # the office posting the presidium's step anyway: refused, nothing logged
    before = _changes(live_app)
    refused = post_form(office.client, path, {"action": "shortlist"})
    assert refused.status_code == 400 and "您的角色不能进行此操作" in _text(refused)
    assert _changes(live_app) == before
    page = _text(chair.client.get(path))
    assert 'id="form-shortlist"' in page and 'id="form-reject"' in page
    assert (
        post_form(chair.client, path, {"action": "shortlist", "note": "符合条件"}).status_code
        == 302
    )
    page = _text(chair.client.get(path))
    assert "初审通过" in page and "符合条件" in page
    assert _items(live_app)[0]["state"] == "shortlisted"


def test_complaints_rank_and_become_topics(live_app: Flask) -> None:
    office = logged_in(live_app, StaffRole.SECRETARIAT)
    page = _upload(office, "/admin/supervision/import/complaints", "c.csv", COMPLAINTS)
    text = _text(page)
    assert page.status_code == 200 and 'id="ranking"' in text
    assert text.index("县交通运输局") < text.index("县住建局") < text.index("县人社局")
    data = text.split('name="data" value="', 1)[1].split('"', 1)[0]
    done = post_form(office.client, "/admin/supervision/topics",
                     {"data": data, "filename": "c.csv", "department": ["县交通运输局"],
                      "year": "2026"})  # fmt: skip
    assert done.status_code == 302
    assert [(i["kind"], i["subject"]) for i in _items(live_app)] == [("topic", "县交通运输局")]


def test_a_bad_file_names_every_row_and_imports_nothing(live_app: Flask) -> None:
    office = logged_in(live_app, StaffRole.SECRETARIAT)
    bad = "标题,来源\n路灯亮化,外星人\n,群众\n"
    page = _upload(office, "/admin/supervision/import/proposals", "p.csv", bad, year="2026")
    assert page.status_code == 400
    assert _text(page).count('class="import-error"') == 2
    assert _items(live_app) == []
    page = _text(office.client.get("/admin/supervision/subjects?subject=县交通运输局"))
    assert "历次测评" in page


def test_on_each_database_and_on_the_audit_page(app_on_each_database: Flask) -> None:
    """The same steps on SQLite and PostgreSQL; the scrutineer reads them in the log."""
    app = app_on_each_database
    office = logged_in(app, StaffRole.SECRETARIAT)
    chair = logged_in(app, StaffRole.PRESIDIUM)
    auditor = logged_in(app, StaffRole.SCRUTINEER)
    post_form(office.client, "/admin/supervision/proposals",
              {"kind": "topic", "title": "县住建局专项工作报告", "source": "office",
               "department": "县住建局"})  # fmt: skip
    (topic,) = _items(app)
    done = post_form(chair.client, f"/admin/supervision/items/{topic['id']}", {"action": "drop"})
    assert done.status_code == 302
    assert _items(app, state="dropped")[0]["subject"] == "县住建局"
    page = _text(auditor.client.get("/audit/?type=item_changed"))
    assert page.count("督办事项变更") >= 2
