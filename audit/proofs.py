"""RFC 9162 §2.1.3–2.1.4 inclusion and consistency proofs over the audit log's tree.

The tree is the one of ``audit.merkle`` (RFC 6962 hashing, SHA-256): leaves
are ``leaf_hash(line)``, a tree of n > 1 leaves splits at the largest power
of two smaller than n. Proofs are lists of 32-byte hashes, deepest first,
exactly as RFC 9162 (and transparency-dev/merkle) lay them out.

Everything here is pure — no I/O — and works on leaf hashes, not lines;
at the end are the JSON documents ``voting-audit prove`` prints and
``check-proof`` reads. Generating a proof over n leaves hashes each leaf at
most once (the proof's subtrees are disjoint: O(n) time) and keeps only
O(log n) hashes besides the proof. Verifying takes O(log n) time. Every
failed check raises ``ProofError`` saying what did not match.

A proof binds the sizes only as far as they shape its path: the
verification of RFC 9162 gives the same result for every size whose path
has the same shape (e.g. entry 3 in sizes 9 to 16). A head is the pair
(size, root), and the root is what pins the size — compare the whole head
with a published one.

Sizes of 0 are refused where RFC 9162 leaves them meaningless: no leaf is
in the empty tree, and every tree is consistent with the empty one, so a
consistency proof from size 0 proves nothing (the reference vectors reject
it, and a published head always has at least one entry).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from audit.merkle import EMPTY_ROOT, node_hash

HASH_SIZE = 32  # SHA-256
_HEX_HASH = re.compile(r"[0-9a-fA-F]{64}")


class ProofError(ValueError):
    """A proof, or the sizes and hashes it is checked against, do not verify."""


# --- generating ---------------------------------------------------------------------


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int, size: int) -> list[bytes]:
    """The audit path (RFC 9162 §2.1.3.1) of leaf ``index`` in the tree of the first ``size`` leaves.

    Preconditions: ``0 <= index < size <= len(leaf_hashes)``; otherwise
    ProofError. The proof has one hash per level, the leaf's sibling first.
    """
    _check_available(leaf_hashes, size)
    if not 0 <= index < size:
        raise ProofError(f"index {index} is not in a tree of size {size}")
    siblings: list[bytes] = []  # from the root down; reversed at the end
    start, end = 0, size
    while end - start > 1:
        middle = start + _split(end - start)
        if index < middle:
            siblings.append(_range_root(leaf_hashes, middle, end))
            end = middle
        else:
            siblings.append(_range_root(leaf_hashes, start, middle))
            start = middle
    siblings.reverse()
    return siblings


def consistency_proof(leaf_hashes: Sequence[bytes], size1: int, size2: int) -> list[bytes]:
    """The proof (RFC 9162 §2.1.4.1) that the tree of size1 leaves is a prefix of that of size2.

    Preconditions: ``0 < size1 <= size2 <= len(leaf_hashes)``; otherwise
    ProofError. Equal sizes give the empty proof.
    """
    _check_available(leaf_hashes, size2)
    _check_sizes(size1, size2)
    proof: list[bytes] = []  # from the root down; reversed at the end
    if size1 == size2:
        return proof
    # SUBPROOF(m, D[start:end], whole): ``whole`` is the RFC's flag b, true as
    # long as the old tree is the left edge of the subtree we are in.
    start, end, whole = 0, size2, True
    while size1 < end:
        middle = start + _split(end - start)
        if size1 <= middle:
            proof.append(_range_root(leaf_hashes, middle, end))
            end = middle
        else:
            proof.append(_range_root(leaf_hashes, start, middle))
            start, whole = middle, False
    if not whole:  # the old tree ends in a complete subtree whose root is not root1
        proof.append(_range_root(leaf_hashes, start, end))
    proof.reverse()
    return proof


def root_of(leaf_hashes: Sequence[bytes], size: int) -> bytes:
    """The root of the tree of the first ``size`` leaves (``size <= len(leaf_hashes)``).

    The empty tree's root is SHA-256 of nothing. O(size) time, O(log size)
    memory, and the same value as ``audit.merkle.root_from_leaf_hashes``.
    """
    _check_available(leaf_hashes, size)
    return _range_root(leaf_hashes, 0, size) if size else EMPTY_ROOT


def _check_available(leaf_hashes: Sequence[bytes], size: int) -> None:
    if size < 0:
        raise ProofError(f"size {size} is negative")
    if size > len(leaf_hashes):
        raise ProofError(f"size {size} is beyond the {len(leaf_hashes)} leaves given")


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n >= 2): the size of the left subtree."""
    return 1 << ((n - 1).bit_length() - 1)


def _range_root(leaf_hashes: Sequence[bytes], start: int, end: int) -> bytes:
    """The Merkle tree hash of ``leaf_hashes[start:end]`` (``start < end``), in O(log n) memory.

    A stack of the roots of complete subtrees, largest first, like a binary
    counter; folding it from the right is the RFC's split at the largest
    power of two. Whole blocks of ``_BLOCK`` leaves go in at once (hashed
    level by level, which is faster than one leaf at a time).
    """
    stack: list[tuple[int, bytes]] = []  # (height, root of a complete subtree)

    def push(height: int, digest: bytes) -> None:
        while stack and stack[-1][0] == height:
            digest = node_hash(stack.pop()[1], digest)
            height += 1
        stack.append((height, digest))

    position = start
    while end - position >= _BLOCK:
        push(_BLOCK_HEIGHT, _complete_root(leaf_hashes[position : position + _BLOCK]))
        position += _BLOCK
    for leaf in range(position, end):
        push(0, leaf_hashes[leaf])
    digest = stack.pop()[1]
    while stack:
        digest = node_hash(stack.pop()[1], digest)
    return digest


_BLOCK_HEIGHT = 10
_BLOCK = 1 << _BLOCK_HEIGHT


def _complete_root(level: Sequence[bytes]) -> bytes:
    """The root of a complete tree (``len(level)`` a power of two), hashed level by level."""
    while len(level) > 1:
        pairs = iter(level)
        level = [node_hash(left, right) for left, right in zip(pairs, pairs, strict=True)]
    return level[0]


# --- verifying ----------------------------------------------------------------------


def inclusion_proof_length(index: int, size: int) -> int:
    """How many hashes the inclusion proof of leaf ``index`` in a tree of ``size`` has.

    Precondition: ``0 <= index < size``. The path has an "inner" part, up to
    the level where the leaf's path and the last leaf's path meet, and then
    one hash for each complete left subtree on the right border.
    """
    inner = (index ^ (size - 1)).bit_length()
    return inner + (index >> inner).bit_count()


def consistency_proof_length(size1: int, size2: int) -> int:
    """How many hashes the consistency proof from ``size1`` to ``size2`` has.

    Precondition: ``0 < size1 <= size2``. It is the inclusion path of the old
    tree's last leaf, less the levels inside the complete subtree that ends
    the old tree, plus that subtree's root unless it is the whole old tree.
    """
    if size1 == size2:
        return 0
    below = (size1 & -size1).bit_length() - 1  # the height of the old tree's last complete subtree
    seed = 0 if size1 == 1 << below else 1
    return seed + inclusion_proof_length(size1 - 1, size2) - below


def root_from_inclusion(leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes:
    """The root that ``proof`` gives leaf ``leaf_hash`` at ``index`` in a tree of ``size`` (RFC 9162 §2.2.1).

    Preconditions, each a ProofError: ``0 <= index < size``; ``leaf_hash``
    and every proof hash are 32 bytes; the proof has exactly the number of
    hashes that ``index`` and ``size`` call for.
    """
    if size <= 0:
        raise ProofError(f"size {size}: no leaf is in the empty tree")
    if not 0 <= index < size:
        raise ProofError(f"index {index} is not in a tree of size {size}")
    _check_hash(leaf_hash, "leaf hash")
    expected = inclusion_proof_length(index, size)
    if len(proof) != expected:
        raise ProofError(
            f"proof has {len(proof)} hashes, index {index} in size {size} needs {expected}"
        )
    for position, sibling in enumerate(proof):
        _check_hash(sibling, f"proof hash {position}")
    node, last, digest = index, size - 1, leaf_hash
    for sibling in proof:
        if node & 1 or node == last:
            digest = node_hash(sibling, digest)
            while not node & 1 and node:  # climb past levels where the node has no sibling
                node, last = node >> 1, last >> 1
        else:
            digest = node_hash(digest, sibling)
        node, last = node >> 1, last >> 1
    if last != 0:  # cannot happen once the length matched; kept as the RFC's own check
        raise ProofError(f"proof ends {last.bit_length()} levels below the root")
    return digest


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``proof`` puts ``leaf_hash`` at ``index`` in the tree of ``size`` with ``root``.

    Raises ProofError (see ``root_from_inclusion`` for the preconditions), or
    when the computed root is not ``root``.
    """
    computed = root_from_inclusion(leaf_hash, index, size, proof)
    if computed != root:
        raise ProofError(f"computed root {_show(computed)} ≠ expected {_show(root)}")


def roots_from_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes
) -> tuple[bytes, bytes]:
    """The roots of the trees of ``size1`` and ``size2`` that ``proof`` gives (RFC 9162 §2.2.2).

    Preconditions, each a ProofError: ``0 < size1 < size2``; ``root1`` and
    every proof hash are 32 bytes; the proof has exactly the number of
    hashes the sizes call for. When ``size1`` is a power of two the old
    tree is a complete subtree of the new one and the proof starts above
    it: ``root1`` itself is the seed, and comes back unchanged.
    """
    _check_sizes(size1, size2)
    if size1 == size2:
        raise ProofError(f"sizes are both {size1}: there is nothing to compute")
    _check_hash(root1, "root1")
    expected = consistency_proof_length(size1, size2)
    if len(proof) != expected:
        raise ProofError(
            f"proof has {len(proof)} hashes, size {size1} to size {size2} needs {expected}"
        )
    for position, hash_ in enumerate(proof):
        _check_hash(hash_, f"proof hash {position}")
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    node, last = size1 - 1, size2 - 1
    while node & 1:  # up to the root of the complete subtree that ends the old tree
        node, last = node >> 1, last >> 1
    old = new = path[0]
    for hash_ in path[1:]:
        if last == 0:  # cannot happen once the length matched; kept as the RFC's own check
            raise ProofError("proof is longer than the path to the root")
        if node & 1 or node == last:
            old, new = node_hash(hash_, old), node_hash(hash_, new)
            while not node & 1 and node:
                node, last = node >> 1, last >> 1
        else:
            new = node_hash(new, hash_)
        node, last = node >> 1, last >> 1
    if last != 0:
        raise ProofError(f"proof ends {last.bit_length()} levels below the root")
    return old, new


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Check that the tree of ``size1`` with ``root1`` is a prefix of that of ``size2`` with ``root2``.

    Preconditions, each a ProofError: ``0 < size1 <= size2``. Equal sizes
    need the empty proof and equal roots (compared as given, whatever their
    length); otherwise see ``roots_from_consistency``. Raises ProofError
    naming the root that does not match.
    """
    _check_sizes(size1, size2)
    if size1 == size2:
        if proof:
            raise ProofError(f"proof has {len(proof)} hashes, equal sizes need none")
        if root1 != root2:
            raise ProofError(
                f"sizes are both {size1} but root1 {_show(root1)} ≠ root2 {_show(root2)}"
            )
        return
    _check_hash(root2, "root2")
    old, new = roots_from_consistency(size1, size2, proof, root1)
    if old != root1:
        raise ProofError(f"computed root1 {_show(old)} ≠ expected {_show(root1)}")
    if new != root2:
        raise ProofError(f"computed root2 {_show(new)} ≠ expected {_show(root2)}")


def _check_sizes(size1: int, size2: int) -> None:
    if size1 <= 0:
        raise ProofError(
            f"size1 is {size1}: every tree is consistent with the empty tree, nothing to prove"
        )
    if size1 > size2:
        raise ProofError(f"size1 {size1} > size2 {size2}: a log only grows")


def _check_hash(value: bytes, what: str) -> None:
    if len(value) != HASH_SIZE:
        raise ProofError(f"{what} has {len(value)} bytes, a SHA-256 hash has {HASH_SIZE}")


def _show(value: bytes) -> str:
    return value.hex() if value else "(empty)"


# --- the JSON documents of ``voting-audit prove`` (CONTRACTS.md §4) ----------------------

INCLUSION_KEYS = ("index", "size", "leaf_hash", "proof", "root")
CONSISTENCY_KEYS = ("size1", "size2", "root1", "root2", "proof")


def inclusion_document(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> dict[str, Any]:
    """``{"index", "size", "leaf_hash", "proof", "root"}``, hashes in lowercase hex."""
    return {
        "index": index,
        "size": size,
        "leaf_hash": leaf_hash.hex(),
        "proof": [hash_.hex() for hash_ in proof],
        "root": root.hex(),
    }


def consistency_document(
    size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]
) -> dict[str, Any]:
    """``{"size1", "size2", "root1", "root2", "proof"}``, hashes in lowercase hex."""
    return {
        "size1": size1,
        "size2": size2,
        "root1": root1.hex(),
        "root2": root2.hex(),
        "proof": [hash_.hex() for hash_ in proof],
    }


def check_document(document: Any) -> str:
    """Verify a proof document (either kind); say what it proved, or raise ProofError.

    The kind is told by the keys; other keys are ignored (documents may grow
    new keys). Sizes are JSON integers, hashes 64 hex digits.
    """
    if not isinstance(document, dict):
        raise ProofError("a proof is a JSON object")
    inclusion = all(key in document for key in INCLUSION_KEYS)
    consistency = all(key in document for key in CONSISTENCY_KEYS)
    if inclusion and consistency:
        raise ProofError("the document has the keys of both an inclusion and a consistency proof")
    if inclusion:
        index, size = _integer(document, "index"), _integer(document, "size")
        root = _hex_hash(document["root"], "root")
        verify_inclusion(
            _hex_hash(document["leaf_hash"], "leaf_hash"),
            index,
            size,
            _hex_hashes(document["proof"]),
            root,
        )
        return f"entry {index} is in the log of head {size}:{root.hex()}"
    if consistency:
        size1, size2 = _integer(document, "size1"), _integer(document, "size2")
        root1 = _hex_hash(document["root1"], "root1")
        root2 = _hex_hash(document["root2"], "root2")
        verify_consistency(size1, size2, _hex_hashes(document["proof"]), root1, root2)
        return f"the log of head {size1}:{root1.hex()} is a prefix of head {size2}:{root2.hex()}"
    raise ProofError(
        f"not a proof: an inclusion proof has the keys {', '.join(INCLUSION_KEYS)}; "
        f"a consistency proof {', '.join(CONSISTENCY_KEYS)}"
    )


def _integer(document: dict[str, Any], key: str) -> int:
    value = document[key]
    if type(value) is not int or value < 0:
        raise ProofError(f"{key} must be a non-negative integer, not {_brief(value)}")
    return value


def _hex_hash(value: Any, what: str) -> bytes:
    if not isinstance(value, str) or not _HEX_HASH.fullmatch(value):
        raise ProofError(f"{what} must be {2 * HASH_SIZE} hex digits, not {_brief(value)}")
    return bytes.fromhex(value)


def _hex_hashes(value: Any) -> list[bytes]:
    if not isinstance(value, list):
        raise ProofError(f"proof must be a list of hashes, not {_brief(value)}")
    return [_hex_hash(item, f"proof[{position}]") for position, item in enumerate(value)]


def _brief(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:79] + "…"
