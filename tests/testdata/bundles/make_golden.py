"""Writes the golden audit bundles beside this file, and ``expected.json``.

    .venv/bin/python -m tests.testdata.bundles.make_golden          # rewrite them here
    .venv/bin/python -m tests.testdata.bundles.make_golden OUT_DIR  # or somewhere else

Run it on request only — when the log format changes on purpose — and commit
the result; tests/test_golden_bundles.py checks that it still writes exactly
the committed bytes. One sitting of a standing committee (5 members, 4
present) is built with tests/support/logs.py, which seals entries with the
server's own function (``audit.entry``) and writes the checkpoints the server
writes: a named motion (one deputy changes their mind) countersigned by the
presidium and both designated scrutineers, a secret evaluation, and a secret
motion that fails at the tablets and is counted on paper (人工计票). A second,
trustee-mode sitting (trustee_sitting.py: a key ceremony, then a motion, a selection
and an evaluation whose ballots are encrypted and whose content the verifier proves)
gives ``trustees_good`` and its tampered copies.

Everything is reproducible: the keys derive from ``SEED``, the nonces from a
counter, the time is fixed, and the kiosks sign with deterministic ECDSA
(RFC 6979). Each tampered variant changes one thing; the verifier's first
error for it is recorded, and this script refuses to write a variant whose
first error is not at the entry it tampered with.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from audit.bundle import (
    HEAD_FILE,
    KEYS_FILE,
    KIOSK_ALGORITHM,
    LOG_FILE,
    SERVER_ALGORITHM,
    verify_bundle,
)
from audit.merkle import MerkleStream
from crypto import KioskKey, ServerKey
from rules import VoteKind, VoteSpec, tally
from rules.breakdown import by_delegation
from rules.paper import ballots_from_counts
from tests.support.logs import LogBuilder
from tests.testdata.bundles import trustee_sitting

TRUSTEES_GOOD = "trustees_good"
TRUSTEE_VARIANTS = trustee_sitting.VARIANTS

HERE = Path(__file__).resolve().parent
EXPECTED_FILE = "expected.json"
SEED = b"congress-voting golden bundles, issue 15"
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
MEMBERS = 5
PRESENT = (1, 2, 3, 4)
GROUPS = {1: "东城代表团", 2: "东城代表团", 3: "西城代表团", 4: "西城代表团", 5: "西城代表团"}

BUDGET = VoteSpec(kind=VoteKind.MOTION, subjects=("budget",))
EVALUATION = VoteSpec(kind=VoteKind.EVALUATION, subjects=("civil", "sports"))
PERSONNEL = VoteSpec(kind=VoteKind.MOTION, subjects=("personnel",))
NAMED = {1: {"budget": "yes"}, 2: {"budget": "yes"}, 3: {"budget": "no"}, 4: {"budget": "abstain"}}
EVALUATED = [
    {"civil": "satisfied", "sports": "basic"},
    {"civil": "basic"},
    {"civil": "unsatisfied", "sports": "satisfied"},
    {"sports": "satisfied"},
]
PAPER_COUNTS = {
    "cast": 4,
    "subjects": {"personnel": {"yes": 3, "no": 1, "abstain": 0, "invalid": 0}},
}


def _digest(label: str) -> bytes:
    return hashlib.sha256(SEED + b"/" + label.encode()).digest()


class _DeterministicKioskKey(KioskKey):
    """A kiosk key whose signatures are RFC 6979's: the same bytes on every run."""

    def sign(self, data: bytes) -> bytes:
        der = self._private.sign(data, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
        r, s = decode_dss_signature(der)
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def kiosk_key(label: str) -> KioskKey:
    scalar = int.from_bytes(_digest(label)) % (P256_ORDER - 1) + 1
    return _DeterministicKioskKey(ec.derive_private_key(scalar, ec.SECP256R1()))


def server_key(label: str) -> ServerKey:
    return ServerKey(Ed25519PrivateKey.from_private_bytes(_digest(label)))


@dataclass(frozen=True)
class Tamper:
    """How a variant differs from the honest sitting, and what it is for."""

    what: str  # one line for README readers and expected.json
    # While the sitting is built (the server seals what it is given: re-signed forgeries) …
    intruder_kiosk: bool = False  # seat 2's named ballot is signed by a key never enrolled
    intruder_server: bool = False  # the motion's result entry is sealed by another server key
    repeated_participation: bool = False  # seat 1's participation in the secret vote, twice
    wrong_result: bool = False  # the motion's result is not the tally of its ballots
    unknown_countersigner: bool = False  # account 42, never created, countersigns
    wrong_delegation: bool = False  # one delegation's count in the motion's breakdown altered
    attendee_ballot: bool = False  # a 列席 attendee's ballot accepted in a fourth vote
    # … or afterwards, on the written lines (someone holding the files).
    edit: Callable[[list[bytes], dict[str, int]], list[bytes]] | None = None
    mark: str = ""  # which entry of ``marks`` the first error must be at


def _change_mark(lines: list[bytes], marks: dict[str, int]) -> list[bytes]:
    i = marks["seat2_ballot"]
    changed = lines[i].replace(b'"ballot":{"budget":"yes"}', b'"ballot":{"budget":"no"}')
    assert changed != lines[i]
    return [*lines[:i], changed, *lines[i + 1 :]]


def _reorder(lines: list[bytes], marks: dict[str, int]) -> list[bytes]:
    i = marks["seat2_ballot"]
    return [*lines[:i], lines[i + 1], lines[i], *lines[i + 2 :]]


def _truncate(lines: list[bytes], marks: dict[str, int]) -> list[bytes]:
    return lines[: marks["truncated_size"]]


VARIANTS: dict[str, Tamper] = {
    "changed_mark": Tamper(
        "seat 2's named ballot says no instead of yes; nothing re-signed",
        edit=_change_mark,
        mark="seat2_ballot",
    ),
    "ballot_resigned_by_another_kiosk": Tamper(
        "seat 2's named ballot is signed by a tablet key that was never enrolled, "
        "and the server sealed it",
        intruder_kiosk=True,
        mark="seat2_ballot",
    ),
    "entry_resigned_by_another_server": Tamper(
        "the named motion's result entry is sealed by a server key other than the log's",
        intruder_server=True,
        mark="motion_result",
    ),
    "reordered": Tamper(
        "two ballot entries of the named motion swapped", edit=_reorder, mark="seat2_ballot"
    ),
    "truncated": Tamper(
        "the log without its last entries; head.json still names the whole log",
        edit=_truncate,
        mark="truncated_size",
    ),
    "duplicated_participation": Tamper(
        "seat 1 takes part twice in the secret evaluation (the same signed participation "
        "logged again, sealed by the server)",
        repeated_participation=True,
        mark="repeated_participation",
    ),
    "result_not_the_tally": Tamper(
        "the named motion's result counts one more yes than its ballots, sealed by the server",
        wrong_result=True,
        mark="motion_result",
    ),
    "delegation_count_altered": Tamper(
        "the named motion's breakdown by delegation counts one more yes for 西城代表团 "
        "than its deputies' ballots (the result itself is right), sealed by the server",
        wrong_delegation=True,
        mark="motion_result",
    ),
    "ballot_by_attendee": Tamper(
        "after the sitting, seat 5 becomes a 列席 attendee (roster), signs in, and its "
        "signed ballot in a fourth, named vote is logged, sealed by the server",
        attendee_ballot=True,
        mark="attendee_ballot",
    ),
    "countersigned_by_unknown_account": Tamper(
        "the named motion's result is countersigned by account 42, which the log never created",
        unknown_countersigner=True,
        mark="unknown_countersignature",
    ),
}


def sitting(tamper: Tamper | None = None) -> tuple[LogBuilder, dict[str, int]]:
    """The whole sitting; ``marks`` names the entries the variants tamper with."""
    t = tamper or Tamper("")
    nonces = iter(range(1, 1_000))
    log = LogBuilder(
        members=MEMBERS,
        server=server_key("server"),
        kiosk_key=lambda seat: kiosk_key(f"kiosk {seat}"),
        nonce=lambda: _digest(f"nonce {next(nonces)}")[:16].hex(),
        groups=GROUPS,
    )
    marks: dict[str, int] = {}
    log.duties()  # 1 presidium, 2 secretariat, 7 and 8 designated scrutineers, 9 not designated
    log.sign_in(*PRESENT)

    # Vote 1: a named motion; seat 1 first presses no, then yes (the last press counts).
    log.configure(1, BUDGET, secret=False)
    log.open(1, BUDGET, present=len(PRESENT))
    log.press(1, 1, {"budget": "no"}, secret=False)
    log.press(1, 1, NAMED[1], secret=False, press=2)
    genuine = log.kiosks[2]
    if t.intruder_kiosk:
        log.kiosks[2] = kiosk_key("intruder kiosk")
    log.press(1, 2, NAMED[2], secret=False)
    log.kiosks[2] = genuine
    marks["seat2_ballot"] = len(log.lines) - 1
    for seat in (3, 4):
        log.press(1, seat, NAMED[seat], secret=False)
    counted = list(NAMED.values())
    log.append("vote_closed", {
        "vote": 1, "members": MEMBERS, "present": len(PRESENT), "cast": len(counted),
        "reason": "presidium", "by": 1,
    })  # fmt: skip
    result = tally(BUDGET, MEMBERS, len(PRESENT), counted)
    if t.wrong_result:
        result = json.loads(json.dumps(result))
        result["subjects"]["budget"]["yes"] += 1
    genuine_server = log.server
    if t.intruder_server:
        log.server = server_key("intruder server")
    # 分团: the named motion's counts per delegation, published beside the result
    breakdown = by_delegation(BUDGET, sorted(GROUPS.items()), PRESENT, NAMED)
    assert breakdown is not None
    if t.wrong_delegation:
        breakdown[1]["subjects"]["budget"]["yes"] += 1
    marks["motion_result"] = log.append(
        "result", {"vote": 1, "result": result, "by_delegation": breakdown}
    )
    log.server = genuine_server
    for by, role in ((1, "presidium"), (7, "scrutineer"), (8, "scrutineer")):
        if t.unknown_countersigner and by == 8:
            by = 42
        marks[f"countersigned_by_{by}"] = log.append(
            "countersigned",
            {"vote": 1, "subject": "result", "by": by, "role": role, "name": f"签署人{by}"},
        )
    if t.unknown_countersigner:
        marks["unknown_countersignature"] = marks["countersigned_by_42"]

    # Vote 2: a secret evaluation; the log holds who took part, the ballots come shuffled.
    log.configure(2, EVALUATION, secret=True)
    log.open(2, EVALUATION, present=len(PRESENT))
    for seat in PRESENT:
        log.press(2, seat, None, secret=True)
        if seat == 1 and t.repeated_participation:
            line = json.loads(log.lines[-1])
            marks["repeated_participation"] = log.append(line["type"], line["data"])
    log.close(2, EVALUATION, len(PRESENT), EVALUATED, secret=True)

    # Vote 3: a secret motion the tablets cannot finish; counted on paper (人工计票).
    marks["truncated_size"] = len(log.lines)
    log.configure(3, PERSONNEL, secret=True)
    log.open(3, PERSONNEL, present=len(PRESENT))
    log.press(3, 1, None, secret=True)
    log.append("vote_cancelled", {"vote": 3, "reason": "系统故障，改用纸质表决", "by": 1})
    paper = ballots_from_counts(PERSONNEL, PAPER_COUNTS)
    log.append("paper_count_entered", {
        "vote": 3, "members": MEMBERS, "present": len(PRESENT), "attendance": len(PRESENT),
        "present_reason": None, "mode": "counts", "counts": PAPER_COUNTS, "ballots": paper,
        "by": 2,
    })  # fmt: skip
    for by in (7, 8):
        log.append(
            "countersigned",
            {"vote": 3, "subject": "paper_count", "by": by, "role": "scrutineer",
             "name": f"监票人{by}"},
        )  # fmt: skip
    log.append("manual_result", {
        "vote": 3, "members": MEMBERS, "present": len(PRESENT),
        "result": tally(PERSONNEL, MEMBERS, len(PRESENT), paper),
    })  # fmt: skip

    if t.attendee_ballot:  # the roster makes seat 5 列席: 应到 4, and no ballot of seat 5
        roster = [
            {
                "id": m,
                "seat": m,
                "name": f"代表{m}",
                "role": "attendee" if m == 5 else "deputy",
                "presidium": "none",
                "group": None,
            }
            for m in range(1, MEMBERS + 1)
        ]
        log.append("roster", {
            "body": {"id": 1, "name": "测试", "kind": "standing_committee", "level": "city"},
            "member_count": MEMBERS - 1, "members": roster,
        })  # fmt: skip
        log.sign_in(5)
        log.configure(4, BUDGET, secret=False)
        log.append("vote_opened", {
            "vote": 4, "members": MEMBERS - 1, "present": len(PRESENT),
            "quorum_required": BUDGET.quorum.required(MEMBERS - 1), "closes_at": None, "by": 1,
        })  # fmt: skip
        log.press(4, 5, NAMED[1], secret=False)
        marks["attendee_ballot"] = log.last("ballot")
    return log, marks


def _json_text(obj: Any) -> str:
    """As ``voting-audit export`` writes its JSON files."""
    return json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def write_bundle(directory: Path, log: LogBuilder, lines: list[bytes], head: dict) -> None:
    directory.mkdir(parents=True)
    (directory / LOG_FILE).write_bytes(b"".join(line + b"\n" for line in lines))
    kiosks = {
        f"d{seat}": {
            "seat": seat,
            "algorithm": KIOSK_ALGORITHM,
            "public_key": key.public.spki_b64,
            "revoked": False,
        }
        for seat, key in sorted(log.kiosks.items())
    }
    keys = {"server": {"algorithm": SERVER_ALGORITHM, "public_key": log.server.public_b64},
            "kiosks": kiosks}  # fmt: skip
    (directory / KEYS_FILE).write_text(_json_text(keys), encoding="utf-8")
    (directory / HEAD_FILE).write_text(_json_text(head), encoding="utf-8")


def head_of(lines: list[bytes]) -> dict[str, Any]:
    stream = MerkleStream()
    for line in lines:
        stream.add(line)
    return stream.head()


def make(out: Path) -> dict[str, Any]:
    """Write ``good/``, every variant and ``expected.json`` into ``out``; return the latter."""
    expected: dict[str, Any] = {}
    log, _ = sitting()
    write_bundle(out / "good", log, log.lines, head_of(log.lines))
    report = verify_bundle(out / "good", jobs=1)
    assert report.ok, report.errors
    expected["good"] = {"ok": True, "entries": report.entries, "head": report.head}
    for name, tamper in VARIANTS.items():
        log, marks = sitting(tamper)
        lines = log.lines if tamper.edit is None else tamper.edit(log.lines, marks)
        # head.json is the honest log's: what the server published before the tampering.
        write_bundle(out / name, log, lines, head_of(log.lines))
        report = verify_bundle(out / name, jobs=1)
        assert not report.ok, name
        error = report.errors[0]
        assert error["index"] == marks[tamper.mark], (name, error, marks[tamper.mark])
        expected[name] = {
            "ok": False,
            "tampered": tamper.what,
            "index": error["index"],
            "reason": error["reason"],
        }
    expected.update(_make_trustees(out))
    (out / EXPECTED_FILE).write_text(_json_text(expected), encoding="utf-8")
    return expected


def trustees_sitting(
    tamper: trustee_sitting.Tamper | None = None,
) -> tuple[LogBuilder, dict[str, int]]:
    """The trustee-mode sitting (trustee_sitting.py) with this file's keys."""
    return trustee_sitting.sitting(
        server_key("trustees server"),
        lambda seat: kiosk_key(f"trustees kiosk {seat}"),
        SEED + b" trustees",
        tamper,
    )


def _make_trustees(out: Path) -> dict[str, Any]:
    """``trustees_good/`` (every secret vote's content proven) and its tampered copies,
    each sealed by the server: the first error must be at the tampered entry."""
    expected: dict[str, Any] = {}
    log, _ = trustees_sitting()
    write_bundle(out / TRUSTEES_GOOD, log, log.lines, head_of(log.lines))
    report = verify_bundle(out / TRUSTEES_GOOD, jobs=1)
    assert report.ok, report.errors
    assert all(v["content"] == "proven" for v in report.votes), report.votes
    expected[TRUSTEES_GOOD] = {"ok": True, "entries": report.entries, "head": report.head}
    for name, tamper in TRUSTEE_VARIANTS.items():
        log, marks = trustees_sitting(tamper)
        write_bundle(out / name, log, log.lines, head_of(log.lines))
        report = verify_bundle(out / name, jobs=1)
        assert not report.ok, name
        error = report.errors[0]
        assert error["index"] == marks[tamper.target], (name, error, marks[tamper.target])
        expected[name] = {
            "ok": False,
            "tampered": tamper.what,
            "index": error["index"],
            "reason": error["reason"],
        }
    return expected


def main(argv: list[str]) -> None:
    out = Path(argv[0]) if argv else HERE
    names = ("good", *VARIANTS, TRUSTEES_GOOD, *TRUSTEE_VARIANTS)
    for name in names:
        shutil.rmtree(out / name, ignore_errors=True)
    make(out)
    print(f"wrote {len(names)} bundles and {EXPECTED_FILE} to {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
