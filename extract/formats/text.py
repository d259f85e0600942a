"""Plain-text reports: a report saved as text, each table cell on a line that starts with a tab.

A row is a block of such lines ended by a blank line; a line without the tab directly under a
cell continues that cell ("本年新" / "制作数量"); a text line after a blank line ends the table.
"""

from __future__ import annotations

from extract.formats.html import decode
from extract.model import Content, RawTable

NAME = "text-tsv"
VERSION = "1"


def read_text(data: bytes) -> Content:
    text = decode(data, declared="utf-8")
    tables: list[RawTable] = []
    rows: list[list[str | None]] = []
    row: list[str | None] = []
    for line in text.replace("\xa0", " ").splitlines():
        if line.startswith("\t"):
            row.extend(line[1:].split("\t"))
        elif not line.strip():
            if row:
                rows.append(row)
                row = []
        elif row:
            row[-1] = f"{row[-1]}\n{line}"
        elif rows:
            tables.append(RawTable(rows=rows, index=len(tables)))
            rows = []
    if row:
        rows.append(row)
    if rows:
        tables.append(RawTable(rows=rows, index=len(tables)))
    return Content(text=text, tables=tables, extractor=NAME, extractor_version=VERSION)
