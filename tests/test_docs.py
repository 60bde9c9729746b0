"""The repository stands alone: its README and docs/ link only to files inside it, which exist."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
# [text](target) of Markdown, outside code; a target with a scheme (https:) is not a file.
LINK = re.compile(r"\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.M | re.S)


def links(page: Path) -> list[str]:
    text = FENCE.sub("", page.read_text())
    return [t for t in LINK.findall(text) if not re.match(r"[a-z]+:", t) and t[0] != "#"]


def test_readme_and_docs_link_only_to_files_of_the_repository() -> None:
    broken = []
    for page in PAGES:
        for target in links(page):
            path = (page.parent / target.split("#")[0]).resolve()
            if not path.is_relative_to(REPO) or not path.exists():
                broken.append(f"{page.relative_to(REPO)}: {target}")
    assert broken == []


def test_no_page_sends_the_reader_to_the_sibling_shared_folder() -> None:
    # ../shared exists beside a development checkout only; the rules are docs/rules.md.
    assert [p.name for p in PAGES if "../shared" in p.read_text()] == []
