"""The public results (全程公开, docs/public.md): read-only pages for everyone, no login.

Announced votes only (``services.public``): a vote that is not announced — draft,
open, closed and not yet announced, cancelled — is answered 404 here and is in no
list, exactly like a vote that does not exist. GET only; every page carries the
Content-Security-Policy of every page (views/security.py): no inline script, the
proof check is ``static/js/public_proof.js`` reading the page's JSON.

The same functions render the pages served here and the static export of
``voting-server publish`` (cli/publish.py): a ``Site`` says where the page is and
whether it is served or a file, and every link is relative, so the exported
folder works from any web server or straight from the disk (file://).

Paths of the site (under ``/public/`` here, under the export's folder there):

- ``""`` — the bodies; ``bodies/<id>/`` — a body's sittings and announced votes;
- ``votes/<id>/`` — a result: the sheet, the roll call (named votes), the proof;
- ``votes/<id>/head.json`` — the signed head; ``votes/<id>/<entry>.proof.json`` —
  an inclusion proof (``voting-audit check-proof`` takes it as it is) and
  ``votes/<id>/<entry>.entry.json`` — the log's line itself, for ``<entry>`` one of
  ``log_started``, ``result``, ``vote_announced`` (``services.public.PROVED``);
- ``bodies/<id>/items/`` — 督办事项, the tracked items' public timelines
  (``render_items``): no staff names, a member of the public unnamed, a vote linked
  once announced.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, abort, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from markupsafe import Markup
from sqlalchemy.orm import Session

from audit.evidence import RESULT_TYPES
from rules import glossary
from voting_server.extensions import db
from voting_server.i18n import (
    ITEM_ACTION_LABELS,
    ITEM_KIND_LABELS,
    ITEM_PERIOD_LABELS,
    ITEM_STATE_LABELS,
    current_locale,
)
from voting_server.services import public, supervision
from voting_server.sheets import ResultSheet, render_section
from voting_server.timefmt import beijing_time, local

bp = Blueprint("public", __name__, url_prefix="/public")

# Pages change when a vote is announced or a sheet countersigned: a minute's cache.
# A proof file never changes (its head is the one after the announcement).
PAGE_CACHE = "public, max-age=60"
FILE_CACHE = "public, max-age=86400"
ASSETS = ("css/public.css", "js/public_proof.js")  # what the static export copies


@dataclass(frozen=True)
class Site:
    """Where a page is on the public site (``here``: ``""``, ``bodies/3/``,
    ``votes/5/``) and whether it is a file of the static export (links then name
    ``index.html``: a browser shows a folder from file:// as a listing)."""

    here: str = ""
    static: bool = False

    def href(self, target: str) -> str:
        """A relative link from this page to ``target`` (a site path)."""
        up = "../" * self.here.count("/")
        if self.static and (target == "" or target.endswith("/")):
            target += "index.html"
        return (up + target) or "./"

    def asset(self, name: str) -> str:
        """A stylesheet or script: the server's ``/static/``, the export's ``static/``."""
        return self.href(f"static/{name}") if self.static else url_for("static", filename=name)


def vote_path(vote_id: int) -> str:
    return f"votes/{vote_id}/"


def body_path(body_id: int) -> str:
    return f"bodies/{body_id}/"


def file_names() -> list[str]:
    """The files of a public vote beside its page."""
    return ["head.json", *(f"{n}.{k}.json" for n in public.PROVED for k in ("proof", "entry"))]


# --- rendering (served and exported alike) ------------------------------------------------


def mark_word(value: Any) -> str:
    """A logged mark in the page's language (赞成 …); a score or anything else as it is."""
    return glossary.mark_word(value, current_locale())


def _render(template: str, site: Site, **context: Any) -> str:
    return render_template(template, site=site, **context)


def render_index(session: Session, site: Site) -> str:
    return _render("public/index.html", site, bodies=public.overview(session))


def render_body(session: Session, body_id: int, site: Site) -> str | None:
    body = public.body_results(session, body_id)
    if body is None:
        return None
    return _render("public/body.html", site, body=body)


def render_vote(
    session: Session, vote_id: int, site: Site, found: dict[str, Any] | None = None
) -> str | None:
    """``found``: ``public.public_vote``'s answer when the caller has it already."""
    found = found or public.public_vote(session, vote_id)
    if found is None:
        return None
    sheet = ResultSheet.from_source(found["sheet"])
    evidence = found["evidence"]
    proof = None
    if evidence is not None:
        proof = evidence.to_json() | {"vote": vote_id, "shown_result": found["sheet"]["result"],
                                      "result_types": sorted(RESULT_TYPES)}  # fmt: skip
    return _render(
        "public/vote.html",
        site,
        vote=found,
        sheet_html=Markup(render_section(sheet)),  # escaped by the sheets' own Jinja env
        roll_call=found["roll_call"],
        evidence=evidence,
        proof=proof,
        files=file_names() if evidence is not None else [],
        mark_word=mark_word,
    )


def vote_files(
    session: Session, vote_id: int, found: dict[str, Any] | None = None
) -> dict[str, bytes] | None:
    """The downloads of a public vote, by file name (``file_names``); None if not public
    or not yet under a signed head."""
    found = found or public.public_vote(session, vote_id)
    if found is None or found["evidence"] is None:
        return None
    evidence: public.Evidence = found["evidence"]
    out = {"head.json": _json_bytes(evidence.head)}
    for name, proved in evidence.proofs.items():
        out[f"{name}.proof.json"] = _json_bytes(proved["proof"])
        out[f"{name}.entry.json"] = proved["line"].encode("utf-8")  # the line's exact bytes
    return out


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


@bp.app_template_filter("public_time")
def public_time(when: Any) -> str:
    """A logged time (UTC) as 北京时间, to the minute (ISO-like in English)."""
    if current_locale() == "en":
        shown = local(when)
        return shown.strftime("%Y-%m-%d %H:%M") if shown is not None else ""
    return beijing_time(when, seconds=False)


# --- the served site ----------------------------------------------------------------


def _page(html: str | None) -> ResponseReturnValue:
    if html is None:
        abort(404)  # unannounced, cancelled or absent alike: nothing said of it
    response = Response(html, mimetype="text/html")
    response.headers["Cache-Control"] = PAGE_CACHE
    response.headers["Vary"] = "Cookie"  # the language is the lang cookie's
    return response


@bp.get("/")
def index() -> ResponseReturnValue:
    return _page(render_index(db(), Site()))


@bp.get("/bodies/<int:body_id>/")
def body(body_id: int) -> ResponseReturnValue:
    return _page(render_body(db(), body_id, Site(body_path(body_id))))


@bp.get("/votes/<int:vote_id>/")
def vote(vote_id: int) -> ResponseReturnValue:
    return _page(render_vote(db(), vote_id, Site(vote_path(vote_id))))


@bp.get("/votes/<int:vote_id>/<name>")
def vote_file(vote_id: int, name: str) -> ResponseReturnValue:
    if name not in file_names():
        abort(404)
    files = vote_files(db(), vote_id)
    if files is None or name not in files:
        abort(404)
    response = Response(files[name], mimetype="application/json")
    response.headers["Cache-Control"] = FILE_CACHE
    response.headers["Content-Disposition"] = f"attachment; filename=vote-{vote_id}-{name}"
    return response


# --- 督办事项: tracked items' public timelines ------------------------------------------


def _step(event: dict[str, Any], announced: set[int]) -> dict[str, Any]:
    """One public step of an item's timeline: when, what (the step and the state it led
    to), a note, a report's title, and the vote — linked only once announced."""
    text = [gettext(ITEM_STATE_LABELS.get(event["to"], event["to"]))]
    if event.get("period"):
        text.append(gettext(ITEM_PERIOD_LABELS.get(event["period"], event["period"])))
    if event.get("document"):
        text.append(event["document"]["title"])
    if event.get("note"):
        text.append(event["note"])
    vote = event.get("vote_id")
    return {
        "time": datetime.fromisoformat(event["at"]),
        "label": gettext(ITEM_ACTION_LABELS.get(event["action"], event["action"])),
        "text": " · ".join(text),
        "vote": vote if vote in announced else None,
        "log_index": event.get("log_index"),
    }


def render_items(session: Session, body_id: int, site: Site) -> str | None:
    """A body's tracked items by kind, each with its public timeline (proposal → selected
    → progress → evaluation; evaluation → rectification → re-evaluation) from
    ``supervision.public_timeline``: no staff names, a member of the public unnamed, and
    a vote linked only once announced. None: no such body."""
    found = public.body_results(session, body_id)
    if found is None:
        return None
    groups: dict[str, list[dict[str, Any]]] = {kind: [] for kind in ITEM_KIND_LABELS}
    for item in supervision.items(session, body_id):
        timeline = supervision.public_timeline(session, item["id"])
        announced = {v["id"] for v in timeline["votes"]}
        steps = [_step(e, announced) for e in timeline["events"]]
        groups.setdefault(item["kind"], []).append({**timeline, "timeline": steps})
    kinds = [(gettext(ITEM_KIND_LABELS.get(k, k)), found_items)
             for k, found_items in groups.items() if found_items]  # fmt: skip
    return _render(
        "public/items.html", site, body=found, kinds=kinds, state_labels=ITEM_STATE_LABELS
    )


@bp.get("/bodies/<int:body_id>/items/")
def items(body_id: int) -> ResponseReturnValue:
    return _page(render_items(db(), body_id, Site(body_path(body_id) + "items/")))
