"""One glossary (术语表, rules/glossary.py) behind the screens' strings and the staff
pages: the words a user reads are spelled once, in both languages, and named by the body
(全体代表 at a congress, 全体组成人员 at a standing committee)."""

from __future__ import annotations

import json
import re

from flask import Flask

from rules import glossary
from tests.support.live import LoggedIn
from voting_server.extensions import sessions
from voting_server.i18n import JS_STRINGS, JS_TERMS
from voting_server.models import Body, BodyKind, BodyLevel
from voting_server.services.transactions import write_transaction

# Script keys that still spell a glossary word themselves: they belong to screens being
# rewritten in parallel (issue 17); their scripts should ask for term.<key> instead.
LEFT_FOR_THEIR_SCREENS = {
    "console.secret",
    "console.named",
    "console.col.vote",
    "kiosk.attendee_heading",
}


def page_strings(html: str) -> dict[str, str]:
    found = re.search(r'<script type="application/json" id="i18n">(.*?)</script>', html, re.S)
    assert found, "the page carries no strings for its scripts"
    return dict(json.loads(found.group(1)))


def test_the_screens_words_are_the_glossarys_in_both_languages(live_app: Flask) -> None:
    client = live_app.test_client()
    zh = page_strings(client.get("/kiosk?lang=zh_CN").get_data(as_text=True))
    en = page_strings(client.get("/kiosk?lang=en").get_data(as_text=True))
    for key, word in JS_TERMS.items():
        assert zh[key] == glossary.term(word), key
        assert en[key] == glossary.term(word, locale="en"), key
    assert [zh[k] for k in ("fig.cast", "verdict.selected", "heading.selection")] == [
        "已按", "入选", "票决结果",
    ]  # fmt: skip
    assert en["fig.not_voted"] == en["term.not_voted"] == "Did not vote"
    # the minimum of votes is 不少于 N 票 (N 票以上 reads as "more than N" to some)
    assert "不少于 %(required)s 票" in zh["sel.summary"] and "以上" not in zh["sel.summary"]
    assert zh["term.at_least_votes"] % {"n": 31} == "不少于 31 票"


def test_no_script_string_spells_a_glossary_word_of_its_own() -> None:
    words = {t.zh for t in glossary.TERMS.values()}
    spelled = {k for k, msgid in JS_STRINGS.items() if k not in JS_TERMS and msgid in words}
    assert spelled <= LEFT_FOR_THEIR_SCREENS, sorted(spelled - LEFT_FOR_THEIR_SCREENS)


def _rule_labels(client: LoggedIn) -> tuple[str, str]:
    """The vote form's 表决人 (electorate) and threshold base 全体… options."""
    page = client.client.get("/admin/sittings/items/1/votes/new").get_data(as_text=True)
    electorate = re.search(r'<option value="body"[^>]*>([^<]*)</option>', page)
    base = re.search(r'<option value="members"[^>]*>([^<]*)</option>', page)
    assert electorate and base, "the vote form has no electorate or threshold base"
    return electorate.group(1), base.group(1)


def test_the_rule_label_names_all_members_by_the_body(
    live_app: Flask, secretariat: LoggedIn
) -> None:
    """The demo's body is a city standing committee: 全体组成人员; once it is a congress,
    全体代表 (it said 全体代表 for both)."""
    assert _rule_labels(secretariat) == ("全体组成人员", "全体组成人员（应到）")
    with live_app.app_context(), write_transaction(sessions()) as s:
        body = s.get(Body, 1)
        assert body is not None and body.kind is BodyKind.STANDING_COMMITTEE
        body.kind, body.level = BodyKind.CONGRESS, BodyLevel.TOWNSHIP
    assert _rule_labels(secretariat) == ("全体代表", "全体代表（应到）")
    secretariat.client.get("/login?lang=en")  # the language is remembered in a cookie
    assert _rule_labels(secretariat) == ("All deputies", "All deputies (Members)")
