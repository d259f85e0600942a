"""The second opinion for PDFs: camelot lattice (ruling lines found in the rendered page).

Camelot places a merged cell's text in whichever grid cell holds it; the regions joined by missing
ruling lines are rebuilt here, so the grid follows the same convention as the other adapters
(text at the region's top-left, None where the region covers).
"""

from __future__ import annotations

import logging
from pathlib import Path

from extract.errors import ExtractionError
from extract.formats.ruling import find_root
from extract.model import Content, RawTable

NAME = "camelot-lattice"
VERSION = "1"


def _regions(cells) -> list[list[str | None]]:
    rows, cols = len(cells), len(cells[0]) if cells else 0
    parent = list(range(rows * cols))  # cell (r, c) is node r * cols + c

    def find(cell: tuple[int, int]) -> int:
        return find_root(parent, cell[0] * cols + cell[1])

    for r in range(rows):
        for c in range(cols):
            if c > 0 and not cells[r][c].left:
                parent[find((r, c))] = find((r, c - 1))
            if r > 0 and not cells[r][c].top:
                parent[find((r, c))] = find((r - 1, c))
    texts: dict[int, list[str]] = {}
    anchor: dict[int, tuple[int, int]] = {}
    for r in range(rows):
        for c in range(cols):
            root = find((r, c))
            anchor.setdefault(root, (r, c))
            if cells[r][c].text.strip():
                texts.setdefault(root, []).append(cells[r][c].text.strip())
    grid: list[list[str | None]] = []
    for r in range(rows):
        line: list[str | None] = []
        for c in range(cols):
            root = find((r, c))
            line.append("\n".join(texts.get(root, [])) if anchor[root] == (r, c) else None)
        grid.append(line)
    return grid


def read_pdf_lattice(path: Path, text: str) -> Content:
    import camelot  # imported lazily: it is slow to import and only needed for the second opinion

    logging.getLogger("camelot").setLevel(logging.ERROR)
    try:
        found = camelot.read_pdf(str(path), flavor="lattice", pages="all")
    except Exception as exc:  # camelot wraps many failures; the first opinion stands then
        raise ExtractionError("corrupt", f"camelot lattice failed ({type(exc).__name__}: {exc})"
                              ) from exc
    tables = [RawTable(rows=_regions(t.cells), page=int(t.page), index=n)
              for n, t in enumerate(found)]
    return Content(text=text, tables=tables, extractor=NAME, extractor_version=VERSION)
