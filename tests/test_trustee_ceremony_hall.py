"""Key ceremonies through the service on the demo hall (tests/support/service_hall.py):
a ceremony failed by an upheld complaint, then one that makes the key, write every
``trustee_*`` entry type, and the hall's log verifies. ``tests.support.trustees.ceremonies``
is what tests/test_entry_types.py's sitting can call to write these types too."""

from __future__ import annotations

import json

from tests.support import paper, service_hall
from tests.support.service_hall import Hall
from tests.support.trustees import ceremonies

hall = service_hall.hall  # the fixture


def test_a_failed_then_a_completed_ceremony_write_every_trustee_entry(hall: Hall) -> None:
    u = paper.users(hall)  # jp1 and jp2 designated for the sitting
    state = ceremonies(hall, u["zhu"], [u["jp1"], u["jp2"]], paper.SITTING)
    assert state["phase"] == "done" and state["key"]["trustees"] == [u["jp1"].id, u["jp2"].id]
    written = {json.loads(line)["type"] for line in hall.lines()}
    assert {t for t in written if t.startswith("trustee_")} == {
        "trustee_ceremony_started", "trustee_commitments", "trustee_shares",
        "trustee_verdicts", "trustee_ceremony_failed", "trustee_key",
    }  # fmt: skip
    hall.verify()
