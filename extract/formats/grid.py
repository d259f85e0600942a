"""Span expansion for the HTML and DOCX adapters: printed cells with colspan/rowspan (DOCX
gridSpan/vMerge) -> a RawTable grid."""

from __future__ import annotations

from dataclasses import dataclass

from extract.model import RawTable


@dataclass
class SpannedCell:
    text: str
    colspan: int = 1
    rowspan: int = 1  # for DOCX vMerge the adapter counts the continued rows


def expand(rows: list[list[SpannedCell]], page: int | None, index: int) -> RawTable:
    """Lay printed cells on a grid; positions a merged cell covers become None."""
    grid: list[list[str | None]] = []
    pending: dict[tuple[int, int], bool] = {}  # (row, col) covered by a rowspan from above
    for r, cells in enumerate(rows):
        line: list[str | None] = []
        col = 0
        for cell in cells:
            while pending.pop((r, col), False):
                line.append(None)
                col += 1
            line.append(cell.text)
            line.extend([None] * (max(cell.colspan, 1) - 1))
            for below in range(1, max(cell.rowspan, 1)):
                for c in range(col, col + max(cell.colspan, 1)):
                    pending[(r + below, c)] = True
            col += max(cell.colspan, 1)
        while pending.pop((r, col), False):
            line.append(None)
            col += 1
        grid.append(line)
    return RawTable(rows=grid, page=page, index=index)
