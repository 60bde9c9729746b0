"""The public results (全程公开, docs/public.md): no login, announced votes only, each
with its sheet, the roll call of a named vote (never anything per deputy of a secret
one), a signed head and inclusion proofs that ``voting-audit check-proof`` accepts.

Through Flask's test client and through a real socket server (werkzeug on a local
port). The sitting: tests/support/public.py — a vote in every state.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask

from audit.checkpoint import head_error
from audit.merkle import tree_root
from audit.verify import verify_log
from crypto import b64decode
from rules.glossary import term
from tests.support.live import make_live_app, serve
from tests.support.public import PRESSING, SILENT, PublicHall, public_hall, public_items
from voting_server.demo.city import MEMBER_NAMES
from voting_server.extensions import audit_log, sessions
from voting_server.models import Vote
from voting_server.services.audit_log import iter_lines
from voting_server.views.public import Site, file_names

VOTING_AUDIT = Path(sys.executable).with_name("voting-audit")
HIDDEN = ("closed", "cancelled", "draft", "open")  # every state but announced
SHOWN = ("named", "secret")


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, PublicHall]]:
    tmp = tmp_path_factory.mktemp("public")
    app = make_live_app(f"sqlite:///{tmp / 'voting.sqlite3'}", tmp / "instance")
    yield app, public_hall(app)


def get(app: Flask, path: str, **kwargs: Any) -> Any:
    return app.test_client().get(path, **kwargs)


def titles(app: Flask, vote_id: int) -> list[str]:

    with app.app_context(), sessions()() as s:
        vote = s.get(Vote, vote_id)
        assert vote is not None
        return [vote.title]


def lines(app: Flask, body: int) -> list[bytes]:
    with app.app_context(), sessions()() as s:
        return list(iter_lines(s, body))


# --- nothing before the announcement ---------------------------------------------------


@pytest.mark.parametrize("state", HIDDEN)
def test_a_vote_not_announced_is_absent_everywhere(
    hall: tuple[Flask, PublicHall], state: str
) -> None:
    app, h = hall
    vote = h.votes[state]
    assert get(app, f"/public/votes/{vote}/").status_code == 404
    for name in file_names():
        assert get(app, f"/public/votes/{vote}/{name}").status_code == 404
    index = get(app, "/public/").get_data(as_text=True)
    body = get(app, f"/public/bodies/{h.body}/").get_data(as_text=True)
    assert f"votes/{vote}/" not in body
    # its title appears nowhere (a re-run shares its title with the announced original:
    # what counts is that no link to this vote exists)
    if state == "closed":
        assert titles(app, vote)[0] not in index + body


def test_a_hidden_vote_answers_like_one_that_does_not_exist(hall: tuple[Flask, PublicHall]) -> None:
    app, h = hall
    missing = get(app, "/public/votes/999999/")
    closed = get(app, f"/public/votes/{h.votes['closed']}/")
    assert missing.status_code == closed.status_code == 404
    assert titles(app, h.votes["closed"])[0] not in closed.get_data(as_text=True)

    def normalize(answer: Any) -> str:  # the page's nonce and the numbers aside
        return re.sub(r'nonce="[^"]*"|\d+', "N", answer.get_data(as_text=True))

    assert normalize(missing) == normalize(closed)


@pytest.mark.parametrize("state", SHOWN)
def test_an_announced_vote_is_public_without_a_login(
    hall: tuple[Flask, PublicHall], state: str
) -> None:
    app, h = hall
    vote = h.votes[state]
    page = get(app, f"/public/votes/{vote}/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert titles(app, vote)[0] in html
    assert 'id="public-proof"' in html and "js/public_proof.js" in html
    assert f'href="../../votes/{vote}/"' in get(app, f"/public/bodies/{h.body}/").get_data(
        as_text=True
    )
    assert f'href="bodies/{h.body}/"' in get(app, "/public/").get_data(as_text=True)


def test_pages_are_get_only_with_the_csp_and_caching_headers(
    hall: tuple[Flask, PublicHall],
) -> None:
    app, h = hall
    page = get(app, f"/public/votes/{h.votes['named']}/")
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert page.headers["Cache-Control"].startswith("public, max-age=")
    assert "Cookie" in page.headers["Vary"]
    assert "Set-Cookie" not in page.headers  # no session: nobody is tracked
    # no inline script: only the JSON data blocks, and the proof script by src
    for tag in re.findall(r"<script\b[^>]*>", page.get_data(as_text=True)):
        assert "src=" in tag or 'type="application/json"' in tag, tag
    assert app.test_client().post(f"/public/votes/{h.votes['named']}/").status_code in {400, 405}


def test_the_body_page_lists_sittings_and_votes_newest_first(
    hall: tuple[Flask, PublicHall],
) -> None:
    app, h = hall
    html = get(app, f"/public/bodies/{h.body}/").get_data(as_text=True)
    # the secret vote was announced after the named one
    assert html.index(f"votes/{h.votes['secret']}/") < html.index(f"votes/{h.votes['named']}/")


def test_english_on_request(hall: tuple[Flask, PublicHall]) -> None:
    app, h = hall
    html = get(app, f"/public/votes/{h.votes['named']}/?lang=en").get_data(as_text=True)
    assert 'lang="en"' in html and "Roll call" in html and "Verification" in html
    assert "逐人表决情况" not in html


# --- the roll call ----------------------------------------------------------------------


def _rows(html: str) -> dict[int, str]:
    table = html[html.index('id="roll-call"') :]
    table = table[: table.index("</table>")]
    rows = {}
    for row in re.findall(r"<tr class=\"\w+\">(.*?)</tr>", table, flags=re.S):
        cells = [
            re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        ]
        rows[int(cells[0])] = " ".join(cells[1:])
    return rows


def test_a_named_vote_shows_how_each_deputy_voted(hall: tuple[Flask, PublicHall]) -> None:
    app, h = hall
    vote = h.votes["named"]
    rows = _rows(get(app, f"/public/votes/{vote}/").get_data(as_text=True))
    assert sorted(rows) == list(range(1, 62))  # every member, in seat order
    for seat in PRESSING:
        ballot = h.ballots[vote][seat]
        assert rows[seat].startswith(MEMBER_NAMES[seat - 1])
        marks = [term(f"mark.{m}") for m in ballot.values()]
        assert rows[seat].endswith(" ".join(marks)), (seat, rows[seat], marks)
    assert rows[SILENT].endswith(term("not_voted"))  # signed in, never pressed: 未按
    assert rows[61].endswith("未签到")


def test_a_secret_vote_shows_totals_only_never_anyone(hall: tuple[Flask, PublicHall]) -> None:
    app, h = hall
    html = get(app, f"/public/votes/{h.votes['secret']}/").get_data(as_text=True)
    assert 'id="roll-call"' not in html and 'id="secret-note"' in html
    # no deputy's name anywhere on the page: neither beside a mark nor as 已按
    assert [name for name in MEMBER_NAMES if name in html] == []
    # the totals are there (the sheet's figures)
    assert f'data-field="{term("cast")}">{len(PRESSING)}<' in html
    files = b"".join(
        get(app, f"/public/votes/{h.votes['secret']}/{n}").get_data() for n in file_names()
    )
    assert [n for n in MEMBER_NAMES if n.encode() in files] == []


# --- the evidence -------------------------------------------------------------------------


def test_a_signed_head_follows_every_announcement_and_the_log_verifies(
    hall: tuple[Flask, PublicHall],
) -> None:
    app, h = hall
    logged = [json.loads(line) for line in lines(app, h.body)]
    announced = [e["i"] for e in logged if e["type"] == "vote_announced"]
    assert len(announced) == 2
    for i in announced:
        assert logged[i + 1]["type"] == "checkpoint" and logged[i + 1]["data"]["size"] == i + 1
    with app.app_context():
        key = audit_log().key.public_bytes
    assert verify_log(lines(app, h.body), key).ok


@pytest.mark.parametrize("state", SHOWN)
def test_the_downloads_are_what_voting_audit_checks(
    hall: tuple[Flask, PublicHall], state: str, tmp_path: Path
) -> None:
    app, h = hall
    vote = h.votes[state]
    files = {n: get(app, f"/public/votes/{vote}/{n}").get_data() for n in file_names()}
    head = json.loads(files["head.json"])
    log = lines(app, h.body)
    assert head["root"] == tree_root(log[: head["size"]]).hex()
    server_key = json.loads(files["log_started.entry.json"])["data"]["server_key"]
    assert head_error(head, b64decode(server_key)) is None
    for name in ("log_started", "result", "vote_announced"):
        proof = json.loads(files[f"{name}.proof.json"])
        entry = files[f"{name}.entry.json"]
        assert entry == log[proof["index"]]  # the log's line, byte for byte
        assert proof["leaf_hash"] == hashlib.sha256(b"\x00" + entry).hexdigest()
        assert (proof["size"], proof["root"]) == (head["size"], head["root"])
        path = tmp_path / f"{name}.proof.json"
        path.write_bytes(files[f"{name}.proof.json"])
        done = subprocess.run(
            [str(VOTING_AUDIT), "check-proof", str(path)], capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        proof["proof"][0] = "0" * 64  # one sibling changed: the proof no longer reaches the root
        path.write_text(json.dumps(proof))
        done = subprocess.run(
            [str(VOTING_AUDIT), "check-proof", str(path)], capture_output=True, text=True
        )
        assert done.returncode == 1 and "FAILED" in done.stdout
    assert json.loads(files["result.entry.json"])["data"]["vote"] == vote


# --- links, and a real server -------------------------------------------------------------


@pytest.mark.parametrize(
    ("here", "static", "target", "href"),
    [
        ("", False, "votes/5/", "votes/5/"),
        ("votes/5/", False, "", "../../"),
        ("votes/5/", False, "bodies/1/", "../../bodies/1/"),
        ("", True, "", "index.html"),
        ("votes/5/", True, "bodies/1/", "../../bodies/1/index.html"),
        ("votes/5/", True, "static/css/public.css", "../../static/css/public.css"),
        ("", False, "", "./"),
    ],
)
def test_links_are_relative(here: str, static: bool, target: str, href: str) -> None:
    assert Site(here, static).href(target) == href


def test_the_pages_through_a_real_server(hall: tuple[Flask, PublicHall]) -> None:
    app, h = hall
    server = serve(app)
    try:
        base = server.url
        index = requests.get(f"{base}/public/", timeout=10)
        assert index.status_code == 200 and "Content-Security-Policy" in index.headers
        page = requests.get(f"{base}/public/votes/{h.votes['named']}/", timeout=10)
        assert page.status_code == 200
        # every link and asset the page names resolves on the server
        for ref in re.findall(r'(?:href|src)="(?!data:)([^"#?]+)"', page.text):
            answer = requests.get(requests.compat.urljoin(page.url, ref), timeout=10)
            assert answer.status_code == 200, ref
        for state in HIDDEN:
            assert (
                requests.get(f"{base}/public/votes/{h.votes[state]}/", timeout=10).status_code
                == 404
            )
        assert (
            requests.get(f"{base}/public/votes/{h.votes['named']}", timeout=10).status_code == 200
        )
    finally:
        server.stop()


def test_tracked_items_are_public_with_their_timelines(tmp_path: Path) -> None:
    """督办事项: every item with its steps; a member of the public is not named, a staff
    member never; a vote is linked from a step once announced, and not before."""
    app = make_live_app(f"sqlite:///{tmp_path / 'voting.sqlite3'}", tmp_path / "instance")
    h = public_hall(app)
    items = public_items(app, h)
    page = get(app, f"/public/bodies/{h.body}/items/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "农村公路提档升级" in text and "新建城南小学" in text and "县交通运输局" in text
    assert "县教育局" in text  # a department proposing is named
    assert items.public_name not in text  # a member of the public is not
    assert [n for n in items.staff_names if n in text] == []  # nor staff
    assert text.count("初审通过") >= 2 and "列入票决" in text and "已测评" in text
    assert f"votes/{items.draft_vote}/" not in text  # generated, not announced: no link
    assert f"votes/{items.evaluation}/" in text  # announced: linked to its public result
    assert get(app, f"/public/votes/{items.evaluation}/").status_code == 200
    assert f"bodies/{h.body}/items/" in get(app, f"/public/bodies/{h.body}/").get_data(as_text=True)
    assert get(app, "/public/bodies/999999/items/").status_code == 404
