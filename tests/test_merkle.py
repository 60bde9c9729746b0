"""RFC 6962 tree hashes against the reference roots in ../shared/vectors/merkle."""

from __future__ import annotations

from pathlib import Path

from audit.merkle import tree_root
from tests.support.merkle import LEAVES, reference_roots


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
