"""RFC 6962 tree hashes against the reference roots in ../shared/vectors/merkle."""

from __future__ import annotations

import re
from pathlib import Path

from audit.merkle import tree_root

LEAVES = [
    bytes.fromhex(h)
    for h in ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
              "606162636465666768696a6b6c6d6e6f"]
]  # fmt: skip


def reference_roots(shared_dir: Path) -> dict[int, str]:
    text = (shared_dir / "vectors" / "merkle" / "README.md").read_text()
    return {int(n): root for n, root in re.findall(r"^\| (\d) \| ([0-9a-f]{64}) \|$", text, re.M)}


def test_roots_match_the_published_reference(shared_dir: Path) -> None:
    roots = reference_roots(shared_dir)
    assert sorted(roots) == list(range(9))
    for size, root in roots.items():
        assert tree_root(LEAVES[:size]).hex() == root, f"size {size}"


def test_a_changed_leaf_changes_the_root() -> None:
    good = tree_root(LEAVES)
    for i in range(len(LEAVES)):
        tampered = list(LEAVES)
        tampered[i] = tampered[i] + b"\x00"
        assert tree_root(tampered) != good
    assert tree_root(LEAVES[1:] + LEAVES[:1]) != good  # reordered
