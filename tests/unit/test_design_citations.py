"""Every "design.md §N" the code and docs cite names a section of docs/design.md, and nothing
cites a design that is not in the repository."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ("src", "services", "tests", "bench", "chaos", "infra", "docs", "schemas")
SUFFIXES = {".py", ".md", ".html", ".sh", ".avsc"}


def _files() -> list[Path]:
    found = [ROOT / "README.md"]
    for folder in FOLDERS:
        found += [p for p in (ROOT / folder).rglob("*") if p.suffix in SUFFIXES and p.is_file()]
    return [p for p in found if p.name != Path(__file__).name]


def test_every_cited_section_exists() -> None:
    headings = set(
        re.findall(r"^## §(\d+) ", (ROOT / "docs" / "design.md").read_text(), flags=re.M)
    )
    cited: dict[str, list[str]] = {}
    for path in _files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for match in re.finditer(r"design\.md §(\d+)((?:, §\d+)*)", text):
            for number in re.findall(r"\d+", match.group(0).split("§", 1)[1]):
                cited.setdefault(number, []).append(str(path.relative_to(ROOT)))
    assert cited, "the code cites the design"
    assert set(cited) <= headings, {n: cited[n][:3] for n in set(cited) - headings}


def test_no_citation_of_a_design_outside_the_repository() -> None:
    stray = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in _files()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"(?<![\w.])design §", line)
    ]
    assert stray == []
