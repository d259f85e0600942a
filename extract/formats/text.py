"""Plain-text reports: tables as tab-separated cell lines or as Markdown pipe tables.

Tab form (a report saved as text): each table cell is on a line that starts with a tab; a row is
a block of such lines ended by a blank line; a line without the tab directly under a cell
continues that cell ("本年新" / "制作数量"); a text line after a blank line ends the table.

Pipe form (as PDF-to-text tools and transcriptions write tables): ``| 规章 | 0 | 0 | 3 |``, one
row a line (bars at both ends), the ``|---|:---:|`` delimiter row skipped, ``\\|`` a printed bar,
``<br>`` a line break inside a cell and ``**bold**`` plain; the first line that is not a pipe
row ends the table. An empty pipe cell is a blank cell: a pipe table has no spans, so a merged
cell prints as empty ones too, which the interpreter tells from blank values (it aligns a row's
values from its label, and a row of headings or table markers with blanks is a header).
"""

from __future__ import annotations

import re

from extract.formats.html import decode
from extract.model import Content, RawTable

NAME = "text-tsv"
VERSION = "3"  # 3: GB labels from crawlers/encoding.py (via html.decode)

_PIPE_ROW = re.compile(r"^ *\|.*\| *$")  # not "\t|": a tab starts a cell line
_UNESCAPED_BAR = re.compile(r"(?<!\\)\|")
_DELIMITER_CELL = re.compile(r"^\s*:?-{3,}:?\s*$")
_LINE_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_EMPHASIS = re.compile(r"^(\*\*|__)(.+)\1$", re.DOTALL)  # "**信息内容**": a bold heading


def _pipe_cells(line: str) -> list[str]:
    """The cells of one pipe row, without the bars at its ends."""
    parts = _UNESCAPED_BAR.split(line.strip())[1:-1]
    cells = [_LINE_BREAK.sub("\n", part.replace("\\|", "|")).strip() for part in parts]
    return [_EMPHASIS.sub(r"\2", cell).strip() for cell in cells]


def _is_delimiter(cells: list[str]) -> bool:
    return bool(cells) and all(_DELIMITER_CELL.match(c) for c in cells)


class _Tables:
    """The tables read so far, and the rows and the cell-line row being read."""

    def __init__(self) -> None:
        self.tables: list[RawTable] = []
        self.rows: list[list[str | None]] = []
        self.row: list[str | None] = []
        self.piped = False  # whether ``rows`` are pipe rows

    def end_row(self) -> None:
        if self.row:
            self.rows.append(self.row)
            self.row = []

    def end_table(self) -> None:
        self.end_row()
        if self.rows:
            self.tables.append(RawTable(rows=self.rows, index=len(self.tables)))
            self.rows = []

    def pipe_row(self, line: str) -> None:
        if not self.piped:
            self.end_table()
            self.piped = True
        cells = _pipe_cells(line)
        if not _is_delimiter(cells):
            self.rows.append(list(cells))

    def other_line(self, line: str) -> None:
        if self.piped:
            self.end_table()
            self.piped = False
        if line.startswith("\t"):
            self.row.extend(line[1:].split("\t"))
        elif not line.strip():
            self.end_row()
        elif self.row:
            self.row[-1] = f"{self.row[-1]}\n{line}"
        else:
            self.end_table()


def read_text(data: bytes) -> Content:
    text = decode(data, declared="utf-8")
    found = _Tables()
    for line in text.replace("\xa0", " ").splitlines():
        if _PIPE_ROW.match(line):
            found.pipe_row(line)
        else:
            found.other_line(line)
    found.end_table()
    return Content(text=text, tables=found.tables, extractor=NAME, extractor_version=VERSION)
