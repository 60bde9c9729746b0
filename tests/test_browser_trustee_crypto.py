"""The tablet's trustee-mode ballot in real Chromium (issue 20, item 7): a 12-candidate
selection ballot with limit 10 is encrypted and proven in ≤ 500 ms with the CPU slowed
4× (DevTools' ``Emulation.setCPUThrottlingRate``), under the joint key of a 3-trustee
ceremony run in the same page; and it verifies there.

The page loads the kiosk's own modules (``kiosk_client/static/js/trustees/*.mjs`` and
the vendored ``vendor/noble.mjs``) as ES modules from ``http://localhost/`` — a secure
context, so WebCrypto is there as on the hall's HTTPS — served by Playwright's request
routing from the repository's files: no server, no network. What is timed is
``encryptBallot`` alone; building the vote's context (H_V, and the joint key's wNAF
table, once per vote when the vote opens) is measured and printed beside it.
"""

from __future__ import annotations

import json
import mimetypes
import statistics
from pathlib import Path
from typing import Any

import pytest

import kiosk_client
from tests.support.browser import chromium

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

STATIC = Path(kiosk_client.__file__).resolve().parent / "static"
VECTORS = Path(__file__).resolve().parent / "vectors" / "trustees.json"
ORIGIN = "http://localhost"
BUDGET_MS = 500
RUNS = 5
THROTTLE = 4

PAGE = "<!doctype html><html lang='zh-CN'><meta charset='utf-8'><title>trustees</title></html>"

# Runs in the page: a 3-trustee (k = 2) ceremony's commitments give the joint key; then
# the vote's context; then RUNS ballots, each timed and verified.
MEASURE = """async ({ runs }) => {
  const t = await import("/js/trustees/index.mjs");
  const ceremony = { id: "sitting-browser", n: 3, k: 2 };
  const hC = t.ceremonyHash(ceremony.id, ceremony.n, ceremony.k);
  const points = [1, 2, 3].map((i) =>
    t.checkCommitments(hC, i, 2, t.commitToPolynomial(hC, i, t.newPolynomial(2))));
  const jointKey = t.jointKey(points);
  const ids = Array.from({ length: 12 }, (_, n) => `cand-${n + 1}`);
  const layout = [{ id: "candidates", options: ids, limit: 10 }];
  let start = performance.now();
  const ctx = t.voteContext({ ceremony, voteId: "vote-selection", layout, jointKey });
  const contextMs = performance.now() - start;
  const marks = t.marksFromChoice(layout, { candidates: ids.slice(0, 10) });
  const times = [];
  for (let run = 0; run < runs; run++) {
    const who = { memberId: `m${run}`, nonce: `nonce-${run}` };
    start = performance.now();
    const ballot = t.encryptBallot(ctx, { ...who, marks });
    times.push(performance.now() - start);
    t.verifyBallot(ctx, { ...who, ballot });
  }
  return { contextMs, times };
}"""


def _serve(route: Any) -> None:
    """The repository's kiosk static files at ``http://localhost/``; the blank page at /."""
    path = route.request.url.removeprefix(ORIGIN).split("?")[0]
    if path == "/":
        route.fulfill(status=200, content_type="text/html; charset=utf-8", body=PAGE)
        return
    file = (STATIC / path.lstrip("/")).resolve()
    if not file.is_relative_to(STATIC) or not file.is_file():
        route.fulfill(status=404, body="not found")
        return
    kind = "text/javascript" if file.suffix == ".mjs" else mimetypes.guess_type(file.name)[0]
    route.fulfill(status=200, content_type=kind or "application/octet-stream", body=file.read_bytes())


def _measure(browser: Any, throttle: int) -> tuple[float, list[float]]:
    page = browser.new_page()
    try:
        page.route(f"{ORIGIN}/**", _serve)
        page.goto(f"{ORIGIN}/")
        if throttle > 1:
            page.context.new_cdp_session(page).send(
                "Emulation.setCPUThrottlingRate", {"rate": throttle}
            )
        found = page.evaluate(MEASURE, {"runs": RUNS})
        return found["contextMs"], found["times"]
    finally:
        page.close()


def test_a_12_candidate_ballot_is_encrypted_and_proven_within_500_ms_at_4x_throttling() -> None:
    with chromium() as browser:
        plain_context, plain = _measure(browser, 1)
        context_ms, times = _measure(browser, THROTTLE)
    report = {
        "unthrottled": {"context_ms": round(plain_context, 1), "ballot_ms": [round(x, 1) for x in plain]},
        f"throttled_{THROTTLE}x": {"context_ms": round(context_ms, 1), "ballot_ms": [round(x, 1) for x in times]},
    }
    print(json.dumps(report))
    assert statistics.median(times) <= BUDGET_MS, report


def test_the_vector_files_ballot_verifies_in_the_browser_and_its_tampering_does_not() -> None:
    if not VECTORS.exists():
        pytest.skip("tests/vectors/trustees.json not there yet (written by the Python side)")
    vectors = json.loads(VECTORS.read_text("utf-8"))
    with chromium() as browser:
        page = browser.new_page()
        page.route(f"{ORIGIN}/**", _serve)
        page.goto(f"{ORIGIN}/")
        verdicts = page.evaluate(VERIFY_VECTORS, vectors)
    assert verdicts["valid"] and all(verdicts["valid"].values()), verdicts
    assert verdicts["tampered"] and not any(verdicts["tampered"].values()), verdicts


VERIFY_VECTORS = "async (vectors) => ({ valid: {}, tampered: {} })"
