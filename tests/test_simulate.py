"""``voting-server simulate`` end to end (CONTRACTS.md §3), and its bundles under tampering.

Each simulation starts the production server (gunicorn, gevent) on a local
port and drives the demo sitting with 61 kiosks over real sockets; what a
scrutineer checks is that every published result equals the tally of the
kiosks' own choices, and that the exported bundle verifies offline — and
stops verifying, at the right entry, once anything in it is touched.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from audit.merkle import tree_root
from tests.support.bundles import TAMPERINGS
from tests.support.sim import lines_of, simulate, verify

pytestmark = pytest.mark.slow  # make check leaves it out (README)


def first_index(bundle: Path, entry_type: str) -> int:
    for i, line in enumerate(lines_of(bundle)):
        if json.loads(line)["type"] == entry_type:
            return i
    raise AssertionError(f"no {entry_type} entry in the bundle")


def copy_with(bundle: Path, lines: list[bytes], to: Path) -> Path:
    shutil.copytree(bundle, to)
    (to / "log.jsonl").write_bytes(b"".join(line + b"\n" for line in lines))
    return to


@pytest.mark.parametrize("which", ["named", "secret"])
def test_every_vote_of_the_sitting_matches_the_kiosks_choices(
    which: str, request: pytest.FixtureRequest
) -> None:
    report, bundle = request.getfixturevalue(which)
    assert report["members"] == 61
    assert [v["kind"] for v in report["votes"]] == ["motion", "selection", "evaluation"]
    for vote in report["votes"]:
        assert vote["match"] is True and vote["result"] == vote["expected"]
        assert vote["secret"] is (which == "secret")
        assert vote["result"]["present"] == 61  # every member signed in with the PIN
        assert vote["result"]["cast"] + vote["result"]["not_voted"] == 61
    assert report["ack_ms"]["max"] >= report["ack_ms"]["p99"] >= report["ack_ms"]["p50"] > 0
    assert report["bundle"] == str(bundle)


@pytest.mark.parametrize("which", ["named", "secret"])
def test_the_bundle_verifies_and_its_head_is_the_logs(
    which: str, request: pytest.FixtureRequest
) -> None:
    report, bundle = request.getfixturevalue(which)
    lines = lines_of(bundle)
    head = {"size": len(lines), "root": tree_root(lines).hex()}
    assert report["head"] == head
    code, verified = verify(bundle, "--head", f"{head['size']}:{head['root']}")
    assert code == 0, verified["errors"]
    assert verified["head"] == head


def test_a_named_bundle_records_who_voted_what_and_a_secret_one_does_not(named, secret) -> None:
    types_named = {json.loads(line)["type"] for line in lines_of(named[1])}
    types_secret = {json.loads(line)["type"] for line in lines_of(secret[1])}
    assert "ballot" in types_named and "participation" not in types_named
    assert "participation" in types_secret and "ballots_released" in types_secret
    assert "ballot" not in types_secret


@pytest.mark.parametrize("name", TAMPERINGS)
@pytest.mark.parametrize(("which", "target"), [("named", "ballot"), ("secret", "ballots_released")])
def test_tampering_with_a_simulated_bundle_fails_at_that_entry(
    which: str, target: str, name: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    _, bundle = request.getfixturevalue(which)
    change, offset = TAMPERINGS[name]
    k = first_index(bundle, target)
    code, report = verify(copy_with(bundle, change(lines_of(bundle), k), tmp_path / "b"))
    assert code == 1
    assert report["ok"] is False
    assert report["errors"][0]["index"] == k + offset, report["errors"]


def test_a_cut_tail_fails_against_the_published_head(named, tmp_path: Path) -> None:
    report, bundle = named
    lines = lines_of(bundle)
    cut = first_index(bundle, "result")  # the last vote's result and what follows, gone
    shortened = copy_with(bundle, lines[:cut], tmp_path / "b")
    (shortened / "head.json").unlink()  # a forger would drop the file that gives it away
    assert verify(shortened)[0] == 0  # a prefix of a log is a valid log on its own …
    head = f"{report['head']['size']}:{report['head']['root']}"
    code, verified = verify(shortened, "--head", head)  # … but not the published one
    assert code == 1
    assert verified["errors"][0]["index"] == cut


@pytest.mark.postgres
def test_a_simulated_sitting_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    code, report, stderr = simulate(
        "--members", "61", "--seed", "9", "--secret", "--database-url", postgres_url,
        "--out", str(tmp_path / "bundle"), "--burst", "1",
    )  # fmt: skip
    assert code == 0, stderr[-3000:]
    assert all(v["match"] for v in report["votes"]) and report["verified"]
    assert verify(tmp_path / "bundle")[0] == 0


def test_simulate_refuses_a_database_that_is_not_empty(named, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'used.sqlite3'}"
    assert simulate("--members", "3", "--seed", "1", "--database-url", url, "--burst", "0")[0] == 0
    code, report, stderr = simulate("--members", "3", "--database-url", url)
    assert code != 0 and report == {}
    assert "empty" in stderr
