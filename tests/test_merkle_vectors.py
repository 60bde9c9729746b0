"""RFC 9162 proofs against transparency-dev/merkle's vectors, and round trips.

Every file under ../shared/vectors/merkle is one case: the happy paths must
verify, every ``wantErr`` variant must be rejected. Generated proofs are
then checked against independently computed roots, and against tampering:
a flipped bit, another index, another size, another root.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.merkle import EMPTY_ROOT, leaf_hash, root_from_leaf_hashes, tree_root
from audit.proofs import (
    ProofError,
    check_document,
    consistency_document,
    consistency_proof,
    consistency_proof_length,
    inclusion_document,
    inclusion_proof,
    inclusion_proof_length,
    root_from_inclusion,
    root_of,
    roots_from_consistency,
    verify_consistency,
    verify_inclusion,
)
from tests.support.merkle import LEAVES, reference_roots
from tests.support.services import SHARED

VECTORS = SHARED / "vectors" / "merkle"
VECTOR_FILES = sorted(VECTORS.rglob("*.json"))
INCLUSION_FILES = [
    path for path in VECTOR_FILES if path.relative_to(VECTORS).parts[0] == "inclusion"
]
CONSISTENCY_FILES = [
    path for path in VECTOR_FILES if path.relative_to(VECTORS).parts[0] == "consistency"
]


def case_id(path: Path) -> str:
    return str(path.relative_to(VECTORS).with_suffix(""))


def load(path: Path) -> dict[str, Any]:
    """A vector with its base64 hashes decoded; a null proof is the empty proof."""
    case = json.loads(path.read_text())
    for key in ("root", "leafHash", "root1", "root2"):
        if key in case:
            case[key] = base64.b64decode(case[key])
    case["proof"] = [base64.b64decode(hash_) for hash_ in case["proof"] or []]
    return case


def distinct_leaves(n: int) -> list[bytes]:
    """Leaf hashes of n different lines, so no two subtrees share a hash by accident."""
    return [leaf_hash(b'{"i":%d}' % i) for i in range(n)]


def flip_bit(hashes: list[bytes], which: int, bit: int) -> list[bytes]:
    tampered = list(hashes)
    changed = bytearray(tampered[which])
    changed[bit // 8] ^= 1 << (bit % 8)
    tampered[which] = bytes(changed)
    return tampered


def rejects(check: Any, *args: Any) -> bool:
    try:
        check(*args)
    except ProofError:
        return True
    return False


# --- the reference vectors ------------------------------------------------------------


def test_every_vector_file_is_run(shared_dir: Path) -> None:
    assert sorted((shared_dir / "vectors" / "merkle").rglob("*.json")) == VECTOR_FILES
    assert len(VECTOR_FILES) == len(INCLUSION_FILES) + len(CONSISTENCY_FILES)
    assert len(INCLUSION_FILES) > 50 and len(CONSISTENCY_FILES) > 50
    happy = [path for path in VECTOR_FILES if not json.loads(path.read_text())["wantErr"]]
    assert len(happy) >= 10


@pytest.mark.parametrize("path", INCLUSION_FILES, ids=case_id)
def test_inclusion_vector(path: Path) -> None:
    case = load(path)
    args = (case["leafHash"], case["leafIdx"], case["treeSize"], case["proof"], case["root"])
    if case["wantErr"]:
        with pytest.raises(ProofError):
            verify_inclusion(*args)
    else:
        verify_inclusion(*args)


@pytest.mark.parametrize("path", CONSISTENCY_FILES, ids=case_id)
def test_consistency_vector(path: Path) -> None:
    case = load(path)
    args = (case["size1"], case["size2"], case["proof"], case["root1"], case["root2"])
    if case["wantErr"]:
        with pytest.raises(ProofError):
            verify_consistency(*args)
    else:
        verify_consistency(*args)


def test_reference_roots_for_sizes_0_to_8(shared_dir: Path) -> None:
    roots = reference_roots(shared_dir)
    assert sorted(roots) == list(range(9))
    hashes = [leaf_hash(leaf) for leaf in LEAVES]
    for size, root in roots.items():
        assert tree_root(LEAVES[:size]).hex() == root, f"size {size}"
        assert root_of(hashes, size).hex() == root, f"size {size}"
    assert roots[0] == EMPTY_ROOT.hex()


def test_generated_proofs_equal_the_happy_paths_over_the_reference_tree(shared_dir: Path) -> None:
    """Where a happy path is about the README's tree, our proof is byte for byte the vector's."""
    roots = {size: bytes.fromhex(root) for size, root in reference_roots(shared_dir).items()}
    hashes = [leaf_hash(leaf) for leaf in LEAVES]
    compared = 0
    for path in INCLUSION_FILES:
        case = load(path)
        if not case["wantErr"] and roots.get(case["treeSize"]) == case["root"]:
            assert inclusion_proof(hashes, case["leafIdx"], case["treeSize"]) == case["proof"]
            assert hashes[case["leafIdx"]] == case["leafHash"]
            compared += 1
    for path in CONSISTENCY_FILES:
        case = load(path)
        if not case["wantErr"] and roots.get(case["size2"]) == case["root2"]:
            assert consistency_proof(hashes, case["size1"], case["size2"]) == case["proof"]
            assert roots[case["size1"]] == case["root1"]
            compared += 1
    assert compared >= 8


# --- errors say what did not match ----------------------------------------------------


def test_error_messages_name_the_mismatch() -> None:
    hashes = distinct_leaves(7)
    proof = inclusion_proof(hashes, 2, 7)
    root = root_of(hashes, 7)
    with pytest.raises(ProofError, match=r"proof has 2 hashes, index 2 in size 7 needs 3"):
        verify_inclusion(hashes[2], 2, 7, proof[:2], root)
    with pytest.raises(ProofError, match=rf"computed root [0-9a-f]{{64}} ≠ expected {'00' * 32}"):
        verify_inclusion(hashes[2], 2, 7, proof, bytes(32))
    with pytest.raises(ProofError, match=r"index 7 is not in a tree of size 7"):
        verify_inclusion(hashes[2], 7, 7, proof, root)
    with pytest.raises(ProofError, match=r"proof hash 1 has 31 bytes"):
        verify_inclusion(hashes[2], 2, 7, [proof[0], proof[1][:31], proof[2]], root)
    with pytest.raises(ProofError, match=r"size1 5 > size2 3"):
        verify_consistency(5, 3, [], root, root)
    with pytest.raises(ProofError, match=r"size1 is 0"):
        verify_consistency(0, 3, [], EMPTY_ROOT, root)
    with pytest.raises(ProofError, match=r"proof has 1 hashes, equal sizes need none"):
        verify_consistency(3, 3, [root], root, root)
    consistency = consistency_proof(hashes, 3, 7)
    with pytest.raises(ProofError, match=r"computed root1 [0-9a-f]{64} ≠ expected"):
        verify_consistency(3, 7, consistency, root_of(hashes, 2), root)
    with pytest.raises(ProofError, match=r"computed root2 [0-9a-f]{64} ≠ expected"):
        verify_consistency(3, 7, consistency, root_of(hashes, 3), root_of(hashes, 6))


def test_generating_refuses_what_is_not_in_the_leaves() -> None:
    hashes = distinct_leaves(5)
    for index, size in [(5, 5), (0, 0), (-1, 3), (0, 6)]:
        with pytest.raises(ProofError):
            inclusion_proof(hashes, index, size)
    for size1, size2 in [(0, 3), (0, 0), (4, 3), (2, 6)]:
        with pytest.raises(ProofError):
            consistency_proof(hashes, size1, size2)
    assert consistency_proof(hashes, 5, 5) == []
    assert consistency_proof(hashes, 1, 1) == []
    assert inclusion_proof(hashes, 0, 1) == []
    assert root_of(hashes, 0) == EMPTY_ROOT
    with pytest.raises(ProofError):
        root_of(hashes, 6)


# --- exhaustively over small trees ----------------------------------------------------


def test_every_proof_of_every_tree_up_to_48_leaves() -> None:
    hashes = distinct_leaves(48)
    roots = [root_from_leaf_hashes(hashes[:size]) for size in range(49)]
    for size in range(1, 49):
        assert root_of(hashes, size) == roots[size]
        for index in range(size):
            proof = inclusion_proof(hashes, index, size)
            assert len(proof) == inclusion_proof_length(index, size)
            assert root_from_inclusion(hashes[index], index, size, proof) == roots[size]
        for size1 in range(1, size + 1):
            proof = consistency_proof(hashes, size1, size)
            assert len(proof) == consistency_proof_length(size1, size)
            verify_consistency(size1, size, proof, roots[size1], roots[size])
            if size1 < size:
                assert roots_from_consistency(size1, size, proof, roots[size1]) == (
                    roots[size1],
                    roots[size],
                )


def test_proof_lengths_for_a_large_log() -> None:
    """Proof sizes grow with log2 n: 20 levels for about a million entries."""
    assert inclusion_proof_length(0, 1 << 20) == 20
    assert inclusion_proof_length(999_999, 1_000_000) <= 20
    assert consistency_proof_length(1, 1_000_000) == 20
    assert consistency_proof_length(1 << 19, 1 << 20) == 1


# --- round trips and tampering (hypothesis) -------------------------------------------

MAX_SIZE = 300
HASHES = distinct_leaves(MAX_SIZE)
ROOTS = [root_from_leaf_hashes(HASHES[:size]) for size in range(MAX_SIZE + 1)]


@st.composite
def inclusion_cases(draw: st.DrawFn) -> tuple[int, int]:
    size = draw(st.integers(1, MAX_SIZE))
    return draw(st.integers(0, size - 1)), size


@st.composite
def consistency_cases(draw: st.DrawFn) -> tuple[int, int]:
    size2 = draw(st.integers(1, MAX_SIZE))
    return draw(st.integers(1, size2)), size2


def same_inclusion_shape(index: int, size: int, other: int) -> bool:
    """Whether the path of ``index`` has the same shape in trees of ``size`` and ``other``.

    The path climbs the "inner" levels where ``index`` and the last leaf
    differ, then the border; both are fixed by the highest differing bit.
    """
    return index < other and (index ^ (size - 1)).bit_length() == (index ^ (other - 1)).bit_length()


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(case=inclusion_cases(), data=st.data())
def test_inclusion_round_trip_and_tampering(case: tuple[int, int], data: st.DataObject) -> None:
    index, size = case
    leaf, root = HASHES[index], ROOTS[size]
    proof = inclusion_proof(HASHES, index, size)
    verify_inclusion(leaf, index, size, proof, root)

    if proof:
        which = data.draw(st.integers(0, len(proof) - 1), label="hash")
        bit = data.draw(st.integers(0, 255), label="bit")
        assert rejects(verify_inclusion, leaf, index, size, flip_bit(proof, which, bit), root)
        assert rejects(verify_inclusion, leaf, index, size, proof[:-1], root)
    assert rejects(verify_inclusion, leaf, index, size, [*proof, root], root)

    other_index = data.draw(st.integers(0, size).filter(lambda i: i != index), label="index")
    assert rejects(verify_inclusion, leaf, other_index, size, proof, root)
    assert rejects(verify_inclusion, leaf_hash(b"not an entry"), index, size, proof, root)
    if other_index < size:  # a proof for another entry does not prove this one
        assert rejects(
            verify_inclusion, leaf, index, size, inclusion_proof(HASHES, other_index, size), root
        )

    other_size = data.draw(st.integers(1, MAX_SIZE).filter(lambda n: n != size), label="size")
    # With that size's own root: always rejected.
    assert rejects(verify_inclusion, leaf, index, other_size, proof, ROOTS[other_size])
    # With this root: rejected unless the path has the same shape — RFC 9162 proofs
    # bind the size only through the root (module docstring of audit.proofs).
    assert rejects(verify_inclusion, leaf, index, other_size, proof, root) != same_inclusion_shape(
        index, size, other_size
    )

    wrong_root = data.draw(st.binary(min_size=32, max_size=32).filter(lambda r: r != root))
    assert rejects(verify_inclusion, leaf, index, size, proof, wrong_root)
    assert rejects(verify_inclusion, leaf, index, size, proof, ROOTS[size - 1])


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(case=consistency_cases(), data=st.data())
def test_consistency_round_trip_and_tampering(case: tuple[int, int], data: st.DataObject) -> None:
    size1, size2 = case
    root1, root2 = ROOTS[size1], ROOTS[size2]
    proof = consistency_proof(HASHES, size1, size2)
    verify_consistency(size1, size2, proof, root1, root2)

    if proof:
        which = data.draw(st.integers(0, len(proof) - 1), label="hash")
        bit = data.draw(st.integers(0, 255), label="bit")
        assert rejects(verify_consistency, size1, size2, flip_bit(proof, which, bit), root1, root2)
        assert rejects(verify_consistency, size1, size2, proof[:-1], root1, root2)
    assert rejects(verify_consistency, size1, size2, [*proof, root1], root1, root2)

    other1 = data.draw(st.integers(0, MAX_SIZE).filter(lambda n: n != size1), label="size1")
    assert rejects(verify_consistency, other1, size2, proof, root1, root2)
    assert rejects(verify_consistency, other1, size2, proof, ROOTS[other1], root2)

    other2 = data.draw(st.integers(0, MAX_SIZE).filter(lambda n: n != size2), label="size2")
    assert rejects(verify_consistency, size1, other2, proof, root1, ROOTS[other2])
    same_shape = (
        size1 < size2
        and size1 < other2
        and ((size1 - 1) ^ (size2 - 1)).bit_length() == ((size1 - 1) ^ (other2 - 1)).bit_length()
    )
    assert rejects(verify_consistency, size1, other2, proof, root1, root2) != same_shape

    wrong = data.draw(st.binary(min_size=32, max_size=32).filter(lambda r: r not in (root1, root2)))
    assert rejects(verify_consistency, size1, size2, proof, wrong, root2)
    assert rejects(verify_consistency, size1, size2, proof, root1, wrong)
    if size1 < size2:
        assert rejects(verify_consistency, size1, size2, proof, root2, root1)  # swapped


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(case=inclusion_cases(), size1=st.integers(1, MAX_SIZE))
def test_documents_round_trip_through_json(case: tuple[int, int], size1: int) -> None:
    index, size = case
    document = inclusion_document(
        HASHES[index], index, size, inclusion_proof(HASHES, index, size), ROOTS[size]
    )
    assert check_document(json.loads(json.dumps(document))).startswith(f"entry {index} ")
    size1 = min(size1, size)
    document = consistency_document(
        size1, size, ROOTS[size1], ROOTS[size], consistency_proof(HASHES, size1, size)
    )
    assert "is a prefix of" in check_document(json.loads(json.dumps(document)))


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "a proof is a JSON object"),
        ({"size": 1}, "not a proof"),
        (
            {"index": True, "size": 1, "leaf_hash": "00" * 32, "proof": [], "root": "00" * 32},
            "index must be a non-negative integer",
        ),
        (
            {"index": 0, "size": 1, "leaf_hash": "0" * 63, "proof": [], "root": "00" * 32},
            "leaf_hash must be 64 hex digits",
        ),
        (
            {"index": 0, "size": 1, "leaf_hash": "00" * 32, "proof": "", "root": "00" * 32},
            "proof must be a list",
        ),
        (
            {"size1": 1, "size2": 2, "root1": "00" * 32, "root2": "00" * 32, "proof": [" 0" * 32]},
            r"proof\[0\] must be 64 hex digits",
        ),
    ],
    ids=["array", "no-kind", "boolean-index", "short-leaf-hash", "proof-not-a-list", "spaced-hex"],
)
def test_malformed_documents_are_rejected(document: Any, message: str) -> None:
    with pytest.raises(ProofError, match=message):
        check_document(document)
