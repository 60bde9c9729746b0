"""``voting-audit`` on malformed input: exit 1 or 2 and one line on stderr, never a traceback.

CONTRACTS.md §4: exit 1 when content fails (unparsable, wrong shape,
incomplete bundle), 2 for usage errors only. Whatever the files hold —
JSON of the wrong shape, huge integers, non-hex hashes, binary garbage,
nesting thousands deep, a bundle with a file missing or cut short — each
command ends with exactly one line on stderr saying what failed. The table
runs through click's runner (in process, fast); a few cases run the
installed console script; hypothesis feeds ``check-proof`` and
``check-receipt`` random JSON and bytes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit.cli import main
from audit.entry import entry_hash
from tests.support.bundles import kiosks_of, write_bundle
from tests.support.logs import sitting

VOTING_AUDIT = Path(sys.executable).with_name("voting-audit")
NET = "could not be checked"  # the CLI's last resort: a test reaching it found a missed cause
HASH = "00" * 32


def deep(n: int) -> bytes:
    return b"[" * n + b"]" * n


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """An honest bundle, a receipt that matches it, and a place for junk."""
    log, marks = sitting()
    root = tmp_path_factory.mktemp("junk")
    bundle = write_bundle(root / "good", log.lines, log.server.public_b64, kiosks_of(log))
    index = marks["first_ballot"] + 1  # the press that counts
    entry = json.loads(log.lines[index])
    receipt = {
        "vote": entry["data"]["vote"],
        "nonce": entry["data"]["nonce"],
        "entry": index,
        "entry_hash": entry_hash(log.lines[index]),
        "server_sig": entry["sig"],
        "press": entry["data"]["press"],
        "secret": False,
    }
    return {"root": root, "bundle": bundle, "receipt": receipt}


def invoke(*args: str | Path, stdin: bytes | None = None) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], input=stdin)


def assert_one_line(result: Result, code: int) -> str:
    """Exit ``code``, one line on stderr, and no exception escaped the command."""
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{type(result.exception).__name__}: {result.exception}"
    )
    assert result.exit_code == code, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("voting-audit: ")
    assert "Traceback" not in result.output and NET not in lines[0]
    return lines[0]


# --- documents: check-proof, check-receipt, check-sheet -----------------------------------

# Well-formed but false (in a tree of one leaf the root is the leaf's hash).
PROOF = {"index": 0, "size": 1, "leaf_hash": HASH, "proof": [], "root": "11" * 32}
DOCUMENTS: dict[str, bytes] = {
    "not JSON": b"not json",
    "binary": b"\xff\xfe\x00\x81\xc3\x28",
    "non-UTF-8 inside a string": b'{"index": "\xff"}',
    "empty": b"",
    "NUL bytes": b"\x00\x00",
    "a list": b"[]",
    "a string": b'"receipt"',
    "null": b"null",
    "nested 100000 deep": deep(100_000),
    "objects nested 5000 deep": b'{"a":' * 5000 + b"1" + b"}" * 5000,
    "an integer of 5000 digits": b'{"index": ' + b"9" * 5000 + b"}",
    "huge integers": json.dumps({**PROOF, "index": 10**30, "size": 2**64}).encode(),
    "strings where integers": json.dumps({**PROOF, "index": "0", "size": "1"}).encode(),
    "negative integers": json.dumps({**PROOF, "index": -1}).encode(),
    "booleans where integers": json.dumps({**PROOF, "index": True}).encode(),
    "non-hex hashes": json.dumps({**PROOF, "root": "zz" * 32}).encode(),
    "short hashes": json.dumps({**PROOF, "leaf_hash": "00"}).encode(),
    "numbers as hashes": json.dumps({**PROOF, "proof": [1, 2]}).encode(),
    "proof not a list": json.dumps({**PROOF, "proof": {"a": 1}}).encode(),
    "NaN and Infinity": b'{"index": NaN, "size": Infinity, "leaf_hash": "00", "proof": [], "root": "00"}',
    "UTF-16": json.dumps(PROOF).encode("utf-16"),
    "a sheet code with a list head": b'{"v": 1, "vote": 1, "result_entry": 1, "head": []}',
    "a sheet code with a huge head": json.dumps(
        {
            "v": 1,
            "vote": 1,
            "result_entry": 1,
            "result_hash": HASH,
            "head": {"size": 10**30, "root": HASH, "time": "t", "sig": "AAAA"},
        }
    ).encode(),
}


def receipt_variants(receipt: dict[str, Any]) -> dict[str, bytes]:
    changed: dict[str, Any] = {
        "entry as a string": {**receipt, "entry": str(receipt["entry"])},
        "entry huge": {**receipt, "entry": 10**30},
        "entry negative": {**receipt, "entry": -1},
        "entry a list": {**receipt, "entry": [receipt["entry"]]},
        "entry_hash a number": {**receipt, "entry_hash": 5},
        "server_sig an object": {**receipt, "server_sig": {"a": 1}},
        "secret a string": {**receipt, "secret": "yes"},
        "a key missing": {k: v for k, v in receipt.items() if k != "nonce"},
    }
    return {what: json.dumps(value).encode() for what, value in changed.items()}


@pytest.mark.parametrize("command", ["check-proof", "check-receipt", "check-sheet"])
@pytest.mark.parametrize("what", list(DOCUMENTS))
def test_a_malformed_document_fails_with_one_line(
    files: dict[str, Any], command: str, what: str
) -> None:
    path = files["root"] / f"{command}-{abs(hash(what))}.json"
    path.write_bytes(DOCUMENTS[what])
    args = [path] if command == "check-proof" else [files["bundle"], path]
    line = assert_one_line(invoke(command, *args), 1)
    assert "FAILED" in line


def test_a_malformed_receipt_fails_with_one_line(files: dict[str, Any]) -> None:
    good = files["root"] / "receipt.json"
    good.write_text(json.dumps(files["receipt"]))
    assert invoke("check-receipt", files["bundle"], good).exit_code == 0  # the table's baseline
    for what, content in receipt_variants(files["receipt"]).items():
        good.write_bytes(content)
        line = assert_one_line(invoke("check-receipt", files["bundle"], good), 1)
        assert "FAILED" in line, what


def test_check_proof_reads_junk_from_standard_input(files: dict[str, Any]) -> None:
    for content in (deep(50_000), b"\xff\xfe", b"[1, 2]"):
        assert_one_line(invoke("check-proof", "-", stdin=content), 1)


# --- bundles: verify (and check-receipt, check-sheet, which verify first) ------------------


def _drop(name: str) -> Callable[[Path], None]:
    return lambda bundle: (bundle / name).unlink()


def _write(name: str, content: bytes) -> Callable[[Path], None]:
    return lambda bundle: (bundle / name).write_bytes(content)


def _cut(name: str) -> Callable[[Path], None]:
    def cut(bundle: Path) -> None:
        data = (bundle / name).read_bytes()
        (bundle / name).write_bytes(data[: len(data) // 2])

    return cut


def _directory(name: str) -> Callable[[Path], None]:
    def replace(bundle: Path) -> None:
        (bundle / name).unlink(missing_ok=True)
        (bundle / name).mkdir()

    return replace


def _prepend(content: bytes) -> Callable[[Path], None]:
    def prepend(bundle: Path) -> None:
        log = bundle / "log.jsonl"
        log.write_bytes(content + b"\n" + log.read_bytes())

    return prepend


BUNDLES: dict[str, Callable[[Path], None]] = {
    "keys.json missing": _drop("keys.json"),
    "log.jsonl missing": _drop("log.jsonl"),
    "keys.json cut short": _cut("keys.json"),
    "log.jsonl cut short": _cut("log.jsonl"),
    "head.json cut short": _write("head.json", b'{"size": 3'),
    "keys.json a list": _write("keys.json", b"[1, 2]"),
    "keys.json binary": _write("keys.json", b"\xff\xfe\x00"),
    "keys.json nested deep": _write("keys.json", deep(100_000)),
    "keys.json wrong types": _write(
        "keys.json", b'{"server": {"algorithm": "Ed25519", "public_key": 5}, "kiosks": []}'
    ),
    "head.json a list": _write("head.json", b"[]"),
    "head.json nested deep": _write("head.json", deep(100_000)),
    "head.json huge size": _write("head.json", json.dumps({"size": 10**30, "root": HASH}).encode()),
    "head.json non-hex root": _write(
        "head.json", json.dumps({"size": 1, "root": "zz" * 32}).encode()
    ),
    "log.jsonl binary": _write("log.jsonl", b"\xff\xfe\x00\n\x81\n"),
    "log.jsonl a deep first line": _prepend(deep(100_000)),
    "log.jsonl a deep device line": _prepend(b'[{"type":"device_enrolled",' + deep(50_000) + b"}]"),
    "log.jsonl non-UTF-8 in a line": _prepend(b'{"i":0,"type":"log_started","data":"\xff"}'),
    "log.jsonl empty": _write("log.jsonl", b""),
    "log.jsonl a directory": _directory("log.jsonl"),
    "keys.json a directory": _directory("keys.json"),
}


@pytest.mark.parametrize("what", list(BUNDLES))
def test_a_broken_bundle_fails_every_command_with_one_line(
    files: dict[str, Any], tmp_path: Path, what: str
) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(files["bundle"], bundle)
    BUNDLES[what](bundle)
    receipt = tmp_path / "receipt.json"
    receipt.write_text(json.dumps(files["receipt"]))
    for args in (["verify", bundle], ["verify", bundle, "--json"],
                 ["check-receipt", bundle, receipt], ["check-sheet", bundle, receipt]):  # fmt: skip
        line = assert_one_line(invoke(*args), 1)
        assert "FAILED" in line, args


@pytest.mark.parametrize(
    "args",
    [
        ["verify"],
        ["verify", "{root}/nowhere"],
        ["verify", "{bundle}/log.jsonl"],
        ["verify", "{bundle}", "--head", "x"],
        ["verify", "{bundle}", "--head", "²:" + HASH],
        ["verify", "{bundle}", "--head", "١٢:" + HASH],
        ["verify", "{bundle}", "--head", "0:" + HASH],
        ["verify", "{bundle}", "--jobs", "0"],
        ["verify", "{bundle}", "--jobs", str(10**30)],
        ["prove", "{bundle}", "--entry", "²"],
        ["prove", "{bundle}", "--entry", str(10**30)],
        ["prove", "{bundle}", "--from", str(2**63)],
        ["prove", "{bundle}", "--entry", "1", "--size", str(10**30)],
        ["prove", "{root}"],
        ["prove", "{root}", "--entry", "0"],
        ["check-proof"],
        ["check-proof", "{root}/nowhere.json"],
        ["check-proof", "{root}"],
        ["check-receipt", "{bundle}", "{root}/nowhere.json"],
        ["check-receipt", "{bundle}", "{bundle}/log.jsonl", "--head", "x"],
        ["check-sheet", "{root}/nowhere", "{bundle}/log.jsonl"],
        ["no-such-command"],
    ],
    ids=lambda args: " ".join(args).replace("{", "").replace("}", ""),
)
def test_usage_errors_exit_2_with_one_line(files: dict[str, Any], args: list[str]) -> None:
    filled = [a.format(root=files["root"], bundle=files["bundle"]) for a in args]
    result = invoke(*filled)
    assert_one_line(result, 2)
    assert result.stdout == ""


# --- the installed console script ------------------------------------------------------


def test_the_console_script_prints_one_line_and_no_traceback(
    files: dict[str, Any], tmp_path: Path
) -> None:
    """The real entry point, with a file name that is not UTF-8 and a deep document."""
    name = os.fsdecode(bytes(tmp_path) + b"/\xff\xfe.json")
    Path(name).write_bytes(deep(100_000))
    bundle = tmp_path / "bundle"
    shutil.copytree(files["bundle"], bundle)
    (bundle / "keys.json").write_bytes(deep(100_000))
    for args, code in (
        (["check-proof", name], 1),
        (["check-receipt", str(files["bundle"]), name], 1),
        (["verify", str(bundle)], 1),
        (["verify", str(files["bundle"]), "--jobs", str(10**30)], 2),
    ):
        done = subprocess.run(
            [str(VOTING_AUDIT), *args], capture_output=True, timeout=120, check=False
        )
        stderr = done.stderr.decode("utf-8", "replace")
        assert done.returncode == code, (args, stderr)
        assert len(stderr.splitlines()) == 1 and "Traceback" not in stderr, (args, stderr)


# --- hypothesis: random JSON and bytes ----------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=70),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=6)
    ),
    max_leaves=20,
)


def proofs_and_junk(keys: tuple[str, ...]) -> st.SearchStrategy[bytes]:
    """Random JSON, random bytes, and objects with the right keys and random values."""
    shaped = st.fixed_dictionaries({key: JSON | st.integers() | st.just(HASH) for key in keys})
    return st.one_of(
        JSON.map(lambda v: json.dumps(v).encode()),
        shaped.map(lambda v: json.dumps(v).encode()),
        st.binary(max_size=300),
        st.integers(1, 20_000).map(deep),
    )


SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.slow
@SETTINGS
@given(
    content=st.one_of(
        proofs_and_junk(("index", "size", "leaf_hash", "proof", "root")),
        proofs_and_junk(("size1", "size2", "root1", "root2", "proof")),
    )
)
def test_check_proof_answers_any_bytes(files: dict[str, Any], content: bytes) -> None:
    path = files["root"] / "fuzzed-proof.json"
    path.write_bytes(content)
    result = invoke("check-proof", path)
    if result.exit_code != 0:  # a random document may, rarely, be a valid proof
        assert_one_line(result, 1)


@SETTINGS
@given(data=st.data())
def test_check_receipt_answers_any_bytes(files: dict[str, Any], data: st.DataObject) -> None:
    receipt = files["receipt"]
    content = data.draw(
        st.one_of(
            proofs_and_junk(tuple(receipt)),
            st.sampled_from(sorted(receipt)).flatmap(
                lambda key: (JSON | st.integers()).map(
                    lambda value: json.dumps({**receipt, key: value}).encode()
                )
            ),
        )
    )
    path = files["root"] / "fuzzed-receipt.json"
    path.write_bytes(content)
    result = invoke("check-receipt", files["bundle"], path)
    if result.exit_code != 0:  # a changed key may still match (e.g. secret: 0 for false)
        assert_one_line(result, 1)
