"""The public results in a real browser (issue 18, item 4; docs/public.md): the bodies,
a body's announced votes, a named vote's roll call, a secret vote's totals, and the
proof checked by the page itself — 已核验, and 核验失败 with what differs once a line or
the signature is tampered with; nothing unannounced. Then the static export of
``voting-server publish``, opened from file:// and from a plain ``http.server``, checks
its proofs the same way. Real server (``voting-server run``), headless Chromium,
axe-core on every page; screenshots go to ``test-artifacts/public/``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import (
    ARTIFACTS,
    Shots,
    chromium,
    csp_violations,
    new_instance,
    running_server,
)
from tests.support.live import make_live_app
from tests.support.public import PRESSING, PublicHall, public_hall, public_items
from voting_server.cli.processes import free_port
from voting_server.demo.city import MEMBER_NAMES

pytestmark = pytest.mark.slow

TIMEOUT_MS = 20_000
HIDDEN = ("closed", "cancelled", "draft", "open")
DESK = ((1280, 800),)
PHONE = ((390, 844),)  # the public reads on phones too
BIN = Path(sys.executable).parent
# docs/screens/public-result.png is a copy of this one (docs/screens.md)
SCREENSHOT = ARTIFACTS / "public" / "public-result.png"
ITEMS_SCREENSHOT = ARTIFACTS / "public" / "public-items.png"  # docs/screens/public-items.png


def checked(page: Any) -> tuple[str, str]:
    """Wait for the page's own check to finish; (its state, what it says)."""
    page.wait_for_function(
        "() => document.getElementById('proof-status').dataset.state !== 'pending'",
        timeout=TIMEOUT_MS,
    )
    box = page.locator("#proof-status")
    return str(box.get_attribute("data-state")), box.inner_text()


def tampered(route: Any, old: str, new: str) -> None:
    """Serve the page with ``old`` replaced by ``new`` (as a hostile mirror would)."""
    response = route.fetch()
    body = response.text()
    assert old in body, old
    route.fulfill(response=response, body=body.replace(old, new))


@contextmanager
def http_server(folder: Path) -> Iterator[str]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
         "--directory", str(folder)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                with urllib.request.urlopen(base + "/index.html", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_public_results_in_chromium(tmp_path: Path) -> None:
    instance, url = new_instance(tmp_path)
    app = make_live_app(url, instance)
    hall: PublicHall = public_hall(app)
    items = public_items(app, hall)
    app.extensions["voting.engine"].dispose()
    named, secret = hall.votes["named"], hall.votes["secret"]
    shots = Shots(ARTIFACTS / "public")
    blocked: list[str] = []
    with running_server(instance, url, tmp_path) as (base, _), chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.set_default_timeout(TIMEOUT_MS)
        csp_violations(page, "public", blocked)

        # the bodies, then the body's announced votes — and nothing else
        page.goto(f"{base}/public/")
        shots.take(page, "index", DESK)
        page.get_by_role("link", name="示例市人民代表大会常务委员会").click()
        page.wait_for_url(f"**/public/bodies/{hall.body}/")
        links = page.locator("table.votes a").evaluate_all("(a) => a.map((x) => x.href)")
        announced = (named, secret, items.evaluation)
        assert sorted(links) == sorted(f"{base}/public/votes/{v}/" for v in announced)
        shots.take(page, "body", DESK)

        # a named vote: the sheet, the proof verified here, the roll call
        page.locator(f"a[href$='votes/{named}/']").click()
        assert checked(page) == ("verified", "已核验")
        checks = page.locator("#proof-checks li.ok").all_inner_texts()
        assert len(checks) == 5 and any("Ed25519" in c for c in checks)
        rows = page.locator("#roll-call tbody tr")
        assert rows.count() == 61
        first = rows.nth(0).inner_text()
        ballot = hall.ballots[named][1]
        assert MEMBER_NAMES[0] in first
        assert {"yes": "赞成", "no": "反对", "abstain": "弃权"}[
            next(iter(ballot.values()))
        ] in first
        shots.take(page, "named", DESK + PHONE)
        bottom = page.locator("section.proof").bounding_box()
        assert bottom is not None
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(
            path=str(SCREENSHOT), full_page=True,
            clip={"x": 0, "y": 0, "width": 1280, "height": bottom["y"] + bottom["height"] + 20},
        )  # fmt: skip

        # a secret vote: verified, totals only — no name on the page
        page.goto(f"{base}/public/votes/{secret}/")
        assert checked(page) == ("verified", "已核验")
        assert page.locator("#roll-call").count() == 0
        text = page.locator("body").inner_text()
        assert [n for n in MEMBER_NAMES if n in text] == []
        assert str(len(PRESSING)) in page.locator("table.turnout").inner_text()
        shots.take(page, "secret", DESK)

        # English on request
        page.goto(f"{base}/public/votes/{named}/?lang=en")
        assert checked(page) == ("verified", "Verified")

        # a tampered line, then a tampered signature: 核验失败, saying what differs
        page.goto(f"{base}/public/?lang=zh_CN")
        page.route(
            f"**/public/votes/{named}/",
            lambda route: tampered(route, '\\"cast\\":40', '\\"cast\\":41'),
        )
        page.goto(f"{base}/public/votes/{named}/")
        state, said = checked(page)
        assert state == "failed" and said.startswith("核验失败")
        assert "结果记录的原文与证明中的哈希不符" in said
        shots.take(page, "tampered", DESK)
        page.unroute(f"**/public/votes/{named}/")
        head_sig = json.loads(
            urllib.request.urlopen(f"{base}/public/votes/{named}/head.json").read()
        )["sig"]
        forged = ("B" if head_sig[0] != "B" else "C") + head_sig[1:]
        page.route(f"**/public/votes/{named}/", lambda route: tampered(route, head_sig, forged))
        page.goto(f"{base}/public/votes/{named}/")
        state, said = checked(page)
        assert state == "failed" and "服务器对日志头的签名无效" in said
        page.unroute(f"**/public/votes/{named}/")

        # 督办事项: each item's timeline; the announced evaluation linked and verified, the
        # draft ballot not; nobody from the public or the staff named
        page.goto(f"{base}/public/bodies/{hall.body}/")
        page.get_by_role("link", name="督办事项").click()
        page.wait_for_url(f"**/public/bodies/{hall.body}/items/")
        sections = page.locator("section.item")
        assert sections.count() == 3
        road = page.locator(f"#item-{items.project}")
        assert road.locator("ol.timeline li").count() == 3  # 提出, 初审通过, 列入票决
        assert "列入票决" in road.inner_text()
        text = page.locator("body").inner_text()
        assert items.public_name not in text
        assert [n for n in items.staff_names if n in text] == []
        assert page.locator(f"a[href$='votes/{items.draft_vote}/']").count() == 0
        shots.take(page, "items", DESK + PHONE)
        ITEMS_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ITEMS_SCREENSHOT), full_page=True)
        page.locator(f"#item-{items.topic} a[href$='votes/{items.evaluation}/']").last.click()
        assert checked(page) == ("verified", "已核验")

        # nothing unannounced: 404, and no link to it anywhere
        for name in HIDDEN:
            answer = page.goto(f"{base}/public/votes/{hall.votes[name]}/")
            assert answer is not None and answer.status == 404, name

        # the static export, opened from the disk and from a plain web server
        site = tmp_path / "site"
        done = subprocess.run(
            [str(BIN / "voting-server"), "publish", "--out", str(site), "--instance",
             str(instance), "--database-url", url],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        page.goto((site / "index.html").as_uri())
        page.locator("a", has_text="示例市人民代表大会常务委员会").click()
        page.locator(f"a[href$='votes/{named}/index.html']").click()
        assert checked(page) == ("verified", "已核验")
        shots.take(page, "static-file", DESK)
        page.goto((site / "bodies" / str(hall.body) / "items" / "index.html").as_uri())
        assert page.locator("section.item").count() == 3
        with http_server(site) as static_base:
            page.goto(f"{static_base}/votes/{secret}/index.html")
            assert checked(page) == ("verified", "已核验")
        vote_page = site / "votes" / str(named) / "index.html"
        html = vote_page.read_text(encoding="utf-8")
        vote_page.write_text(html.replace('\\"cast\\":40', '\\"cast\\":41', 1), encoding="utf-8")
        page.goto(vote_page.as_uri())
        state, said = checked(page)
        assert state == "failed" and "结果记录" in said

    assert blocked == []
    assert shots.violations == [], "\n".join(shots.violations)
