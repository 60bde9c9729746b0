"""The RFC 6962 root of a log read one line at a time (the writer's and verifier's running head)."""

from __future__ import annotations

from typing import Any

from audit.merkle import EMPTY_ROOT, leaf_hash, node_hash


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
        height, digest = 0, leaf_hash(line)
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
