"""Tables printed without ruling lines -> the RawTable grids the interpreter reads (pure geometry
guided by the template's labels).

A report printed from a portal page whose HTML table has ``border="0"`` (or a document whose
table borders were switched off) gives characters and no lines. Its layout is still a grid:

* **rows** come from text baselines: a line that prints values is a row's anchor; the label
  lines around it (a long label wraps, its value sits beside the middle of the label) belong to
  the nearest anchor; a label block with no values of its own is a row of blanks;
* **columns** come from the header: the template's column labels (``extract/schema.py``) are
  found among the characters (``borderless_columns.py``), also when a narrow cell wraps them
  over several lines; each value goes to the column it aligns with (left edge, centre or right
  edge). A page that continues a table without repeating its header keeps the previous page's
  columns;
* the **row label** is the part of the label area that best matches a template row label (the
  matcher of ``labels.py``): a merged parent label printed to its left is left out.

Blank value positions are "" so that the interpreter maps each value to its own column; a blank
stays null. Only characters outside every ruled table are read here (the caller's job), so ruled
tables keep their exact reading. Coordinates are PDF user space: x to the right, y up.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise

from extract.formats.borderless_columns import (
    LABEL_GAP,
    SAME_LINE,
    VALUE_GAP,
    WRAP_PITCH,
    Column,
    Line,
    find_columns,
    header_blocks,
    is_column_label,
    runs,
    text_of,
)
from extract.formats.borderless_refit import continued_columns, split_touching, value_runs
from extract.formats.ruling import Glyph
from extract.labels import MATCH_THRESHOLD, best_match, exact_entry, normalise_label
from extract.schema import SCHEMA
from extract.values import is_value_token

# A header's first lines (table markers such as 行政复议) may sit this far above its labels.
HEADER_REACH = 6.0
HEADER_LINES_ABOVE = 6


@dataclass
class Region:
    """Lines under one header (or continuing the previous page's table) and its columns."""

    columns: list[Column]
    header: list[str] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    continued: bool = False  # the previous page's table, without a header of its own
    header_lines: list[Line] = field(default_factory=list)
    # its rows may be laid out apart from its columns: a continuation, or rows under a header
    # that a page break left on the previous page (a split table laid out anew)
    relaid: bool = False
    # the columns that printed a value: before the page break (a continuation), then here
    filled: set[int] = field(default_factory=set)
    # its last row's lines, held for the next page (a label cut mid-word by the page break)
    held: list[Line] = field(default_factory=list)



def tables_of(columns: list[Column]) -> set[str]:
    """The tables whose column labels these are."""
    return {table.name for table in SCHEMA.values() for column in columns
            if any(normalise_label(label) == column.label for c in table.columns
                   for label in c.labels)}


@lru_cache(maxsize=4096)
def _row_table(text: str) -> str | None:
    """The table whose row label ``text`` reads as, if any."""
    found = [(m.score, table.name) for table in SCHEMA.values()
             if (m := best_match(text, table.rows)) is not None]
    return max(found)[1] if found else None


def _reads_as_row(line: Line, tables: set[str]) -> bool:
    """Whether a line prints values or a row label of a table other than ``tables`` (the
    header's): it is then no header line. (The appeals header prints its own row labels.)"""
    if any(is_value_token(text_of(r)) for r in runs(line.glyphs, VALUE_GAP, line.size)):
        return True
    table = _row_table(text_of(line.glyphs))
    return table is not None and table not in tables


def _hangs_under_values(lines: list[Line], n: int) -> bool:
    """Whether line ``n`` sits just under a line of values and completes its label (其他对外管理
    / 服务事项): the rest of that row, not a header's first line."""
    if n == 0 or lines[n - 1].baseline - lines[n].baseline > WRAP_PITCH * lines[n].size:
        return False
    above = lines[n - 1]
    values = [r for r in runs(above.glyphs, VALUE_GAP, above.size) if is_value_token(text_of(r))]
    if not values:
        return False
    edge = values[0][0].left
    rows = [line for line in lines[max(0, n - 2):n]  # the value line and a label line above it
            if line.baseline - above.baseline <= WRAP_PITCH * line.size]
    label = "".join(text_of([g for g in line.glyphs if g.right <= edge]) for line in rows)
    return _label_score(label + text_of(lines[n].glyphs)) > _label_score(label)


def page_regions(lines: list[Line], carried: list[Column] | None,
                 filled: set[int] | None = None) -> list[Region]:
    """The page's table regions: each header with the lines under it; lines above the first
    header continue the previous page's table when ``carried`` columns are given (``filled``:
    those of them that printed a value)."""
    blocks = header_blocks(lines, find_columns(lines))
    regions: list[Region] = []
    start = 0
    if carried:
        regions.append(Region(carried, continued=True, relaid=True, filled=set(filled or ())))
    for top, bottom, columns in blocks:
        first = top
        while (first > start and top - first < HEADER_LINES_ABOVE
               and lines[first - 1].baseline - lines[first].baseline
               <= HEADER_REACH * lines[first].size
               and not _reads_as_row(lines[first - 1], tables_of(columns))
               and not _hangs_under_values(lines, first - 1)):
            first -= 1
        if regions:
            regions[-1].lines = lines[start:first]
        header = [text for n in range(first, bottom + 1)  # markers such as 行政复议, 信息内容
                  for run in runs(lines[n].glyphs, LABEL_GAP, lines[n].size)
                  if not is_column_label(text := text_of(run))]
        regions.append(Region(columns, header=header, header_lines=lines[first:bottom + 1]))
        start = bottom + 1
    if regions:
        regions[-1].lines = lines[start:]
    return regions


@lru_cache(maxsize=4096)
def _label_score(text: str) -> float:
    """How well ``text`` reads as a template row label (1.0 exact, 0 none)."""
    if not normalise_label(text):
        return 0.0
    if any(exact_entry(text, table.rows) for table in SCHEMA.values()):
        return 1.0
    matches = [best_match(text, table.rows) for table in SCHEMA.values()]
    return max((m.score for m in matches if m is not None), default=0.0)


def _cuts(glyphs: list[Glyph]) -> list[float]:
    """Left edges where the glyphs' horizontal extent has a gap: where a sub-column may start."""
    spans = sorted((g.left, g.right) for g in glyphs)
    size = sorted(g.size for g in glyphs)[len(glyphs) // 2]
    cuts = [spans[0][0]]
    reach = spans[0][1]
    for left, right in spans[1:]:
        if left > reach + 0.15 * size:
            cuts.append(left)
        reach = max(reach, right)
    return cuts


def _blocks(lines: list[Line]) -> list[list[Line]]:
    """Label lines (top first) split into blocks where the baselines are further apart than a
    wrapped label's lines."""
    size = sorted(g.size for line in lines for g in line.glyphs)[
        sum(len(line.glyphs) for line in lines) // 2]
    blocks = [[lines[0]]]
    for upper, lower in pairwise(lines):
        if upper.baseline - lower.baseline > WRAP_PITCH * size:
            blocks.append([])
        blocks[-1].append(lower)
    return blocks


def _blocktext_of(block: list[Line]) -> str:
    return "\n".join(text_of(line.glyphs) for line in block)


def _middle(block: list[Line]) -> float:
    return (block[0].baseline + block[-1].baseline) / 2


def _beside(block: list[Line], anchor: float) -> bool:
    """Whether the block's lines reach the height of the values' baseline (within a line)."""
    size = max(line.size for line in block)
    return block[-1].baseline - size <= anchor <= block[0].baseline + size


def _best_part(lines: list[Line], anchor: float | None
               ) -> tuple[float, list[list[Line]], list[Line]]:
    """The sub-column (glyphs right of a cut) whose block beside ``anchor`` (or whole text)
    reads best as a template row label: (score, its blocks, that block). A block beside the
    values outranks one above or below them; on a tie the narrower part wins (a parent label
    further left adds nothing)."""
    best: tuple[tuple[bool, float], list[list[Line]], list[Line]] = ((False, -1.0), [lines],
                                                                     lines)
    for cut in _cuts([g for line in lines for g in line.glyphs]):
        part = [Line(line.baseline, kept) for line in lines
                if (kept := [g for g in line.glyphs if g.left >= cut - 0.01])]
        blocks = _blocks(part) if anchor is not None else [part]
        main = min(blocks, key=lambda b: abs(_middle(b) - anchor)) if anchor is not None \
            else part
        rank = (anchor is None or _beside(main, anchor), _label_score(_blocktext_of(main)))
        if rank >= best[0]:
            best = (rank, blocks, main)
    return best[0][1], best[1], best[2]


def _row_labels(lines: list[Line], anchor: float) -> tuple[str, list[tuple[float, str]]]:
    """The band's row label (the best matching sub-column part) and the label blocks of rows
    without values in it, as (height, label). A blank row's label may start left of the row
    label's part (a row under another parent label, wholly left of that part): the lines the
    part leaves out are read as blocks of their own."""
    if not lines:
        return "", []
    _, blocks, main = _best_part(lines, anchor)
    kept = {line.baseline for block in blocks for line in block}
    apart = [line for line in lines if line.baseline not in kept]
    return _blocktext_of(main), _blank_rows(
        [*(block for block in blocks if block is not main), *(_blocks(apart) if apart else [])])


def _blank_rows(blocks) -> list[tuple[float, str]]:
    """Label blocks that read as a template row: rows printed without values. A block that
    reads as none may be several rows whose lines a parent label (written down its own column
    beside them) joined: its best part, split where its own lines stand apart, is read again."""
    rows = []
    for block in blocks:
        score, _, label = _best_part(block, None)
        if score >= MATCH_THRESHOLD:
            rows.append((_middle(block), _blocktext_of(label)))
        elif len(pieces := _blocks(label)) > 1:
            rows += _blank_rows(pieces)
    return rows


def _quality(lines: list[Line], anchor: float) -> float:
    """How well a band's lines read as one row label beside ``anchor`` and whole rows without
    values: the row label's score, less one for each other block that reads as no label."""
    if not lines:
        return 0.0
    score, blocks, main = _best_part(lines, anchor)
    others = (_best_part(block, None)[0] for block in blocks if block is not main)
    return score - sum(1.0 for s in others if s < MATCH_THRESHOLD)


def _bands(labels: list[Line], anchors: list[float]) -> list[list[Line]]:
    """The label lines of each anchor (values' baseline, top first). Each goes to the nearest
    anchor, except that the lines between two anchors are split where both labels read best:
    a long label's first line may be as near the row above as its own values."""
    heights = [-a for a in anchors]
    bands: list[list[Line]] = [[] for _ in anchors]
    for line in labels:
        k = bisect_left(heights, -line.baseline)
        near = min((n for n in (k - 1, k) if 0 <= n < len(anchors)),
                   key=lambda n: abs(anchors[n] - line.baseline))
        bands[near].append(line)
    for n in range(len(anchors) - 1):
        upper, lower = anchors[n], anchors[n + 1]
        between = [line for line in bands[n] + bands[n + 1] if lower < line.baseline < upper]
        if not between:
            continue
        above = [line for line in bands[n] if line.baseline >= upper]
        below = [line for line in bands[n + 1] if line.baseline <= lower]
        current = sum(1 for line in between if line in bands[n])
        scores = [(_quality(above + between[:k], upper) + _quality(between[k:] + below, lower),
                   k == current) for k in range(len(between) + 1)]
        best = max(range(len(scores)), key=scores.__getitem__)
        bands[n] = above + between[:best]
        bands[n + 1] = between[best:] + below
    return bands


def _cut_end(band: list[Line], anchor: float) -> tuple[str, list[Line]] | None:
    """The end of a label that the page break cut, printed right above the first row's label
    at the top of a continuation (no wider gap between them): (its text, the row's lines),
    when the row's label reads better without those lines. Its text is taken from the row
    label's sub-column (a parent label beside it left out)."""
    whole = _quality(band, anchor)
    found = None
    for k in range(1, len(band)):
        if band[k - 1].baseline <= anchor:
            break
        if (quality := _quality(band[k:], anchor)) > whole:
            whole, found = quality, k
    if found is None or _best_part(band[:found], None)[0] >= MATCH_THRESHOLD:
        return None
    _, _, main = _best_part(band[found:], anchor)
    left = min(g.left for line in main for g in line.glyphs) - 0.01
    text = "\n".join(t for line in band[:found]
                     if (t := text_of([g for g in line.glyphs if g.left >= left])))
    return (text, band[found:]) if text else None


def region_rows(region: Region) -> tuple[list[list[str | None]], bool]:
    """The region's RawTable rows (header first) and whether it ran to the end of its lines
    (a table that may continue on the next page)."""
    if region.relaid:
        region.columns = continued_columns(region.columns, region.lines, region.filled)
    columns = region.columns
    size = sorted(g.size for line in region.lines for g in line.glyphs)[
        sum(len(line.glyphs) for line in region.lines) // 2] if region.lines else 10.0
    edge = min(c.left for c in columns) - 0.3 * size
    anchors: list[tuple[float, dict[int, list[str]]]] = []
    labels: list[Line] = []
    ended = True
    for line in region.lines:
        label = [g for g in line.glyphs if g.x < edge]
        values: dict[int, list[str]] = {}
        intruded = False
        for run in (piece for whole in value_runs([g for g in line.glyphs if g.x >= edge],
                                                  line.size)
                    for piece in split_touching(whole, columns, size)):
            text = text_of(run)
            if not is_value_token(text):
                intruded = intruded or len(run) > 1
                continue
            n = min(range(len(columns)),
                    key=lambda k: columns[k].misalignment(run[0].left, run[-1].right))
            values.setdefault(n, []).append(text)
            region.filled.add(n)
        if intruded and not values:  # prose under the table: the table has ended
            ended = False
            break
        if values:
            if anchors and anchors[-1][0] - line.baseline <= SAME_LINE * size:
                for n, texts in values.items():
                    anchors[-1][1].setdefault(n, []).extend(texts)
            else:
                anchors.append((line.baseline, values))
        if label:
            labels.append(Line(line.baseline, label))
    # a continuation's rows follow the previous page's directly (a row cut by the page break
    # is joined by the interpreter)
    rows: list[list[str | None]] = [] if region.continued else [
        [*region.header, *(c.label for c in columns)]]
    if not anchors:  # label lines only: the end of a row cut by a page break, or blank rows
        blocks = _blocks(labels) if labels else []
        if region.continued and blocks and _best_part(blocks[0], None)[0] < MATCH_THRESHOLD:
            rows.append([_blocktext_of(blocks.pop(0)), *([""] * len(columns))])
        for _, text in _blank_rows(blocks):
            rows.append([text, *([""] * len(columns))])
        return rows, ended
    bands = _bands(labels, [a[0] for a in anchors])
    if region.continued and bands[0]:  # the end of a label cut by the page break comes first
        lead = _blocks(bands[0])
        if (len(lead) > 1 and not _beside(lead[0], anchors[0][0])
                and _best_part(lead[0], None)[0] < MATCH_THRESHOLD):
            rows.append([_blocktext_of(lead[0]), *([""] * len(columns))])
            bands[0] = [line for block in lead[1:] for line in block]
        elif (end := _cut_end(bands[0], anchors[0][0])) is not None:
            rows.append([end[0], *([""] * len(columns))])
            bands[0] = end[1]
    for (baseline, values), band in zip(anchors, bands):
        label, blanks = _row_labels(band, baseline)
        out = [(baseline, [label, *("".join(values.get(n, [])) for n in range(len(columns)))])]
        out += [(y, [text, *([""] * len(columns))]) for y, text in blanks]
        last = len(rows)
        rows.extend(row for _, row in sorted(out, key=lambda r: -r[0]))
    if ended and region.lines[-1].baseline >= anchors[-1][0] and not _label_score(label):
        # the page's last line prints a row whose label reads as no row at all: a label the
        # page break cuts mid-word ("3.补正后申请内" / "容仍不明确"); its lines are read again
        # with the next page's
        top = max([anchors[-1][0], *(line.baseline for line in bands[-1])])
        region.held = [line for line in region.lines if line.baseline <= top]
        del rows[last:]
    elif ended and bands[-1]:  # a label at the page foot that the page break cuts: its start
        _, blocks, main = _best_part(bands[-1], anchors[-1][0])
        last = blocks[-1]
        if (last is not main and last[0].baseline < anchors[-1][0]
                and _best_part(last, None)[0] < MATCH_THRESHOLD):
            rows.append([_blocktext_of(last), *([""] * len(columns))])
    return rows, ended
