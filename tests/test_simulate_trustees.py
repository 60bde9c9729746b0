"""``voting-server simulate --secret --trustees N`` (CONTRACTS.md §6, issue 20): the
production server on a local port, 30 kiosks over real sockets, three scrutineers played
by trustee clients making the joint key, every vote of the three kinds encrypted on the
tablets and decrypted by the trustees; each result must equal the tally of the kiosks'
own choices, and the offline verifier must prove each vote's content."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.sim import lines_of, simulate, verify
from voting_server.cli.simulate_trustees import contents

pytestmark = pytest.mark.slow  # make check leaves it out (README)


def test_three_trustees_count_every_kind_and_the_verifier_proves_it(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    code, report, stderr = simulate(
        "--secret", "--trustees", "3", "--members", "30", "--seed", "20", "--out", str(out)
    )
    assert code == 0, stderr[-3000:]
    assert report["trustees"]["n"] == 3 and report["trustees"]["k"] == 2
    assert [v["kind"] for v in report["votes"]] == ["motion", "selection", "evaluation"]
    for vote in report["votes"]:
        assert vote["secret"] is True
        assert vote["result"] == vote["expected"] and vote["match"] is True
        assert vote["content"] == "proven"
        assert vote["result"]["cast"] > 0  # something was encrypted, counted, decrypted
    types = [json.loads(line)["type"] for line in lines_of(out)]
    assert types.count("trustee_key") == 1
    assert "ballots_released" not in types  # no ballot was ever opened alone
    code, verified = verify(out)  # the auditor's own run of the command
    assert code == 0 and verified["ok"], verified["errors"]
    proven = contents(verified)
    assert {v["vote"]: proven.get(v["vote"]) for v in report["votes"]} == {
        v["vote"]: "proven" for v in report["votes"]
    }


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("--trustees", "3"), "--trustees needs --secret"),
        (("--secret", "--trustees", "0"), "0 is not in the range"),
        (("--secret", "--trustees", "10"), "10 is not in the range"),
        (("--secret", "--trustees", "3", "--congress"), "--trustees does not take --congress"),
    ],
)
def test_bad_trustee_arguments_exit_2(flags: tuple[str, ...], message: str) -> None:
    code, report, stderr = simulate(*flags)
    assert (code, report) == (2, {}) and message in stderr
