"""The secrecy of a trustee-mode secret vote (issue 20, Deliver 6), checked the way an
adversary would try to break it (docs/secret-ballot.md, "Trustee mode").

Three designated scrutineers make the sitting's joint key (k = 2) with the Python
trustee client; the tablets (the Python kiosk client over real WebSockets) encrypt a
livelihood selection — every deputy's set of candidates distinct — and a motion; the
trustees decrypt at close. The server runs in this process — a pytest of its own, started
by the test, so that nothing the suite's other tests left is in it — with every logger at DEBUG;
the tablets and the trustees run in a process of their own
(tests/support/secrecy_clients.py), so a dump of this process's memory is the server's
(plus the console's sockets and the test's setup) and the deputies' choices reach this
process only after the last dump.

The attacker gets, during the vote (before close) and after it: a dump of this
process's Python objects, every row of every table, every file of the instance
directory, every log record, the exported bundle — and trustee 1's secret share and
polynomial (k − 1 = 1 trustee). It must not be able to:

(a) decrypt: no 32-byte window of any of it (raw, hex-decoded, base64-decoded; and
    every large Python int) is the joint secret x (g^w = K), any ballot's ξ (g^w = α),
    or, combined with the stolen share by Lagrange, the joint secret;
(b) link a deputy to a choice: no row, record, JSON object or object in memory names a
    deputy and holds a rendering of that deputy's ballot (tests/test_secrecy.py's
    search), except where a rendering is part of a published result;
(c) get a ballot's randomness from the tablet: what the Python client signs and keeps,
    and what the JavaScript ``encryptBallot`` returns, is the wire form only.

A positive control shows the search can succeed: given trustees 1 and 2's shares, the
same window search finds the joint secret.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import gc
import json
import logging
import re
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pysodium
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from flask import Flask

from crypto.trustees import decryption as tdecrypt
from crypto.trustees.group import ORDER, Element, Scalar, base
from rules.kinds import KeyPolicy, VoteKind
from tests.support.live import PASSWORD, serve
from tests.support.socket_hall import MEMBERS, WAIT, prepare_hall, staff_channels
from tests.test_secrecy import CLIENT_LOGGERS, Adversary, Unit, database_units, renderings
from tests.test_trustee_ceremony_api import Sitting
from voting_server.extensions import sessions, socketio
from voting_server.services import trustee_votes
from voting_server.services.export import export_bundle
from voting_server.services.transactions import write_transaction
from voting_server.sockets.identity import KIOSK, connected

# make check leaves it out (README); about 1.5 min a database on an idle machine, in a
# pytest of its own (the haystack's search is CPU-bound)
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

PRESENT = 46  # seats 1..46 sign in with their PIN and vote both votes
MAX_WINDOWS = 1_500_000  # candidate scalars per search: g^w costs ~50–80 µs each
ROOT = Path(__file__).resolve().parent.parent
HEX_RUN = re.compile(rb"[0-9a-fA-F]{64,}")
B64_RUN = re.compile(rb"[A-Za-z0-9+/_-]{43,}={0,2}")
TOP = 0x1F  # every x and x + ℓ below 2^253 ends in a byte ≤ 0x1f (little-endian)
LOW_BYTE = re.compile(b"[\\x00-%c]" % TOP)  # a byte ≤ TOP: where a window can end


# --- the devices' process ---------------------------------------------------------------


class Devices:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.support.secrecy_clients"], cwd=ROOT,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip

    def send(self, do: str, **fields: Any) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps({"do": do, **fields}) + "\n")
        self.process.stdin.flush()
        answer = json.loads(self.process.stdout.readline() or '{"ok": false, "error": "gone"}')
        assert answer["ok"], f"devices, {do}: {answer.get('error')}"
        return answer

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)


# --- what the attacker holds ------------------------------------------------------------


def memory_units(held: list[Unit] | None = None) -> list[Unit]:
    """This process's Python objects (gc.get_objects(): every container object), each
    as a unit: its repr (capped at 20,000 characters) and the str/bytes/int it refers to
    directly. Not included: objects the gc does not track and that no tracked object
    refers to; memory already freed; C-level buffers (libsodium's, SQLite's, OpenSSL's);
    the attacker's own haystack (``held`` and every Unit: the texts the server holds are
    found through the server's own objects — a Unit's copy would only be searched twice)."""
    # The test's own search patterns (compiled from the candidates and the choices, by the
    # adversary of an earlier parametrised run still in memory) are not the server's data:
    # they would be found as "ballots in clear". The server compiles no pattern from a ballot.
    re.purge()
    gc.collect()
    units = []
    for obj in gc.get_objects():
        if isinstance(obj, type | re.Pattern | Unit) or obj is units or obj is held:
            continue
        parts = []
        with contextlib.suppress(Exception):  # a repr that fails tells nothing
            parts.append(repr(obj)[:20_000])
        for ref in gc.get_referents(obj):
            if isinstance(ref, str):
                parts.append(ref)
            elif isinstance(ref, bytes | bytearray):
                parts.append(bytes(ref).decode("latin-1"))
            elif isinstance(ref, int) and ref.bit_length() > 128:
                parts.append(f"#int{ref}")
        units.append(Unit(f"object {type(obj).__name__}", "\n".join(parts)))
    return units


def windows(texts: Iterable[str]) -> tuple[set[bytes], int]:
    """Every 32-byte window that could be a scalar, reduced mod ℓ; and the haystack's size
    in bytes. A text is read as latin-1 bytes (what a str holding raw bytes would be) and
    as UTF-8; hex runs and base64 runs are decoded at every offset; ``#int`` markers are
    Python ints, taken as 32 little-endian bytes."""
    found: set[bytes] = set()
    size = 0
    for text in texts:
        for raw in {text.encode("utf-8", "replace"), text.encode("latin-1", "replace")}:
            size += len(raw)
            blobs = [raw]
            for run in HEX_RUN.findall(raw):
                blobs += [binascii.unhexlify(run[i : i + (len(run) - i) // 2 * 2]) for i in (0, 1)]
            for run in B64_RUN.findall(raw):
                for alt in (base64.b64decode, base64.urlsafe_b64decode):
                    with contextlib.suppress(binascii.Error, ValueError):
                        blobs.append(alt(run + b"=" * (-len(run) % 4)))
            for blob in blobs:  # a window ends at each byte ≤ TOP, 31 bytes or more in
                found.update(blob[m.start() - 31 : m.end()] for m in LOW_BYTE.finditer(blob, 31))
        for number in re.findall(r"#int(\d+)", text):
            value = int(number)
            if value < 2**256:
                found.add(value.to_bytes(32, "little"))
    return found, size


def hits(candidates: set[bytes], targets: dict[bytes, str]) -> list[str]:
    """What each candidate w with g^(w mod ℓ) in ``targets`` would give away."""
    out = []
    for window in candidates:
        w = (int.from_bytes(window, "little") % ORDER).to_bytes(32, "little")
        if w != bytes(32) and (t := pysodium.crypto_scalarmult_ristretto255_base(w)) in targets:
            out.append(targets[t])
    return out


def search(texts: list[str], targets: dict[bytes, str], what: str, tried: set[bytes]) -> None:
    """No window of ``texts`` gives a target away. ``tried``: the windows an earlier search
    of the same targets cleared (not raised to g^w again); this search's are added to it."""
    candidates, size = windows(texts)
    assert len(candidates) <= MAX_WINDOWS, f"{what}: {len(candidates)} windows, over the cap"
    found = hits(candidates - tried, targets)
    tried |= candidates
    assert not found, (f"{what}: the haystack ({size} bytes, {len(candidates)} candidate "
                       f"windows) gives away {sorted(set(found))}")  # fmt: skip


def targets_for(joint: Element, alphas: Iterable[str], stolen: Scalar) -> dict[bytes, str]:
    """g^w for each w the attacker wants: x (K), each ξ (α), and the share s_j of trustee
    j ∈ {2, 3} that would complete the stolen s_1: λ_1 s_1 + λ_j s_j = x, so
    g^(s_j) = (K / g^(λ_1 s_1))^(1/λ_j)."""
    targets = {joint.data: "the joint secret"}
    targets |= {bytes.fromhex(a): "a ballot's ξ" for a in alphas}
    for j in (2, 3):
        l1, lj = tdecrypt.lagrange(1, [1, j]), tdecrypt.lagrange(j, [1, j])
        rest = joint / base(l1 * stolen)
        targets[(rest ** lj.inverse()).data] = f"the share of trustee {j} (with trustee 1's)"
    return targets


def alphas_of(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "alpha" and isinstance(v, str):
                yield v
            yield from alphas_of(v)
    elif isinstance(value, list):
        for v in value:
            yield from alphas_of(v)


def wire_keys(value: Any, path: str = "") -> set[str]:
    """The key paths of a JSON value (list indices as ``[]``)."""
    out = set()
    if isinstance(value, dict):
        for k, v in value.items():
            out |= {f"{path}.{k}"} | wire_keys(v, f"{path}.{k}")
    elif isinstance(value, list):
        for v in value:
            out |= wire_keys(v, f"{path}[]")
    return out


WIRE = {".contests", ".contests[].selections", ".contests[].proof", ".contests[].proof.c",
        ".contests[].proof.v", ".contests[].selections[].alpha", ".contests[].selections[].beta",
        ".contests[].selections[].proof", ".contests[].selections[].proof.c",
        ".contests[].selections[].proof.v"}  # fmt: skip


def assert_wire_form(encrypted: Any, where: str) -> None:
    """Exactly the wire form's keys (``contests`` → ``selections`` → α, β and the proof's
    c and v; the contest's proof), and no 64-hex value v in it with g^v one of its α
    (which would be a ciphertext's ξ)."""
    assert wire_keys(encrypted) == WIRE, f"{where}: {sorted(wire_keys(encrypted) ^ WIRE)}"
    alphas = {bytes.fromhex(a) for a in alphas_of(encrypted)}
    for value in re.findall(r"[0-9a-f]{64}", json.dumps(encrypted)):
        w = bytes.fromhex(value)
        if w != bytes(32) and int.from_bytes(w, "little") < ORDER:
            assert pysodium.crypto_scalarmult_ristretto255_base(w) not in alphas, where


def instance_texts(instance: Path) -> list[Unit]:
    return [Unit(str(p), p.read_bytes().decode("latin-1"))
            for p in sorted(instance.rglob("*")) if p.is_file()]  # fmt: skip


# --- the sitting, in a pytest process of its own ----------------------------------------

ATTACK = "attack_with_the_server_and_one_trustee"  # collected only by the child's pytest


@pytest.mark.timeout(1300)
@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_an_attacker_with_the_server_and_one_trustee_cannot_open_or_link_a_ballot(
    database: str, tmp_path: Path
) -> None:
    """The attack below, run by a pytest of its own: "this process's memory" must be the
    server's, and under the whole suite the pytest process also holds what every test
    before it left — gigabytes late in a run, which made the search several times longer.
    Its outcome is read from its JUnit XML report: one test case, passed or skipped."""
    report = tmp_path / "attack.xml"
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
               "-o", f"python_functions={ATTACK}", f"--junitxml={report}",
               f"{Path(__file__).relative_to(ROOT)}::{ATTACK}[{database}]"]  # fmt: skip
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=1250)
    out = (run.stdout + run.stderr)[-8000:]
    assert report.exists(), f"the attack's pytest wrote no report: {out}"
    cases = list(ElementTree.parse(report).getroot().iter("testcase"))
    assert len(cases) == 1, f"the attack's pytest ran {len(cases)} tests: {out}"
    outcome = {child.tag for child in cases[0]}  # none when it passed
    assert run.returncode == 0 and not outcome & {"failure", "error"}, out
    if (skipped := cases[0].find("skipped")) is not None:  # no PostgreSQL, no REQUIRE_SERVICES
        pytest.skip(skipped.get("message", ""))


def attack_with_the_server_and_one_trustee(
    app_on_each_database: Flask, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    app = app_on_each_database
    for name in ["", *logging.root.manager.loggerDict]:  # every logger there is, at DEBUG
        if not name.startswith(CLIENT_LOGGERS):
            caplog.set_level(logging.DEBUG, logger=name)
    hall = prepare_hall(app, range(1, PRESENT + 1))
    selection, motion = hall.votes[VoteKind.SELECTION], hall.votes[VoteKind.MOTION]
    hall.configure(selection, secret=True, key_policy=KeyPolicy.LAST_PRESS)
    hall.configure(motion, secret=True)
    spec, motion_spec = hall.spec(selection), hall.spec(motion)
    with app.app_context(), write_transaction(sessions()) as s:
        for vote in (selection, motion):
            trustee_votes.set_trustee_mode(s, vote, True)
    sitting = Sitting(app)  # zhu presides; jp1..jp3 designated scrutineers
    adversary = Adversary(hall)
    engine: sa.Engine = app.extensions["voting.engine"]
    instance = Path(app.config["INSTANCE_DIR"])
    seats = list(range(1, PRESENT + 1))

    server = serve(app)
    devices = Devices()
    staff: dict[str, Any] = {}
    during: list[Unit] = []
    try:
        staff = staff_channels(app, server.url)
        presidium = staff["presidium"]
        pem = serialization.PrivateFormat.PKCS8
        deputies = [{"seat": d.seat, "device": d.kiosk.device_id, "pin": d.pin,
                     "key_pem": d.kiosk.key._private.private_bytes(  # type: ignore[attr-defined]
                         serialization.Encoding.PEM, pem, serialization.NoEncryption()).decode()}
                    for d in hall.deputies.values() if d.seat in seats]  # fmt: skip
        devices.send("start", url=server.url, password=PASSWORD, sitting=sitting.id,
                     trustees=["jp1", "jp2", "jp3"], deputies=deputies)  # fmt: skip
        sitting.start()
        key = devices.send("ceremony")["key"]
        assert (key["n"], key["k"]) == (3, 2)
        joint = Element.from_hex(key["joint_key"])
        for client in connected():  # the connection ids the server logs, by seat
            if client.role == KIOSK:
                member = hall.deputies[client.seat or 0].member_id
                eio_sid = socketio.server.manager.eio_sid_from_sid(client.sid, "/")
                adversary.identify(member, client.sid, eio_sid or "")
        devices.send("sign_in", seats=seats)
        devices.send("decrypt")

        assert presidium.call("open_vote", {"vote": selection})["ok"]
        cast = devices.send("vote", vote=selection, kind="selection", seed=None, seats=seats,
                            options=list(spec.candidates), seats_to_fill=spec.seats)  # fmt: skip
        assert cast["receipts"] == PRESENT and cast["secret"]
        # During the vote: everything the server has, before close.
        during = memory_units() + database_units(adversary, engine) + instance_texts(instance)
        during += [Unit(f"log {r.name}", f"{r.name} {r.getMessage()} {r.exc_text or ''}")
                   for r in caplog.records]  # fmt: skip

        answer = presidium.call("close_vote", {"vote": selection})
        assert answer["ok"], answer
        published = wait_for_result(hall, selection)
        assert presidium.call("open_vote", {"vote": motion})["ok"]
        devices.send("vote", vote=motion, kind="motion", seed=None, seats=seats, options=[],
                     subject=motion_spec.subjects[0])  # fmt: skip
        assert presidium.call("close_vote", {"vote": motion})["ok"]
        motion_published = wait_for_result(hall, motion)
        after = memory_units(held=during)  # the server's memory once both results are out
    finally:
        try:
            report = devices.send("report") if devices.process.poll() is None else {}
        finally:
            devices.stop()
            for channel in staff.values():
                channel.close()
            server.stop()

    # --- what is left, in the attacker's hands ----------------------------------------------
    bundle = tmp_path / "bundle"
    export_bundle(app.config["VOTING_DATABASE_URL"], bundle)
    after += database_units(adversary, engine) + instance_texts(instance)
    after += [Unit(f"bundle {p.name}", p.read_text(encoding="utf-8"))
              for p in sorted(bundle.iterdir())]  # fmt: skip
    after += [Unit(f"log {r.name}", f"{r.name} {r.getMessage()} {r.exc_text or ''}")
              for r in caplog.records if not r.name.startswith(CLIENT_LOGGERS)]  # fmt: skip
    assert any(r.name.startswith("engineio.server") for r in caplog.records)
    assert any(r.name.startswith("sqlalchemy.engine") for r in caplog.records)
    entries = [json.loads(line) for line in (bundle / "log.jsonl").read_text().splitlines()]
    types = [e["type"] for e in entries]
    assert types.count("trustee_key") == 1 and "ballots_released" not in types
    alphas = {a for e in entries for a in alphas_of(e["data"])}  # ballots and shares
    assert len(alphas) >= PRESENT * len(spec.candidates), "the logged ciphertexts were not found"

    # The stolen trustee: trustee 1's share and polynomial join the haystack.
    secrets = {int(i): v for i, v in report["trustees"].items()}
    stolen = Scalar.from_hex(secrets[1]["share"])
    loot = [Unit("trustee 1", json.dumps(secrets[1]))]
    targets = targets_for(joint, alphas, stolen)

    # (a) No window decrypts, during or after, with trustee 1's share.
    tried: set[bytes] = set()
    search([u.text for u in during + loot], targets, "during the vote", tried)
    search([u.text for u in after + loot], targets, "after the vote", tried)

    # Positive control: with trustees 1 and 2's shares the same search finds x.
    l1, l2 = tdecrypt.lagrange(1, [1, 2]), tdecrypt.lagrange(2, [1, 2])
    x = l1 * stolen + l2 * Scalar.from_hex(secrets[2]["share"])
    assert base(x) == joint
    control = [Unit("trustees 1 and 2", json.dumps([secrets[1], secrets[2]]))]
    candidates, _ = windows(u.text for u in control)
    assert "the share of trustee 2 (with trustee 1's)" in hits(candidates, targets)
    assert "the joint secret" in hits(windows([x.hex()])[0], targets)

    # (b) Nobody is linked to a choice.
    choices = {int(v): {int(s): c for s, c in by.items()} for v, by in report["choices"].items()}
    for vote_choices in choices.values():
        for seat, choice in vote_choices.items():
            adversary.ballot(hall.deputies[seat].member_id, choice)
    for seat, payload in report["sent"]:
        adversary.identify(hall.deputies[seat].member_id, payload["nonce"], payload["sig"])
    adversary.compile(public=[published, motion_published])
    assert len(adversary.choices) >= PRESENT  # every selection ballot is recognisable
    units = during + after
    assert len(units) > 10_000
    for unit in units:
        chosen = adversary.chosen(unit)
        if chosen:
            named = adversary.named(unit)
            shown = unit.text[:400]
            assert not (named & chosen), f"{unit.where} links {named & chosen} to choices: {shown}"
            assert not named, f"{unit.where} names {named} and holds choices: {shown}"
    selection_renderings = {r for b in choices[selection].values() for r in renderings(b)}
    selection_renderings -= {r for r in selection_renderings if r in json.dumps(published)}
    for unit in units:
        if adversary.option_pattern.search(unit.text):
            assert not any(r in unit.text for r in selection_renderings), (
                f"a selection ballot in clear: {unit.where}"
            )

    # (c) The tablet signs and keeps the wire form only.
    assert len(report["sent"]) == 2 * PRESENT
    for seat, payload in report["sent"] + [(0, p) for p in report["kept"]]:
        assert set(payload) == {"vote", "nonce", "encrypted", "sig"}, payload.keys()
        assert_wire_form(payload["encrypted"], f"seat {seat}'s ballot")
    assert_wire_form(js_encrypted_ballot(), "encryptBallot's return value")

    # The positive side: the results are the tallies of the choices made.
    from rules import tally

    assert published == tally(spec, MEMBERS, PRESENT, list(choices[selection].values()))
    assert motion_published == tally(motion_spec, MEMBERS, PRESENT, list(choices[motion].values()))
    hall.verify()


def wait_for_result(hall: Any, vote: int) -> dict[str, Any]:
    """The vote's result once k trustees have decrypted (bounded by WAIT × 2)."""
    import time

    deadline = time.monotonic() + 2 * WAIT
    while time.monotonic() < deadline:
        result = hall.vote_row(vote)["result"]
        if result:
            return dict(result)
        time.sleep(0.1)
    raise AssertionError(f"vote {vote}: no result from the trustees")


JS = r"""
import { G, elementToHex, randomScalar, scalarToHex } from "./kiosk_client/static/js/trustees/group.mjs";
import { encryptBallot, marksFromChoice, freshRandomness } from "./kiosk_client/static/js/trustees/ballot.mjs";
import { voteContext } from "./kiosk_client/static/js/trustees/vote.mjs";
const layout = [{ id: "candidates", options: ["c1", "c2", "c3", "c4", "c5"], limit: 3 }];
const K = elementToHex(G.multiply(randomScalar()));
const ctx = voteContext({ ceremony: { id: "c", n: 3, k: 2 }, voteId: "1", layout, jointKey: K });
const drawn = [];
// ξ and each real branch's u are secret; a simulated branch's c and v are published
const draw = (label) => {
  const s = freshRandomness(label);
  if (/^xi\/|(^|\/)u$/.test(label)) drawn.push(s);
  return s;
};
const ballot = encryptBallot(ctx, { memberId: "7", nonce: "n", marks: marksFromChoice(layout,
  { candidates: ["c4", "c2"] }) }, draw);
const text = JSON.stringify(ballot);
console.log(JSON.stringify({ ballot, drawn: drawn.length,
  leaked: drawn.filter((s) => text.includes(scalarToHex(s))).length }));
"""


def js_encrypted_ballot() -> Any:
    """What the tablet page's ``encryptBallot`` returns, run in node; asserts none of the
    randomness it drew (as little-endian hex) is in it."""
    out = subprocess.run(["node", "--input-type=module", "-e", JS], cwd=ROOT, check=True,
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    answer = json.loads(out.stdout)
    assert answer["drawn"] > 0 and answer["leaked"] == 0, answer
    return answer["ballot"]
