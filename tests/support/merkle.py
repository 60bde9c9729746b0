"""The leaves of RFC 6962's test vectors and the reference roots published beside them
in ../shared/vectors/merkle."""

from __future__ import annotations

import re
from pathlib import Path

LEAVES = [
    bytes.fromhex(h)
    for h in ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
              "606162636465666768696a6b6c6d6e6f"]
]  # fmt: skip


def reference_roots(shared_dir: Path) -> dict[int, str]:
    text = (shared_dir / "vectors" / "merkle" / "README.md").read_text()
    return {int(n): root for n, root in re.findall(r"^\| (\d) \| ([0-9a-f]{64}) \|$", text, re.M)}
