"""A vote kind defined here, in a test module, works everywhere without touching another file.

Issue 15: a kind is one module. ``Agreement`` (赞同度, a toy: each subject gets
同意 or 不同意, and passes when 同意 reaches the threshold) is registered at
runtime and then goes through the tally, the vote form, a live vote over real
Socket.IO sockets from kiosks, the offline verifier over the exported log,
the result sheet (HTML and export rows) and the paper count — none of which
knows it exists. If this test needs another file changed, that file still
branches on kinds.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import pytest
from flask import Flask
from pydantic import Field, field_validator

from audit.bundle import KEYS_FILE, LOG_FILE, load_keys, read_lines, verify_bundle
from audit.evidence import check_sheet_code
from kiosk_client.client import ballot_payload, new_nonce
from rules import parse_scenario, parse_vote_config, tally
from rules.kinds import (
    DEFAULT_QUORUM,
    MAJORITY_OF_MEMBERS,
    KindConfig,
    MarksKind,
    SheetTable,
    Turnout,
    VoteSpec,
    names,
    register,
)
from rules.kinds.config import Id, SchemaError, ThresholdModel, paper_count, paper_object, unique
from rules.kinds.registry import unregister
from rules.paper import ballots_from_counts
from rules.schema import electronic_ballot_error
from tests.support.live import (
    enroll_kiosk,
    kiosk_socket,
    logged_in,
    post_form,
    sign_in_by_staff,
)
from voting_server.cli.simulate import random_ballot
from voting_server.extensions import audit_log, sessions, voting
from voting_server.models import StaffRole, Vote
from voting_server.services.ballots import sealed_size
from voting_server.services.export import export_bundle
from voting_server.services.results import sheet_source
from voting_server.services.transactions import write_transaction
from voting_server.services.vote_presentation import public_vote
from voting_server.sheets import ResultSheet, render_html, result_rows

AGREE, DISAGREE = "agree", "disagree"


class AgreementVote(KindConfig):
    kind: Literal["agreement"]
    subjects: Annotated[list[Id], Field(min_length=1, max_length=20)]
    threshold: ThresholdModel | None = None
    quorum: ThresholdModel | None = None

    _ids = field_validator("subjects")(unique)

    def to_spec(self) -> VoteSpec:
        return VoteSpec(
            kind=self.kind,
            subjects=tuple(self.subjects),
            threshold=self.threshold.to_threshold() if self.threshold else MAJORITY_OF_MEMBERS,
            quorum=self.quorum.to_threshold() if self.quorum else DEFAULT_QUORUM,
        )


class Agreement(MarksKind):
    name = "agreement"
    label_zh = "赞同度"
    label_en = "Agreement"
    config_model = AgreementVote
    marks = (AGREE, DISAGREE)

    def spec_json(self, spec: VoteSpec) -> dict[str, object]:
        return {
            "subjects": list(spec.subjects),
            "threshold": spec.threshold.to_json(),
            "quorum": spec.quorum.to_json(),
        }

    def tally(
        self, spec: VoteSpec, turnout: Turnout, ballots: Sequence[Any], decides: bool
    ) -> dict[str, dict[str, Any]]:
        out = {}
        for subject in spec.subjects:
            marks = [ballot.get(subject) for ballot in ballots]
            agree, disagree = marks.count(AGREE), marks.count(DISAGREE)
            required = turnout.required(spec.threshold, agree + disagree)
            out[subject] = {
                "agree": agree,
                "disagree": disagree,
                "invalid": len(marks) - agree - disagree,
                "required": required,
                "passed": decides and agree >= required,
            }
        return out

    def paper_example(self, spec: VoteSpec) -> dict[str, Any]:
        return {s: {AGREE: 0, DISAGREE: 0, "invalid": 0} for s in spec.subjects}

    def ballots_from_counts(self, spec: VoteSpec, counts: Any) -> list[Any]:
        counts = paper_object(counts, "counts", spec.subjects)
        rows = {
            s: paper_object(counts[s], f"counts.{s}", (AGREE, DISAGREE, "invalid")) for s in counts
        }
        cast = {sum(paper_count(n, f"counts.{s}") for n in row.values()) for s, row in rows.items()}
        if len(cast) != 1:
            raise SchemaError("counts", "every subject needs the same number of ballots")
        ballots: list[dict[str, str]] = [{} for _ in range(cast.pop())]
        for subject, row in rows.items():
            marks = [AGREE] * row[AGREE] + [DISAGREE] * row[DISAGREE] + ["spoiled"] * row["invalid"]
            for ballot, mark in zip(ballots, marks, strict=True):
                ballot[subject] = mark
        return ballots

    def sheet_table(
        self, result: Mapping[str, Any], titles: Mapping[str, str], seats: int | None, decided: bool
    ) -> SheetTable:
        subjects = result["subjects"]
        rows = [
            [
                titles.get(s, s),
                str(c["agree"]),
                str(c["disagree"]),
                "通过" if c["passed"] else "未通过",
            ]
            for s, c in subjects.items()
        ]
        return SheetTable(
            head=["事项", "同意", "不同意", "结果"],
            rows=rows,
            marks=["pass" if c["passed"] else "fail" for c in subjects.values()],
            widths=[6, 2, 2, 2],
            notes=["同意票达到所需票数的为通过。"],
        )

    def summary(self, result: Mapping[str, Any], titles: Mapping[str, str]) -> str:
        passed = sum(1 for c in result["subjects"].values() if c["passed"])
        return f"{passed} 项通过"

    def export_rows(
        self, result: Mapping[str, Any], titles: Mapping[str, str]
    ) -> list[dict[str, Any]]:
        return [
            {"subject": s, "title": titles.get(s, s), "yes": c["agree"], "no": c["disagree"],
             "invalid": c["invalid"], "required": c["required"], "passed": "是" if c["passed"] else "否"}
            for s, c in result["subjects"].items()
        ]  # fmt: skip


@pytest.fixture
def agreement() -> Iterator[Agreement]:
    kind = register(Agreement())
    yield kind
    unregister(kind.name)


SCENARIO = {
    "members": 10,
    "present": 8,
    "vote": {"kind": "agreement", "subjects": ["a", "b"]},
    "ballots": [{"a": AGREE, "b": DISAGREE}] * 6 + [{"a": DISAGREE}, {"a": "maybe", "b": AGREE}],
}


def test_the_tally_and_the_schema_know_a_registered_kind(agreement: Agreement) -> None:
    assert names()[-1] == "agreement"
    scenario = parse_scenario(json.dumps(SCENARIO))
    result = tally(scenario.spec, scenario.members, scenario.present, scenario.ballots)
    assert result["quorum"] is True and result["cast"] == 8
    # 6 of 10 members agree on a: more than half of the members (the default threshold)
    assert result["subjects"]["a"] == {
        "agree": 6, "disagree": 1, "invalid": 1, "required": 6, "passed": True,
    }  # fmt: skip
    assert result["subjects"]["b"]["agree"] == 1 and result["subjects"]["b"]["passed"] is False
    spec = parse_vote_config({"kind": "agreement", "subjects": ["a"]})
    assert parse_vote_config(spec.to_json()) == spec
    assert electronic_ballot_error(spec, {"a": AGREE}) is None
    assert (
        electronic_ballot_error(spec, {"a": "yes"})
        == "ballot.a: mark must be one of ['agree', 'disagree']"
    )
    assert electronic_ballot_error(spec, {"z": AGREE}) is not None
    assert sealed_size(spec) == len(json.dumps({"a": DISAGREE}, separators=(",", ":")))
    assert set(random_ballot(spec, random.Random(1))) <= {"a"}
    paper = ballots_from_counts(spec, {"a": {AGREE: 3, DISAGREE: 1, "invalid": 1}})
    assert tally(spec, 10, 6, paper)["subjects"]["a"]["agree"] == 3


def test_an_unregistered_kind_is_refused_by_the_schema() -> None:
    with pytest.raises(
        SchemaError, match="unknown kind 'agreement'; expected motion, selection or evaluation"
    ):
        parse_vote_config({"kind": "agreement", "subjects": ["a"]})


def _vote_form(title: str) -> dict[str, str]:
    return {
        "title": title,
        "kind": "agreement",
        "items": "lake | 湖区治理方案\nbridge | 新桥选址",
        "rule": "custom",
        **{f"threshold_{k}": v for k, v in (("base", "valid"), ("num", "1"), ("den", "2"), ("strict", "strict"))},
        **{f"quorum_{k}": v for k, v in (("base", "members"), ("num", "1"), ("den", "2"), ("strict", "strict"))},
        "secret": "1",
        "key_policy": "last_press",
        "live_tally": "hidden",
    }  # fmt: skip


def test_a_live_vote_of_a_registered_kind_from_form_to_verifier_and_sheet(
    agreement: Agreement, live_app: Flask, tmp_path: Path
) -> None:
    # The secretariat configures it on the ordinary vote form.
    secretariat = logged_in(live_app, StaffRole.SECRETARIAT)
    form = secretariat.client.get("/admin/sittings/items/1/votes/new").get_data(as_text=True)
    assert 'value="agreement"' in form and "赞同度" in form
    made = post_form(secretariat.client, "/admin/sittings/items/1/votes", _vote_form("赞同度测试"))
    assert made.status_code == 302, made.get_data(as_text=True)
    with live_app.app_context(), sessions()() as s:
        vote_id = s.query(Vote).filter_by(kind="agreement").one().id

    # 36 deputies sign in; 30 vote from their tablets over Socket.IO.
    ballots = {
        seat: {"lake": AGREE, "bridge": AGREE if seat <= 10 else DISAGREE} for seat in range(1, 31)
    }
    kiosks = {seat: enroll_kiosk(live_app, seat) for seat in ballots}
    sign_in_by_staff(live_app, range(1, 37), {seat: k.device_id for seat, k in kiosks.items()})
    with live_app.app_context(), write_transaction(sessions()) as s:
        voting().open_vote(s, audit_log(), vote_id, 1, None)
        shown = public_vote(s.get(Vote, vote_id))
    assert shown["kind"] == "agreement"
    assert [o["id"] for o in shown["subjects"]] == ["lake", "bridge"]
    for seat, ballot in ballots.items():
        sio, _ = kiosk_socket(live_app, kiosks[seat])
        answer = sio.emit(
            "ballot",
            ballot_payload(kiosks[seat].key, vote_id, seat, new_nonce(), ballot),
            callback=True,
        )
        assert answer["ok"], answer
        if seat == 1:  # a mark the kind does not have is refused
            wrong = ballot_payload(kiosks[seat].key, vote_id, seat, new_nonce(), {"lake": "yes"})
            refused = sio.emit("ballot", wrong, callback=True)
            assert not refused["ok"] and "agree" in json.dumps(refused)
        sio.disconnect()
    with live_app.app_context(), write_transaction(sessions()) as s:
        voting().close_vote(s, audit_log(), vote_id, 1, "presidium")
        result = s.get(Vote, vote_id).result
    assert result["subjects"]["lake"] == {
        "agree": 30, "disagree": 0, "invalid": 0, "required": 16, "passed": True,
    }  # fmt: skip
    assert (
        result["subjects"]["bridge"]["agree"] == 10 and not result["subjects"]["bridge"]["passed"]
    )

    # The presidium countersigns; the sheet prints the kind's table.
    presidium = logged_in(live_app, StaffRole.PRESIDIUM)
    signed = post_form(
        presidium.client, f"/results/votes/{vote_id}/countersign", {"subject": "result"}
    )
    assert signed.status_code == 302
    page = presidium.client.get(f"/results/votes/{vote_id}/sheet")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "赞同度" in html and "湖区治理方案" in html and "同意票达到所需票数的为通过。" in html
    with live_app.app_context(), sessions()() as s:
        source = sheet_source(s, vote_id)
    sheet = ResultSheet.from_source(source)
    assert "新桥选址" in render_html(sheet)
    [lake, bridge] = result_rows([sheet])
    assert (lake["kind"], lake["yes"], lake["passed"]) == ("赞同度", 30, "是")
    assert (bridge["title"], bridge["yes"], bridge["no"]) == ("新桥选址", 10, 20)

    # The exported log verifies offline, recounting the toy kind's ballots.
    bundle = tmp_path / "bundle"
    export_bundle(live_app.config["VOTING_DATABASE_URL"], bundle)
    report = verify_bundle(bundle, jobs=1)
    assert report.ok, report.errors
    # The sheet's QR code (its sheet code) checks against the bundle, as check-sheet does.
    assert source["code"] is not None
    lines = read_lines(bundle / LOG_FILE)
    checked = check_sheet_code(source["code"], lines, load_keys(bundle / KEYS_FILE).server)
    assert checked["result"]["subjects"]["lake"]["agree"] == 30
