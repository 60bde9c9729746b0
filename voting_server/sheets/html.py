"""The result sheet and the sitting's minutes as printable A4 HTML (Jinja templates/sheets/)."""

from __future__ import annotations

from collections.abc import Sequence

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from rules.glossary import term
from voting_server.sheets.model import MANUAL_NOTE, NO_CODE, ResultSheet, sheet_view

_env = Environment(
    loader=PackageLoader("voting_server", "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
# the glossary's words, always Chinese: a sheet is an official document
_env.globals.update(no_code=NO_CODE, manual_note=MANUAL_NOTE, term=term)


def render_html(sheet: ResultSheet, nonce: str = "") -> str:
    """The printable A4 result sheet of one vote. ``nonce``: the serving page's
    Content-Security-Policy nonce (views/security.py); none for a file on its own."""
    return _env.get_template("sheets/sheet.html").render(v=sheet_view(sheet), nonce=nonce)


def minutes_html(
    sheets: Sequence[ResultSheet], sitting_title: str, body_name: str, nonce: str = ""
) -> str:
    """The sitting's minutes: a list of every vote, then each result sheet on its own page."""
    return _env.get_template("sheets/minutes.html").render(
        views=[sheet_view(s) for s in sheets], sitting=sitting_title, body=body_name, nonce=nonce
    )


def render_section(sheet: ResultSheet) -> str:
    """The sheet alone (its ``<section class="sheet">``, no page around it), as the
    printed sheet shows it: for a page of its own (the public results, views/public.py)."""
    return _env.get_template("sheets/section.html").render(v=sheet_view(sheet))
