"""Every Python code block in README.md and docs/ runs, so the docs cannot drift from the code.

A block whose first line is ``# doc: skip`` is shown but not run (it needs a server or a secret).
Blocks of one page run in order in one namespace, as a reader would type them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```python[^\n]*\n(.*?)^```", re.S | re.M)


def _blocks(page: Path) -> list[str]:
    return [
        b for b in FENCE.findall(page.read_text(encoding="utf-8")) if not b.lstrip().startswith("# doc: skip")
    ]


@pytest.mark.parametrize("page", [p for p in PAGES if _blocks(p)], ids=lambda p: p.name)
def test_python_blocks_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": f"doc_{page.stem}"}
    for number, block in enumerate(_blocks(page), start=1):
        code = compile(block, f"{page.name}[block {number}]", "exec")
        exec(code, namespace)  # noqa: S102 - running our own documentation is the point


def test_blocks_on_the_wall_clock_use_no_fixed_dates() -> None:
    """A block whose sandbox follows the wall clock (``Sandbox()``) must date its loans relative to
    today, or it breaks the day its fixed date passes; fixed dates belong with ``Sandbox(now=...)``."""
    fixed = re.compile(r"[\"']20\d\d-\d\d-\d\d[\"']")
    stale = [
        f"{page.name}[block {number}]"
        for page in PAGES
        for number, block in enumerate(_blocks(page), start=1)
        if "Sandbox()" in block and fixed.search(block)
    ]
    assert stale == []
