"""Pages of a document printed without ruling lines, read in order: a table that runs to the
foot of a page lends its columns to the top of the next (a continuation without a repeated
header); a header that a page break cuts, before its rows or through its labels, is read with
the next page; a row whose label the break cuts mid-word is read again with the next page's
lines. Each region's rows are read by ``borderless.py``. Coordinates are PDF user space: x to
the right, y up.
"""

from __future__ import annotations

from extract.formats.borderless import (
    HEADER_LINES_ABOVE,
    Region,
    page_regions,
    region_rows,
)
from extract.formats.borderless_columns import (
    LABEL_GAP,
    VALUE_GAP,
    Column,
    Line,
    is_column_label,
    lines_of,
    runs,
    stacked_columns,
    text_of,
)
from extract.formats.ruling import Glyph, Segment, group_tables
from extract.values import is_value_token

Box = tuple[float, float, float, float]  # left, bottom, right, top


def ruled_boxes(horizontals: list[Segment], verticals: list[Segment]) -> list[Box]:
    """The extent of each ruled table on the page (its characters are the grid reader's)."""
    boxes = []
    for hs, vs in group_tables(horizontals, verticals):
        xs = [v.pos for v in vs] + [h.start for h in hs] + [h.end for h in hs]
        ys = [h.pos for h in hs] + [v.start for v in vs] + [v.end for v in vs]
        boxes.append((min(xs), min(ys), max(xs), max(ys)))
    return boxes


class UnruledReader:
    """Reads a document's pages in order; a table that runs to the foot of a page lends its
    columns to the top of the next page (a continuation without a repeated header), and a
    header that a page break cuts (its rows on the next page) is read with the next page."""

    def __init__(self) -> None:
        self.carried: list[Column] | None = None
        self.filled: set[int] = set()  # the carried columns that printed a value
        self.pending: list[Line] = []
        self.tail: list[Line] = []  # the previous page's last lines
        self.held: list[Line] = []  # the previous page's last row, cut mid-label

    def page(self, glyphs: list[Glyph], baselines: list[float], ruled: list[Box]
             ) -> list[list[list[str | None]]]:
        """The grids of the page's tables without ruling lines, top to bottom."""
        free = [n for n, g in enumerate(glyphs)
                if not any(b[0] <= g.x <= b[2] and b[1] <= g.y <= b[3] for b in ruled)
                ] if ruled else list(range(len(glyphs)))
        carried, self.carried = self.carried, None
        pending, self.pending = self.pending, []
        tail, self.tail = self.tail, []
        held, self.held = self.held, []
        if not free:
            return []
        lines = lines_of([glyphs[n] for n in free], [baselines[n] for n in free])
        if held and carried:
            lines = _above(held, lines[0]) + lines
        if pending:
            lines = _above(pending, lines[0]) + lines
            carried = None  # the header is read again, whole
        regions = page_regions(lines, carried, self.filled)
        headed = [r for r in regions if not r.continued]
        if tail and headed and headed[0].header_lines[:1] == lines[:1]:
            # a header at the top of the page: its first lines (行政复议) may end the last page
            lines = _above(tail, lines[0]) + lines
            regions = page_regions(lines, carried, self.filled)
        elif tail and (cut := _header_cut_by_break(tail, lines, regions)) is not None:
            lines, regions = cut
        if pending and headed:
            regions[0].relaid = True
        grids = []
        for n, region in enumerate(regions):
            rows, ended = region_rows(region)
            data = len(rows) > (0 if region.continued else 1)
            if not data and ended and n == len(regions) - 1 and not region.continued:
                self.pending = region.header_lines + region.lines  # a header at the page foot
                continue
            if n == len(regions) - 1:
                self.held = region.held
            if data:
                grids.append(rows)
            self.carried = region.columns if ended else None
            self.filled = region.filled
        if not self.pending:
            self.tail = lines[-HEADER_LINES_ABOVE:]
        return grids


def _header_cut_by_break(tail: list[Line], lines: list[Line], regions: list[Region]
                         ) -> tuple[list[Line], list[Region]] | None:
    """A header whose narrow columns' labels, written down the column, the page break cuts
    (自/然 at the foot of the last page, 人 at the top of this one), found in the characters
    above the page's first values: (the lines with the last page's, the regions). Its rows
    are read as relaid, so values that do not line up with the columns found are refitted."""
    joined = _above(tail, lines[0]) + lines
    valued = [n for n, line in enumerate(joined)
              if any(is_value_token(text_of(r)) for r in runs(line.glyphs, VALUE_GAP, line.size))]
    start = max((n + 1 for n in valued if n < len(tail)), default=0)
    first = min((n for n in valued if n >= len(tail)), default=None)
    if first is None or any(not r.continued and r.header_lines and r.header_lines[0] in
                            lines[:first - len(tail)] for r in regions):
        return None
    columns = stacked_columns(joined[start:first])
    if len(columns) < 3:
        return None
    # the header ends with the last line that prints a part of its labels: the row labels
    # printed above the first values belong to the rows
    end = 1 + max(n for n in range(start, first) if any(
        c.left <= g.x <= c.right for g in joined[n].glyphs for c in columns))
    rest = page_regions(joined[end:], columns)
    header = [text for line in joined[start:end]
              for run in runs(line.glyphs, LABEL_GAP, line.size)
              if not is_column_label(text := text_of(run)) and len(run) > 1]
    rest[0] = Region(columns, header=header, lines=rest[0].lines,
                     header_lines=joined[start:end], relaid=True)
    return joined, rest


def _above(lines: list[Line], first: Line) -> list[Line]:
    """``lines`` (from the foot of the previous page) moved to just above ``first``, one line
    pitch apart, as if the page break were not there."""
    pitch = 1.5 * first.size
    shift = first.baseline + pitch - lines[-1].baseline
    return [Line(line.baseline + shift,
                 [g._replace(y=g.y + shift, bottom=g.bottom + shift, top=g.top + shift)
                  for g in line.glyphs]) for line in lines]
