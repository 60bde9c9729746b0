"""The stages of ``simulate --year`` that move tracked items (督办事项), and the one place
that says how each staff step on an item reaches the server (``Office``).

Kept apart from the harness (``simulate_year``: sittings, kiosks, votes, bundles) so
that a step the server cannot take stops the run with its name (``Missing``) instead of
being made up: an item's state is only ever what the server recorded.

Every staff step on items is the form of the staff pages of tracked items
(``views/supervision.py``, under ``/admin/supervision/``), posted by the secretariat's or
the presidium's logged-in session: the proposal form, the CSV uploads (proposals; the
complaint statistics, then the ranking page's ticked departments), the forms on an
item's page (初审, 交办, reports with their documents, the deadline) and the generation
of a vote from ticked items. ``Office.via`` records the page of each kind of step; the
report prints it (``"steps"``). Only reading is done here directly: the items' ids and
states come from ``services.supervision.items`` on the same database (what the list
page shows, without parsing it).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import click

from voting_server.cli.simulate_year import (
    Body,
    Missing,
    Staff,
    Year,
    close_sitting,
    evaluation_ballots,
    id_in,
    open_sitting,
    presidium_vote_id,
    reading,
    selection_ballots,
    sign_in_all,
    submitted_fields,
)
from voting_server.demo import year as demo
from voting_server.demo.county import COUNTY_COMMITTEE, COUNTY_CONGRESS


class Office:
    """The staff's steps on tracked items, each through its staff page (see the module's
    docstring); ``via`` records, per step, the page used."""

    def __init__(self, year: Year) -> None:
        self.year = year
        self.via: dict[str, str] = {}  # step → the page (path) that took it
        self.ledger = Ledger()
        self._pages = False  # the server has the pages (checked once)

    def _page(self, step: str, staff: Staff, path: str) -> str:
        if not self._pages:
            if not staff.exists(PAGES):
                raise Missing(step, f"the staff pages {PAGES} (views/supervision.py)")
            self._pages = True
        self.via.setdefault(step, f"POST {PAGES}{_shape(path[len(PAGES) :])}")
        return path

    # --- 征集 ----------------------------------------------------------------------------

    def propose(self, body: Body, **fields: Any) -> int:
        """The secretariat types one proposal into the proposal form."""
        path = self._page("propose", body.office, f"{PAGES}proposals")
        location = body.office.post(path, {k: str(v) for k, v in fields.items()})
        return id_in(location, f"{PAGES}items/")

    def import_proposals(self, body: Body, text: str) -> list[int]:
        """The secretariat uploads a CSV file of proposals (the public's, departments')."""
        path = self._page("import_proposals", body.office, f"{PAGES}import/proposals")
        before = {i["id"] for i in self.items(body)}
        body.office.post(
            path, {"year": str(demo.YEAR)},
            files={"file": ("proposals.csv", text.encode(), "text/csv")},
        )  # fmt: skip
        return [i["id"] for i in self.items(body) if i["id"] not in before]

    def import_complaints(self, body: Body, text: str) -> list[int]:
        """The secretariat uploads the complaint statistics (CSV); the ranking page ticks
        the first departments of "两高一低", which are proposed as this year's topics."""
        path = self._page("import_complaints", body.office, f"{PAGES}import/complaints")
        page = body.office.post_page(
            path, {}, files={"file": ("complaints.csv", text.encode(), "text/csv")}
        )
        fields = submitted_fields(page)  # the ranking's first departments come ticked
        ticked = fields.get("department", [])
        hidden = {name: fields[name][0] for name in ("data", "filename") if name in fields}
        before = {i["id"] for i in self.items(body)}
        topics = self._page("propose_topics", body.office, f"{PAGES}topics")
        body.office.post(topics, {"department": ticked, "year": str(demo.YEAR), **hidden})
        return [i["id"] for i in self.items(body) if i["id"] not in before]

    # --- steps ------------------------------------------------------------------------------

    def change(self, body: Body, who: str, item_id: int, action: str, **fields: Any) -> None:
        """A step on one item that generates no vote (初审, 交办, reports, deadline): the
        form of that step on the item's page, by the presidium or the office."""
        staff = body.presidium if who == "presidium" else body.office
        path = self._page(action, staff, f"{PAGES}items/{item_id}")
        upload = fields.pop("upload", None)
        data = {"action": action, **{k: str(v) for k, v in fields.items()}}
        files = None
        if upload is not None:
            title, filename, media_type, content = upload
            data["doc_title"] = title
            files = {"file": (filename, content, media_type)}
        staff.post(path, data, files=files)

    def generate(self, body: Body, sitting_id: int, item_ids: list[int], title: str,
                 seats: int | None = None) -> int:  # fmt: skip
        """The presidium ticks a list of items and puts it to a vote of a sitting (a
        selection with ``seats``, else an evaluation): a new draft vote whose candidates or
        subjects are the items', nothing retyped."""
        step = "generate_selection_vote" if seats else "generate_evaluation_vote"
        path = self._page(step, body.presidium, f"{PAGES}votes")
        data: dict[str, Any] = {
            "item": [str(i) for i in item_ids], "sitting": str(sitting_id), "title": title,
            "vote_kind": "selection" if seats else "evaluation",
        }  # fmt: skip
        if seats:
            data["seats"] = str(seats)
        return id_in(body.presidium.post(path, data), "/admin/sittings/votes/")

    def items(self, body: Body) -> list[dict[str, Any]]:
        """The body's tracked items as the server recorded them (a read of the database:
        what the list page shows, without parsing it)."""
        try:
            from voting_server.services import supervision
        except ImportError:
            raise Missing("items", "voting_server/services/supervision.py") from None
        with reading(self.year.url) as session:
            return list(supervision.items(session, body.hall.body_id))


PAGES = "/admin/supervision/"  # the staff pages of tracked items (督办事项)


def _shape(path: str) -> str:
    """``items/12`` → ``items/<id>``: the page, not the item."""
    return re.sub(r"\d+", "<id>", path)


# --- the files the secretariat imports ----------------------------------------------------------


def proposals_csv() -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["项目名称", "来源", "提出人", "责任单位"])
    for _subject, title, department, source, proposer in demo.IMPORTED_PROPOSALS:
        writer.writerow(
            [title, {"public": "群众", "department": "部门"}[source], proposer, department]
        )
    return out.getvalue()


def complaints_csv() -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["部门", "投诉量", "重复投诉量", "满意度"])
    for department, complaints, repeat, satisfaction in demo.COMPLAINTS:
        writer.writerow([department, complaints, repeat, f"{satisfaction}%"])
    return out.getvalue()


def expected_topics() -> list[str]:
    """The departments the ranking should propose (computed here from the statistics, by
    the rules' own ranking, to check the import's proposals against)."""
    from rules.supervision import ComplaintRow, Refused, propose_top

    rows = [ComplaintRow(d, c, r, Fraction(s) / 100) for d, c, r, s in demo.COMPLAINTS]
    top = propose_top(rows, demo.SPECIAL_REPORTS)
    assert not isinstance(top, Refused)
    return [r.department for r in top]


# --- the stages -------------------------------------------------------------------------------


class Ledger:
    """What the year should leave each item in: (body, title) → expected final state."""

    def __init__(self) -> None:
        self.expected: dict[tuple[str, str], str] = {}
        self.ids: dict[tuple[str, str], int] = {}  # (body, title) → item id

    def expect(self, body: str, title: str, item_id: int, state: str) -> None:
        self.ids[(body, title)] = item_id
        self.expected[(body, title)] = state


def run(year: Year, office: Office) -> None:
    """The year, stage by stage; ``year.done`` lists the stages completed, ``office.ledger``
    what each item should end in."""
    ledger = office.ledger
    congress = year.bodies[COUNTY_CONGRESS]
    committee = year.bodies[COUNTY_COMMITTEE]
    stages: list[tuple[str, Callable[[], None]]] = [
        ("collection", lambda: collect(year, office, ledger, congress, committee)),
        ("shortlist", lambda: review(year, office, ledger, congress)),
        ("congress_session", lambda: congress_session(year, office, ledger, congress)),
        ("mid_year_reports", lambda: progress(year, office, ledger, congress, "mid_year")),
        ("special_inquiry", lambda: special_inquiry(year, office, ledger, committee)),
        ("rectification", lambda: rectification(year, office, ledger, committee)),
        ("year_end_reports", lambda: progress(year, office, ledger, congress, "year_end")),
        ("acceptance", lambda: acceptance(year, office, ledger, congress)),
    ]
    for name, stage in stages:
        _say(f"stage: {name}")
        stage()
        year.done.append(name)


def _say(message: str) -> None:
    click.echo(f"[simulate --year] {message}", err=True)


def collect(year: Year, office: Office, ledger: Ledger, congress: Body, committee: Body) -> None:
    """征集: the deputies' proposals typed in, the public's and departments' imported; the
    complaint statistics imported, proposing the worst departments for special reports."""
    for _subject, title, department, seat in demo.DEPUTY_PROPOSALS:
        item = office.propose(
            congress, kind="project", title=title, year=demo.YEAR, source="deputy",
            department=department, seat=seat,
        )  # fmt: skip
        ledger.expect(congress.hall.name, title, item, "?")
    imported = office.import_proposals(congress, proposals_csv())
    if len(imported) != len(demo.IMPORTED_PROPOSALS):
        raise click.ClickException(f"the proposals import made {len(imported)} items")
    for (_s, title, *_rest), item in zip(demo.IMPORTED_PROPOSALS, imported, strict=True):
        ledger.expect(congress.hall.name, title, item, "?")
    topics = office.import_complaints(committee, complaints_csv())
    listed = {i["id"]: i for i in office.items(committee)}
    departments = [listed[i]["subject"] for i in topics]
    if departments != expected_topics():
        raise click.ClickException(
            f"the complaint ranking proposed {departments}, expected {expected_topics()}"
        )
    for item in topics:
        ledger.expect(committee.hall.name, listed[item]["title"], item, "evaluated")
    year.topics = topics


def review(year: Year, office: Office, ledger: Ledger, congress: Body) -> None:
    """初审: the presidium rejects two proposals (with the reason) and shortlists the rest."""
    name = congress.hall.name
    shortlist = []
    for (body, title), item in ledger.ids.items():
        if body != name:
            continue
        subject = _demo_subject(title)
        if subject in demo.REJECTED:
            office.change(congress, "presidium", item, "reject", note=demo.REJECTED[subject])
            ledger.expect(name, title, item, "rejected")
        else:
            office.change(congress, "presidium", item, "shortlist")
            shortlist.append(item)
    year.shortlist = shortlist


def _demo_subject(title: str) -> str:
    for subject, t, *_ in (*demo.DEPUTY_PROPOSALS, *demo.IMPORTED_PROPOSALS):
        if t == title:
            return subject
    raise KeyError(title)


def congress_session(year: Year, office: Office, ledger: Ledger, congress: Body) -> None:
    """The congress's session: the selection vote generated from the shortlist, the
    presidium's own vote to submit it, then the deputies' ballot; the announced result
    selects the projects (the server's announce moves the items)."""
    shortlist = year.shortlist
    vote_id = office.generate(
        congress, congress.sitting, shortlist, demo.SELECTION_VOTE, seats=demo.PROJECT_SEATS
    )
    year.vote(congress, presidium_vote_id(year, congress), None)
    rng = year.rng("selection")
    outcome = year.vote(
        congress, vote_id, lambda spec, voters: selection_ballots(spec, voters, rng)
    )
    selected = set(outcome["result"].get("selection", {}).get("selected", ()))
    listed = {i["id"]: i for i in office.items(congress)}
    name = congress.hall.name
    year.selected = []
    for item in shortlist:
        chosen = listed[item]["subject"] in selected
        ledger.expect(name, listed[item]["title"], item, "accepted" if chosen else "not_selected")
        if chosen:
            year.selected.append(item)
    close_sitting(congress.office, congress.sitting)


def progress(year: Year, office: Office, ledger: Ledger, congress: Body, period: str) -> None:
    """Each selected project's progress report for ``period`` (with its document); at the
    first, the project is assigned (交办) its responsible department."""
    listed = {i["id"]: i for i in office.items(congress)}
    label = {"mid_year": "年中", "year_end": "年底"}[period]
    for item in year.selected:
        entry = listed[int(item)]
        if entry["state"] == "selected":
            office.change(
                congress,
                "office",
                int(item),
                "assign",
                department=entry["department"] or "县人民政府",
            )
        text = demo.progress_report(entry["title"], label).encode()
        office.change(
            congress, "office", int(item), "report", period=period,
            upload=(f"{entry['title']}{label}进度报告", f"progress-{period}.txt",
                    "text/plain; charset=utf-8", text),
        )  # fmt: skip


def special_inquiry(year: Year, office: Office, ledger: Ledger, committee: Body) -> None:
    """The standing committee's mid-year sitting: the evaluation generated from the
    topics; more than half of all members press 不满意 for one department."""
    topics = year.topics
    vote_id = office.generate(committee, committee.sitting, topics, demo.INQUIRY_VOTE)
    rng = year.rng("inquiry")
    year.vote(
        committee, vote_id,
        lambda spec, voters: evaluation_ballots(spec, voters, rng, demo.UNSATISFACTORY),
    )  # fmt: skip
    close_sitting(committee.office, committee.sitting)
    opened = [
        i for i in office.items(committee)
        if i["kind"] == "rectification" and i["state"] == "opened"
    ]  # fmt: skip
    name = committee.hall.name
    for item in opened:  # what the server opened; only one is expected (below)
        ledger.expect(name, item["title"], item["id"], "closed_satisfactory")
    if [i["subject"] for i in opened] != [demo.UNSATISFACTORY]:
        raise click.ClickException(
            f"rectifications opened for {[i['subject'] for i in opened]}, "
            f"expected [{demo.UNSATISFACTORY}]"
        )
    year.rectification = opened[0]["id"]


def rectification(year: Year, office: Office, ledger: Ledger, committee: Body) -> None:
    """整改: 主任会议 sets the deadline and issues, the department's report is filed; the
    re-evaluation (回头看) is generated in a later sitting and found satisfactory."""
    item = year.rectification
    assert item is not None
    office.change(
        committee, "presidium", item, "set_deadline",
        deadline=demo.RECTIFICATION_DEADLINE, issues=demo.RECTIFICATION_ISSUES,
    )  # fmt: skip
    office.change(
        committee, "office", item, "report",
        upload=("整改情况报告", "rectification.txt", "text/plain; charset=utf-8",
                demo.RECTIFICATION_REPORT.encode()),
    )  # fmt: skip
    sitting = next(s for s in demo.SITTINGS if s.title == demo.COMMITTEE_REVIEW)
    open_sitting(committee, sitting)
    sign_in_all(committee)
    vote_id = office.generate(committee, committee.sitting, [item], demo.REVIEW_VOTE)
    rng = year.rng("review")
    year.vote(committee, vote_id, lambda spec, voters: evaluation_ballots(spec, voters, rng, None))
    close_sitting(committee.office, committee.sitting)


def acceptance(year: Year, office: Office, ledger: Ledger, congress: Body) -> None:
    """验单: the congress's year-end session evaluates the selected projects, generated
    from the list; each is found satisfactory and accepted."""
    sitting = next(s for s in demo.SITTINGS if s.title == demo.YEAR_END)
    open_sitting(congress, sitting)
    sign_in_all(congress)
    vote_id = office.generate(
        congress, congress.sitting, [int(i) for i in year.selected], demo.ACCEPTANCE_VOTE
    )
    rng = year.rng("acceptance")
    year.vote(congress, vote_id, lambda spec, voters: evaluation_ballots(spec, voters, rng, None))
    close_sitting(congress.office, congress.sitting)


# --- the items at the end -----------------------------------------------------------------------


def final_items(year: Year, office: Office) -> list[dict[str, Any]]:
    """Every tracked item of both bodies as the server left it, with the state the year
    should have left it in (``expected``; None for an item nobody expected)."""
    ledger = office.ledger
    found: list[dict[str, Any]] = []
    for body in year.bodies.values():
        try:
            listed = office.items(body)
        except Missing:
            return []
        for i in listed:
            expected = ledger.expected.get((body.hall.name, i["title"]))
            found.append({
                "id": i["id"], "body": body.hall.name, "kind": i["kind"], "title": i["title"],
                "subject": i["subject"], "department": i["department"], "state": i["state"],
                "expected": expected, "match": i["state"] == expected,
            })  # fmt: skip
    return found
