"""The secretariat's pages for the roster, sittings, agenda items and votes,
through the Flask test client on the real app: who may see them, per-row and
per-field errors that change nothing, and a vote made through the form that
the rules engine counts as configured."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from rules import tally
from tests.support.live import LoggedIn, body_id, csrf_of, logged_in, post_form
from voting_server.extensions import audit_log, sessions, voting
from voting_server.models import (
    AgendaItem,
    AttendanceMethod,
    AuditEntry,
    Body,
    BodyKind,
    BodyLevel,
    Member,
    Sitting,
    StaffRole,
    Vote,
    VoteState,
)
from voting_server.services import attendance
from voting_server.services.transactions import write_transaction


def _text(response: Any) -> str:
    return response.get_data(as_text=True)


def _upload(client: FlaskClient, body: int, data: bytes, name: str, action: str) -> Any:
    return client.post(
        f"/admin/roster/?body={body}",
        data={"file": (io.BytesIO(data), name), "action": action, "csrf_token": csrf_of(client)},
        content_type="multipart/form-data",
    )


def _members(app: Flask) -> list[tuple[int, str, bool]]:
    with app.app_context(), sessions()() as s:
        rows = s.execute(select(Member.seat, Member.name, Member.active).order_by(Member.seat))
        return [tuple(r) for r in rows]  # type: ignore[misc]


def _member_count(app: Flask) -> int:
    with app.app_context(), sessions()() as s:
        return s.scalar(select(Body.member_count)) or 0


# --- who may see what -------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/admin/roster/", {"secretariat"}),
        ("/admin/sittings/", {"secretariat", "presidium"}),
        ("/admin/sittings/1", {"secretariat", "presidium"}),
        ("/admin/sittings/items/1", {"secretariat", "presidium"}),
        ("/admin/sittings/votes/1", {"secretariat", "presidium"}),
        ("/admin/sittings/items/1/votes/new", {"secretariat"}),
    ],
)
def test_pages_render_for_their_roles_and_are_refused_to_others(
    live_app: Flask, path: str, allowed: set[str]
) -> None:
    anonymous = live_app.test_client().get(path)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    for role in StaffRole:
        client = logged_in(live_app, role, f"{role.value}-x").client
        response = client.get(path)
        if role.value in allowed:
            assert response.status_code == 200, (role, _text(response))
        else:
            assert response.status_code == 403, role
            assert "无权访问" in _text(response)


@pytest.mark.slow
def test_presidium_reads_a_vote_but_cannot_change_it(live_app: Flask) -> None:
    presidium = logged_in(live_app, StaffRole.PRESIDIUM).client
    page = _text(presidium.get("/admin/sittings/votes/1"))
    assert "保存表决事项" not in page and "关于《" in page
    response = post_form(presidium, "/admin/sittings/votes/1", {"title": "改"})
    assert response.status_code == 403


# --- roster import ----------------------------------------------------------------------


BAD_ROSTER = (
    "座位号,姓名,代表团\n1,王建国,第一组\nx,李红梅,第一组\n3,,第二组\n1,张志强,第二组\n".encode()
)


@pytest.mark.slow
def test_bad_roster_lists_every_bad_row_and_changes_nothing(
    live_app: Flask, secretariat: LoggedIn
) -> None:
    before, count, log_size = _members(live_app), _member_count(live_app), _log_size(live_app)
    for action in ("preview", "import"):
        response = _upload(secretariat.client, body_id(live_app), BAD_ROSTER, "r.csv", action)
        assert response.status_code == 400
        page = _text(response)
        rows = re.findall(r'<tr class="roster-error"><td>(.*?)</td><td>(.*?)</td>', page)
        assert rows == [
            ("第 2 行", "座位号"),  # seat 1 again on line 5
            ("第 3 行", "座位号"),
            ("第 4 行", "姓名"),
            ("第 5 行", "座位号"),
        ]
        assert "未导入任何数据" in page
    assert (_members(live_app), _member_count(live_app)) == (before, count)
    assert _log_size(live_app) == log_size


@pytest.mark.slow
def test_roster_preview_writes_nothing_and_the_import_shows_what_changed(
    live_app: Flask, secretariat: LoggedIn
) -> None:
    body = body_id(live_app)
    # seats 1–60 stay (seat 2 renamed), 61 goes, 62 is new
    with live_app.app_context(), sessions()() as s:
        groups = dict(s.execute(select(Member.seat, Member.group_name)).all())
    lines = ["座位号,姓名,组别"] + [f"{s},{n},{groups[s]}" for s, n, _a in _members(live_app)[:60]]
    lines[2] = f"2,李红,{groups[2]}"
    roster = ("\n".join([*lines, "62,新代表,第四组"]) + "\n").encode("gb18030")
    before = _members(live_app)

    preview = _upload(secretariat.client, body, roster, "名册.csv", "preview")
    assert preview.status_code == 200
    page = _text(preview)
    counts = dict(re.findall(r'<td id="roster-(\w+)">(\d+)</td>', page))
    assert counts == {
        "created": "1",
        "updated": "1",
        "unchanged": "59",
        "deactivated": "1",
        "active": "61",
    }
    assert _members(live_app) == before  # a preview only

    data = re.search(r'name="data" value="([^"]+)"', page)
    assert data is not None
    done = post_form(
        secretariat.client,
        f"/admin/roster/?body={body}",
        {"data": data.group(1), "filename": "名册.csv", "action": "import"},
    )
    assert done.status_code == 200 and "名册已导入" in _text(done)
    after = {seat: (name, active) for seat, name, active in _members(live_app)}
    assert after[2] == ("李红", True) and after[61][1] is False and after[62] == ("新代表", True)
    assert _member_count(live_app) == 61
    with live_app.app_context(), sessions()() as s:  # the new roster is in the audit log
        assert s.scalar(select(func.count()).where(AuditEntry.type == "roster")) == 1


@pytest.mark.slow
def test_roster_page_refuses_a_missing_file(live_app: Flask, secretariat: LoggedIn) -> None:
    response = post_form(secretariat.client, f"/admin/roster/?body={body_id(live_app)}")
    assert response.status_code == 400 and "请选择名册文件" in _text(response)


# --- sittings and agenda -----------------------------------------------------------------


def _log_size(app: Flask) -> int:
    with app.app_context(), sessions()() as s:
        return s.scalar(select(func.count()).select_from(AuditEntry)) or 0


@pytest.mark.slow
def test_sitting_and_item_forms_name_each_bad_field(live_app: Flask, secretariat: LoggedIn) -> None:
    client = secretariat.client
    response = post_form(
        client, f"/admin/sittings/?body={body_id(live_app)}", {"title": " ", "starts_at": "明天"}
    )
    assert response.status_code == 400
    page = _text(response)
    assert 'id="title-error"' in page and 'id="starts_at-error"' in page
    with live_app.app_context(), sessions()() as s:
        assert s.scalar(select(func.count()).select_from(Sitting)) == 1

    made = post_form(
        client,
        f"/admin/sittings/?body={body_id(live_app)}",
        {"title": "第二十一次会议", "starts_at": "2027-03-01T09:00", "status": "planned"},
    )
    assert made.status_code == 302
    sitting_id = int(re.search(r"/sittings/(\d+)", made.headers["Location"]).group(1))  # type: ignore[union-attr]
    with live_app.app_context(), sessions()() as s:
        sitting = s.get(Sitting, sitting_id)
        assert sitting is not None and sitting.starts_at.hour == 1  # 09:00 北京时间 = 01:00 UTC

    bad = post_form(client, f"/admin/sittings/{sitting_id}/items", {"position": "0", "title": ""})
    assert bad.status_code == 400
    assert 'id="position-error"' in _text(bad) and 'id="title-error"' in _text(bad)
    for title in ("审议甲", "审议乙"):
        post_form(client, f"/admin/sittings/{sitting_id}/items", {"position": "1", "title": title})
    # the second took position 1: the first moved to 2
    with live_app.app_context(), sessions()() as s:
        items = s.scalars(
            select(AgendaItem)
            .where(AgendaItem.sitting_id == sitting_id)
            .order_by(AgendaItem.position)
        )
        assert [(i.position, i.title) for i in items] == [(1, "审议乙"), (2, "审议甲")]


def _vote_form(**fields: str) -> dict[str, str]:
    form = {
        "title": "关于甲乙丙的票决",
        "kind": "selection",
        "items": "p1 | 甲项目\np2 | 乙项目\n丙项目",
        "seats": "2",
        "rule": "custom",
        "threshold_base": "present",
        "threshold_num": "2",
        "threshold_den": "3",
        "threshold_strict": "at_least",
        "quorum_base": "members",
        "quorum_num": "1",
        "quorum_den": "2",
        "quorum_strict": "strict",
        "eval_rule": "unsatisfied",
        "unsatisfied_base": "members",
        "unsatisfied_num": "1",
        "unsatisfied_den": "2",
        "unsatisfied_strict": "strict",
        "secret": "0",
        "key_policy": "first_press",
        "live_tally": "breakdown",
    }
    form.update(fields)
    return form


def test_a_vote_made_through_the_form_is_counted_as_configured(
    live_app: Flask, secretariat: LoggedIn
) -> None:
    made = post_form(secretariat.client, "/admin/sittings/items/1/votes", _vote_form())
    assert made.status_code == 302, _text(made)
    vote_id = int(re.search(r"/votes/(\d+)", made.headers["Location"]).group(1))  # type: ignore[union-attr]
    with live_app.app_context(), sessions()() as s:
        vote = s.get(Vote, vote_id)
        assert vote is not None
        spec = vote.spec()
        assert vote.options() == [("p1", "甲项目"), ("p2", "乙项目"), ("c1", "丙项目")]
        assert (vote.secret, vote.key_policy.value, vote.live_tally.value) == (
            False,
            "first_press",
            "breakdown",
        )
        assert vote.state is VoteState.DRAFT
    # 61 members, 30 present: at least two thirds of those present (20) elect.
    ballots = [["p1", "p2"]] * 20 + [["p2", "c1"]] * 9 + [["p1", "p2", "c1"]]  # the last: invalid
    result = tally(spec, 61, 30, ballots)
    assert result["quorum"] is False  # 30 is not more than half of 61
    result = tally(spec, 61, 31, [*ballots, ["c1"]])
    selection = result["selection"]
    assert (selection["required"], selection["invalid"]) == (21, 1)
    assert selection["votes"] == {"p1": 20, "p2": 29, "c1": 10}
    assert selection["selected"] == ["p2"] and selection["unfilled"] == 1


@pytest.mark.slow
@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ({"kind": "referendum"}, "kind"),
        ({"items": ""}, "items"),
        ({"seats": "4"}, "seats"),  # more seats than the 3 candidates
        ({"items": "p1 | 甲\np1 | 乙"}, "items"),
        ({"threshold_num": "4"}, "threshold"),  # 4/3
        ({"quorum_den": "0"}, "quorum"),
        ({"secret": "1"}, "live_tally"),  # a secret vote with a live breakdown
        ({"rule": "two_thirds"}, "rule"),  # a motion preset on a selection
        ({"kind": "evaluation", "eval_rule": "below", "below_num": "", "rule": "custom"}, "below"),
    ],
)
def test_a_bad_vote_form_names_the_field_and_saves_nothing(
    live_app: Flask, secretariat: LoggedIn, fields: dict[str, str], bad: str
) -> None:
    with live_app.app_context(), sessions()() as s:
        before = s.scalar(select(func.count()).select_from(Vote))
    response = post_form(secretariat.client, "/admin/sittings/items/1/votes", _vote_form(**fields))
    assert response.status_code == 400
    assert f'id="{bad}-error"' in _text(response), _text(response)
    with live_app.app_context(), sessions()() as s:
        assert s.scalar(select(func.count()).select_from(Vote)) == before


@pytest.mark.slow
def test_a_preset_gives_the_presets_rules_and_a_draft_can_be_edited(
    live_app: Flask, secretariat: LoggedIn
) -> None:
    form = _vote_form(kind="motion", items="章程修正案", rule="two_thirds", secret="1")
    form["live_tally"] = "participation"
    response = post_form(secretariat.client, "/admin/sittings/votes/1", form)
    assert response.status_code == 302, _text(response)
    with live_app.app_context(), sessions()() as s:
        vote = s.get(Vote, 1)
        assert vote is not None
        assert vote.config["threshold"] == {"base": "members", "ratio": [2, 3], "strict": False}
        assert vote.options() == [("s1", "章程修正案")]
    page = _text(secretariat.client.get("/admin/sittings/votes/1"))
    assert re.search(r'<option value="two_thirds" data-kind="motion" selected>', page)


def _open_vote(app: Flask, vote_id: int) -> None:
    with app.app_context(), write_transaction(sessions()) as s:
        sitting = s.get(Vote, vote_id).agenda_item.sitting  # type: ignore[union-attr]
        for member in s.scalars(select(Member).where(Member.seat <= 40)).all():
            attendance.sign_in(s, audit_log(), sitting, member, AttendanceMethod.OPERATOR, by=1)
        voting().open_vote(s, audit_log(), vote_id, 1, None)


@pytest.mark.slow
def test_an_open_vote_is_read_only(live_app: Flask, secretariat: LoggedIn) -> None:
    _open_vote(live_app, 1)
    with live_app.app_context(), sessions()() as s:
        config = s.get(Vote, 1).config  # type: ignore[union-attr]
    page = _text(secretariat.client.get("/admin/sittings/votes/1"))
    assert "只能查看，不能修改" in page and "保存表决事项" not in page
    for path in ("/admin/sittings/votes/1", "/admin/sittings/votes/1/delete"):
        response = post_form(secretariat.client, path, _vote_form(kind="motion", rule="default"))
        assert response.status_code == 409
    item = post_form(
        secretariat.client, "/admin/sittings/items/1", {"position": "1", "title": "改"}
    )
    assert item.status_code == 409
    with live_app.app_context(), sessions()() as s:
        vote = s.get(Vote, 1)
        assert vote is not None and vote.config == config and vote.state is VoteState.OPEN
        assert s.get(AgendaItem, 1).title != "改"  # type: ignore[union-attr]


def test_a_form_fault_is_shown_in_the_readers_language(
    live_app: Flask, secretariat: LoggedIn
) -> None:
    """The service names the fault by msgid; the page shows it in Chinese, or in English."""
    form = _vote_form(secret="1")
    response = post_form(secretariat.client, "/admin/sittings/items/1/votes", form)
    assert response.status_code == 400
    assert "无记名表决不能在表决中显示各项票数。" in _text(response)
    secretariat.client.get("/login?lang=en")  # the language choice is kept in a cookie
    response = post_form(secretariat.client, "/admin/sittings/items/1/votes", form)
    assert response.status_code == 400
    assert "A secret vote cannot show the counts of each choice during the vote." in _text(response)


@pytest.mark.slow
def test_the_secretariat_sets_a_presidium_vote_and_the_vote_that_waits_for_it(
    live_app: Flask, secretariat: LoggedIn
) -> None:
    motion = _vote_form(kind="motion", items="提交大会表决", rule="custom", electorate="presidium")
    made = post_form(secretariat.client, "/admin/sittings/items/1/votes", motion)
    assert made.status_code == 302, _text(made)
    decision = int(re.search(r"/votes/(\d+)", made.headers["Location"]).group(1))  # type: ignore[union-attr]
    # the demo's selection (vote 2, the livelihood projects) waits for the presidium
    page = _text(secretariat.client.get("/admin/sittings/votes/2"))
    assert f'<option value="{decision}"' in page and '<option value="3"' not in page
    saved = post_form(secretariat.client, "/admin/sittings/votes/2",
                      _vote_form(requires=str(decision)))  # fmt: skip
    assert saved.status_code == 302, _text(saved)
    for bad in ("3", "2", "999"):  # an evaluation decides nothing; itself; no such vote
        refused = post_form(secretariat.client, "/admin/sittings/votes/2", _vote_form(requires=bad))
        assert refused.status_code == 400 and 'id="requires-error"' in _text(refused)
    with live_app.app_context(), sessions()() as s:
        assert s.get(Vote, decision).electorate.value == "presidium"  # type: ignore[union-attr]
        assert s.get(Vote, 2).requires_vote_id == decision  # type: ignore[union-attr]


def test_a_preset_is_offered_only_to_the_bodies_it_names(
    live_app: Flask, secretariat: LoggedIn
) -> None:
    """config/presets.toml: 满意率低于60% is the standing committee's preset; once the
    body is a township congress its vote form neither shows nor accepts it."""
    page = _text(secretariat.client.get("/admin/sittings/items/1/votes/new"))
    assert 'value="satisfaction_below_60"' in page  # a city standing committee: offered
    with live_app.app_context(), write_transaction(sessions()) as s:
        body = s.get(Body, 1)
        assert body is not None
        body.kind, body.level = BodyKind.CONGRESS, BodyLevel.TOWNSHIP
    page = _text(secretariat.client.get("/admin/sittings/items/1/votes/new"))
    assert 'value="satisfaction_below_60"' not in page
    assert 'value="default" data-kind="evaluation"' in page  # every body's presets stay
    with live_app.app_context(), sessions()() as s:
        before = s.scalar(select(func.count()).select_from(Vote))
    form = _vote_form(kind="evaluation", items="县教育局", rule="satisfaction_below_60")
    response = post_form(secretariat.client, "/admin/sittings/items/1/votes", form)
    assert response.status_code == 400
    assert 'id="rule-error"' in _text(response)
    with live_app.app_context(), sessions()() as s:
        assert s.scalar(select(func.count()).select_from(Vote)) == before


def test_a_platform_account_creates_a_body_whose_log_starts_at_once(
    live_app: Flask, secretariat: LoggedIn
) -> None:
    """机构: only an account serving every body adds one; the new body's own log opens
    with log_started naming it; a township standing committee is refused, nothing made."""
    page = _text(secretariat.client.get("/admin/"))
    assert 'action="/admin/bodies"' in page
    made = post_form(
        secretariat.client,
        "/admin/bodies",
        {"name": "示例镇人民代表大会", "kind": "congress", "level": "township"},
    )
    assert made.status_code == 302, _text(made)
    with live_app.app_context(), sessions()() as s:
        town = s.scalar(select(Body).where(Body.name == "示例镇人民代表大会"))
        assert town is not None and (town.kind, town.level) == (
            BodyKind.CONGRESS,
            BodyLevel.TOWNSHIP,
        )
        first = s.scalar(
            select(AuditEntry.line).where(AuditEntry.body_id == town.id, AuditEntry.idx == 0)
        )
        town_id = town.id
    assert first is not None and '"type":"log_started"' in first and "示例镇人民代表大会" in first

    refused = post_form(
        secretariat.client,
        "/admin/bodies",
        {"name": "示例镇人大常委会", "kind": "standing_committee", "level": "township"},
    )
    assert refused.status_code == 400 and 'id="body-error"' in _text(refused)
    with live_app.app_context(), sessions()() as s:
        assert s.scalar(select(func.count()).select_from(Body)) == 2

    # the town's own office serves the town only: it may not add bodies
    town_office = logged_in(live_app, StaffRole.SECRETARIAT, "town-office", bodies=[town_id])
    assert 'action="/admin/bodies"' not in _text(town_office.client.get("/admin/"))
    denied = post_form(
        town_office.client, "/admin/bodies", {"name": "另一个", "kind": "congress", "level": "city"}
    )
    assert denied.status_code == 403
    with live_app.app_context(), sessions()() as s:
        assert s.scalar(select(func.count()).select_from(Body)) == 2


def _new_vote_id(response: Any) -> int:
    return int(re.search(r"/votes/(\d+)", response.headers["Location"]).group(1))  # type: ignore[union-attr]


def test_the_vote_form_makes_a_score_evaluation_with_attending_deputies(
    live_app: Flask, secretariat: LoggedIn
) -> None:
    """The secretariat chooses 现场打分 (range, trim, pass mark) and 列席代表参加测评."""
    form = _vote_form(kind="evaluation", items="县教育局\n县民政局", eval_rule="scores",
                      score_min="0", score_max="100", score_trim="1", score_pass="60",
                      admit_attending="1", outcome_on="all")  # fmt: skip
    made = post_form(secretariat.client, "/admin/sittings/items/1/votes", form)
    assert made.status_code == 302, _text(made)
    with live_app.app_context(), sessions()() as s:
        vote = s.get(Vote, _new_vote_id(made))
        assert vote is not None
        rule = vote.spec().evaluation
        assert rule.scores is not None
        assert (rule.scores.low, rule.scores.high, rule.scores.trim, rule.scores.pass_mark) == (
            0,
            100,
            1,
            60,
        )
        assert rule.admit_attending and rule.outcome_on.value == "all"
    page = _text(secretariat.client.get(made.headers["Location"]))
    assert 'name="eval_rule" value="scores" checked' in page
    assert 'name="admit_attending" value="1" checked' in page


def test_the_vote_form_makes_three_grades(live_app: Flask, secretariat: LoggedIn) -> None:
    half_of_valid = {"base": "valid", "num": "1", "den": "2", "strict": "at_least"}
    t1 = {f"grade_satisfied_{k}": v for k, v in half_of_valid.items()}
    t2 = {f"grade_basic_{k}": v for k, v in {**half_of_valid, "num": "2", "den": "3"}.items()}
    form = _vote_form(kind="evaluation", items="县教育局", eval_rule="three", **t1, **t2)
    made = post_form(secretariat.client, "/admin/sittings/items/1/votes", form)
    assert made.status_code == 302, _text(made)
    with live_app.app_context(), sessions()() as s:
        vote = s.get(Vote, _new_vote_id(made))
        assert vote is not None
        grades = vote.spec().evaluation.grades
        assert grades is not None
        assert (grades.satisfied.num, grades.satisfied.den, grades.basic.num) == (1, 2, 2)
    bad = post_form(secretariat.client, "/admin/sittings/items/1/votes",
                    {**form, "grade_basic_den": "0"})  # fmt: skip
    assert bad.status_code == 400 and 'id="grade_basic-error"' in _text(bad)


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"score_min": "90", "score_max": "10"}, "scores"),
        ({"score_max": "1001"}, "scores"),
        ({"score_trim": "-1"}, "scores"),
        ({"score_pass": "101"}, "scores"),
        ({"score_min": "abc"}, "scores"),
        ({"admit_attending": "1", "outcome_on": "attending"}, "attending"),
    ],
)
def test_a_bad_score_setting_is_shown_under_its_field(
    live_app: Flask, secretariat: LoggedIn, fields: dict[str, str], error: str
) -> None:
    with live_app.app_context(), sessions()() as s:
        before = s.scalar(select(func.count()).select_from(Vote))
    form = _vote_form(kind="evaluation", items="县教育局", eval_rule="scores", **fields)
    response = post_form(secretariat.client, "/admin/sittings/items/1/votes", form)
    assert response.status_code == 400
    assert f'id="{error}-error"' in _text(response)
    with live_app.app_context(), sessions()() as s:
        assert s.scalar(select(func.count()).select_from(Vote)) == before
