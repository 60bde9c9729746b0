"""RFC 6962 / RFC 9162 Merkle tree hashing over log lines (SHA-256).

leaf = SHA-256(0x00 ‖ line), node = SHA-256(0x01 ‖ left ‖ right); the tree
of n leaves splits at the largest power of two smaller than n. The head of
a log of size n is ``{size: n, root}`` (CONTRACTS.md §4).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """Merkle tree hash of leaves already hashed with ``leaf_hash``.

    Iterative: pairs are combined level by level, and an odd last node is
    carried up unchanged — which yields exactly RFC 6962's split at the
    largest power of two for every size.
    """
    if not hashes:
        return EMPTY_ROOT
    level = list(hashes)
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def tree_root(lines: Sequence[bytes]) -> bytes:
    """Merkle tree hash of ``lines`` (each line's bytes without its newline)."""
    return root_from_leaf_hashes([leaf_hash(line) for line in lines])


class MerkleStream:
    """The RFC 6962 root of lines seen one at a time, in O(log n) memory.

    Keeps the roots of the perfect subtrees of the leaves so far (the binary
    digits of the size); folding them right to left is the RFC's split at
    the largest power of two.
    """

    def __init__(self) -> None:
        self.size = 0
        self._stack: list[tuple[int, bytes]] = []  # (height, subtree root), largest first

    def add(self, line: bytes) -> None:
        self.add_leaf_hash(leaf_hash(line))

    def add_leaf_hash(self, digest: bytes) -> None:
        """Add a line by its ``leaf_hash`` (computed elsewhere, e.g. in a worker process)."""
        height = 0
        while self._stack and self._stack[-1][0] == height:
            _, left = self._stack.pop()
            height, digest = height + 1, node_hash(left, digest)
        self._stack.append((height, digest))
        self.size += 1

    def root(self) -> bytes:
        if not self._stack:
            return EMPTY_ROOT
        digest = self._stack[-1][1]
        for _, left in reversed(self._stack[:-1]):
            digest = node_hash(left, digest)
        return digest

    def head(self) -> dict[str, Any]:
        return {"size": self.size, "root": self.root().hex()}
