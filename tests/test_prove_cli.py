"""``voting-audit prove`` and ``voting-audit check-proof`` as an auditor runs them.

Each check runs the tool in a subprocess: the JSON printed and the exit
code are the interface (CONTRACTS.md §4). ``prove`` needs only the
bundle's ``log.jsonl``, so the bundle here is a directory with a log of
arbitrary lines; proofs are checked against roots computed independently
with ``audit.merkle``, then tampered with the way someone handing them on
could.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from audit.bundle import read_lines
from audit.merkle import leaf_hash, tree_root
from audit.proofs import verify_consistency, verify_inclusion
from tests.support.services import REPO

SIZE = 13
LINES = [b'{"i":%d,"type":"entry","data":{"n":"%s"}}' % (i, b"x" * i) for i in range(SIZE)]


def run(*args: str | Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from audit.cli import main; main()", *map(str, args)],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=120,
        cwd=REPO,
    )


def prove(*args: str | Path) -> dict[str, Any]:
    done = run("prove", *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def check(tmp_path: Path, document: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "proof.json"
    path.write_text(json.dumps(document))
    return run("check-proof", path)


def check_all(tmp_path: Path, documents: dict[str, dict[str, Any]]) -> dict[str, tuple[int, str]]:
    """``check-proof`` on each document, all at once: what → (exit code, stdout)."""
    running = {}
    for number, (what, document) in enumerate(documents.items()):
        path = tmp_path / f"proof-{number}.json"
        path.write_text(json.dumps(document))
        running[what] = subprocess.Popen(
            [sys.executable, "-c", "from audit.cli import main; main()", "check-proof", str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=REPO,
        )
    outputs = {what: process.communicate(timeout=120)[0] for what, process in running.items()}
    return {what: (process.returncode, outputs[what]) for what, process in running.items()}


def root(size: int) -> str:
    return tree_root(LINES[:size]).hex()


def flip_bit(hex_hash: str, bit: int = 0) -> str:
    raw = bytearray(bytes.fromhex(hex_hash))
    raw[bit // 8] ^= 1 << (bit % 8)
    return raw.hex()


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("bundle")
    (directory / "log.jsonl").write_bytes(b"".join(line + b"\n" for line in LINES))
    return directory


@pytest.fixture(scope="module")
def inclusion(bundle: Path) -> dict[str, Any]:
    return prove(bundle, "--entry", "5")


@pytest.fixture(scope="module")
def consistency(bundle: Path) -> dict[str, Any]:
    return prove(bundle, "--from", "6")


# --- proofs that hold -------------------------------------------------------------------


@pytest.mark.slow
def test_inclusion_proof_of_an_entry(inclusion: dict[str, Any], tmp_path: Path) -> None:
    assert list(inclusion) == ["index", "size", "leaf_hash", "proof", "root"]
    assert inclusion["index"] == 5 and inclusion["size"] == SIZE
    assert inclusion["leaf_hash"] == leaf_hash(LINES[5]).hex()
    assert inclusion["root"] == root(SIZE)
    assert len(inclusion["proof"]) == 4
    verify_inclusion(
        bytes.fromhex(inclusion["leaf_hash"]),
        5,
        SIZE,
        [bytes.fromhex(hash_) for hash_ in inclusion["proof"]],
        bytes.fromhex(inclusion["root"]),
    )
    done = check(tmp_path, inclusion)
    assert done.returncode == 0, done.stdout
    assert done.stdout.startswith(f"OK: entry 5 is in the log of head {SIZE}:{root(SIZE)}")


@pytest.mark.slow
@pytest.mark.parametrize(("index", "size"), [(0, None), (12, None), (7, 8), (0, 1), (4, 5)])
def test_inclusion_proofs_in_smaller_trees(
    bundle: Path, tmp_path: Path, index: int, size: int | None
) -> None:
    extra = () if size is None else ("--size", str(size))
    document = prove(bundle, "--entry", str(index), *extra)
    assert document["size"] == (size or SIZE)
    assert document["root"] == root(size or SIZE)
    assert check(tmp_path, document).returncode == 0


def test_consistency_proof(consistency: dict[str, Any], tmp_path: Path) -> None:
    assert list(consistency) == ["size1", "size2", "root1", "root2", "proof"]
    assert (consistency["size1"], consistency["size2"]) == (6, SIZE)
    assert (consistency["root1"], consistency["root2"]) == (root(6), root(SIZE))
    verify_consistency(
        6,
        SIZE,
        [bytes.fromhex(hash_) for hash_ in consistency["proof"]],
        bytes.fromhex(consistency["root1"]),
        bytes.fromhex(consistency["root2"]),
    )
    done = check(tmp_path, consistency)
    assert done.returncode == 0, done.stdout
    assert done.stdout.startswith(f"OK: the log of head 6:{root(6)} is a prefix of head {SIZE}:")


@pytest.mark.slow
@pytest.mark.parametrize(("size1", "size"), [(1, None), (4, 8), (13, None), (3, 3)])
def test_consistency_proofs_between_other_sizes(
    bundle: Path, tmp_path: Path, size1: int, size: int | None
) -> None:
    extra = () if size is None else ("--size", str(size))
    document = prove(bundle, "--from", str(size1), *extra)
    assert (document["root1"], document["root2"]) == (root(size1), root(size or SIZE))
    if size1 == (size or SIZE):
        assert document["proof"] == []
    assert check(tmp_path, document).returncode == 0


def test_check_proof_reads_standard_input(bundle: Path) -> None:
    done = run("check-proof", "-", stdin=run("prove", bundle, "--from", "2").stdout)
    assert done.returncode == 0, done.stdout


def test_leaves_are_the_lines_verify_reads(tmp_path: Path) -> None:
    """Split on \\n only: a \\r stays in its line; the last newline may be missing."""
    (tmp_path / "log.jsonl").write_bytes(b"first\r\nsecond\n\nlast")
    lines = read_lines(tmp_path / "log.jsonl")
    assert lines == [b"first\r", b"second", b"", b"last"]
    document = prove(tmp_path, "--entry", "0")
    assert document["leaf_hash"] == leaf_hash(b"first\r").hex()
    assert document["root"] == tree_root(lines).hex()


# --- tampered proofs: exit 1 ------------------------------------------------------------


def tampered_inclusions(good: dict[str, Any], other: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The proof of entry 5 changed in each way; ``other`` is entry 6's proof."""
    proof = good["proof"]
    return {
        "flipped bit in proof[0]": {**good, "proof": [flip_bit(proof[0]), *proof[1:]]},
        "flipped bit in proof[-1]": {**good, "proof": [*proof[:-1], flip_bit(proof[-1], 255)]},
        "size doubled": {**good, "size": 2 * SIZE},
        "smaller size with its own root": {**good, "size": SIZE - 1, "root": root(SIZE - 1)},
        "wrong root": {**good, "root": flip_bit(good["root"], 7)},
        "root of another size": {**good, "root": root(SIZE - 1)},
        "another index": {**good, "index": 4},
        "proof of another entry": {**good, "proof": other["proof"]},
        "another entry's leaf hash": {**good, "leaf_hash": other["leaf_hash"]},
        "missing hash": {**good, "proof": proof[:-1]},
        "extra hash": {**good, "proof": [*proof, good["root"]]},
        "index beyond size": {**good, "index": SIZE},
    }


@pytest.mark.slow
def test_tampered_inclusion_proofs_fail(
    bundle: Path, inclusion: dict[str, Any], tmp_path: Path
) -> None:
    other = prove(bundle, "--entry", "6")
    for what, (code, output) in check_all(tmp_path, tampered_inclusions(inclusion, other)).items():
        assert code == 1, f"{what}: {output}"
        assert output.startswith("FAILED: "), what


@pytest.mark.slow
def test_tampered_consistency_proofs_fail(consistency: dict[str, Any], tmp_path: Path) -> None:
    good, proof = consistency, consistency["proof"]
    tampered = {
        "flipped bit in proof[0]": {**good, "proof": [flip_bit(proof[0]), *proof[1:]]},
        "flipped bit in proof[-1]": {**good, "proof": [*proof[:-1], flip_bit(proof[-1], 100)]},
        "another size1": {**good, "size1": 5},
        "another size1 with its root": {**good, "size1": 7, "root1": root(7)},
        "size2 doubled": {**good, "size2": 2 * SIZE},
        "smaller size2 with its root": {**good, "size2": SIZE - 1, "root2": root(SIZE - 1)},
        "size1 beyond size2": {**good, "size1": SIZE + 1},
        "size1 zero": {**good, "size1": 0},
        "wrong root1": {**good, "root1": flip_bit(good["root1"])},
        "wrong root2": {**good, "root2": flip_bit(good["root2"])},
        "swapped roots": {**good, "root1": good["root2"], "root2": good["root1"]},
        "empty proof": {**good, "proof": []},
    }
    for what, (code, output) in check_all(tmp_path, tampered).items():
        assert code == 1, f"{what}: {output}"
        assert output.startswith("FAILED: "), what


def test_failure_says_what_mismatched(inclusion: dict[str, Any], tmp_path: Path) -> None:
    done = check(tmp_path, {**inclusion, "root": "00" * 32})
    assert done.returncode == 1
    assert f"≠ expected {'00' * 32}" in done.stdout
    done = check(tmp_path, {**inclusion, "proof": inclusion["proof"][:2]})
    assert "proof has 2 hashes, index 5 in size 13 needs 4" in done.stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    "content",
    [b"not json", b"\xff\xfe", b"[]", b'{"size": 13, "root": "00"}', b""],
    ids=["text", "binary", "array", "head-not-proof", "empty"],
)
def test_a_file_that_is_not_a_proof_fails(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "proof.json"
    path.write_bytes(content)
    done = run("check-proof", path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.startswith("FAILED: ")


# --- usage errors: exit 2 ---------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--entry", str(SIZE)], "no such entry"),
        (["--entry", "3", "--size", "3"], "no such entry"),
        (["--entry", "0", "--size", str(SIZE + 1)], f"the log has only {SIZE} entries"),
        (["--from", str(SIZE + 1)], "a log only grows"),
        (["--from", "5", "--size", "4"], "a log only grows"),
        (["--from", "0"], "M must be at least 1"),
        (["--entry", "-1"], "--entry"),
        (["--entry", "1", "--from", "2"], "exactly one of --entry I and --from M"),
        ([], "exactly one of --entry I and --from M"),
    ],
    ids=[
        "entry-beyond-log",
        "entry-beyond-size",
        "size-beyond-log",
        "from-beyond-log",
        "from-beyond-size",
        "from-zero",
        "negative-entry",
        "both",
        "neither",
    ],
)
def test_prove_usage_errors(bundle: Path, args: list[str], message: str) -> None:
    done = run("prove", bundle, *args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""
    assert message in done.stderr


@pytest.mark.slow
def test_prove_needs_a_bundle_directory(tmp_path: Path) -> None:
    done = run("prove", tmp_path / "nowhere", "--entry", "0")
    assert done.returncode == 2 and "does not exist" in done.stderr
    done = run("prove", tmp_path, "--entry", "0")  # a directory without log.jsonl
    assert done.returncode == 2 and "has no log.jsonl" in done.stderr
    (tmp_path / "log.jsonl").write_bytes(b"")
    done = run("prove", tmp_path, "--entry", "0")
    assert done.returncode == 2 and "no such entry" in done.stderr


@pytest.mark.slow
def test_check_proof_usage_errors(tmp_path: Path) -> None:
    done = run("check-proof", tmp_path / "nowhere.json")
    assert done.returncode == 2 and "does not exist" in done.stderr
    done = run("check-proof", tmp_path)
    assert done.returncode == 2 and "is a directory" in done.stderr
    done = run("check-proof")
    assert done.returncode == 2


# --- the auditor's laptop -------------------------------------------------------------


@pytest.mark.slow
def test_prove_and_check_load_neither_flask_nor_sqlalchemy(bundle: Path, tmp_path: Path) -> None:
    proof = tmp_path / "proof.json"
    proof.write_text(run("prove", bundle, "--entry", "1").stdout)
    for args in (["prove", str(bundle), "--from", "3"], ["check-proof", str(proof)]):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "from audit.cli import main; main()", *args],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=REPO,
        )
        assert done.returncode == 0, done.stdout
        imported = {
            line.rsplit("|", 1)[-1].strip()
            for line in done.stderr.splitlines()
            if line.startswith("import time:")
        }
        assert "audit.proofs" in imported  # the check below looks at the real import list
        top_level = {name.split(".")[0] for name in imported}
        assert not top_level & {"flask", "flask_socketio", "sqlalchemy", "alembic", "psycopg"}
        assert not {"voting_server.db", "voting_server.models"} & imported
