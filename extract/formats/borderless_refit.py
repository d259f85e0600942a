"""Columns of a table printed without ruling lines that continues on a new page laid out anew.

A table split in two (a page break in the source between its rows) may be laid out twice: an
HTML table autofits its columns to its own content, so the part without a header gets column
widths of its own and the previous page's column labels no longer sit above its values. The
values still print in the same columns, in order, each column's values stacked: their extents
overlap within a column and are apart between columns. A continuation whose value stacks do not
line up one to one with the carried columns gets columns from the stacks themselves; a column
that is blank in every row of the part (no stack) is put where the stacks stand furthest apart
(a blank column still takes its cell padding). Used by ``borderless.py``.
"""

from __future__ import annotations

from itertools import combinations, pairwise

from extract.formats.borderless_columns import (
    LABEL_GAP,
    VALUE_GAP,
    Column,
    Line,
    runs,
    text_of,
)
from extract.formats.ruling import Glyph
from extract.values import is_value_token

# A stack this far (a share of the font size) from its carried column does not line up with it.
MISALIGNED = 0.5
# A value printed against its cell's edge lines up with the column label's edge this closely.
ALIGNED = 0.3


def value_runs(glyphs: list[Glyph], size: float) -> list[list[Glyph]]:
    """The line's printed values: runs of touching characters; a piece that is no value by
    itself (a unit or a decimal point printed apart in a fallback or monospaced font) joined to
    its neighbour."""
    out: list[list[Glyph]] = []
    for run in runs(glyphs, VALUE_GAP, size):
        if (out and not (is_value_token(text_of(run)) and is_value_token(text_of(out[-1])))
                and run[0].left - out[-1][-1].right
                <= LABEL_GAP * size):
            out[-1].extend(run)
        else:
            out.append(run)
    return out


def _edge_aligned(run: list[Glyph], column: Column, size: float) -> bool:
    return min(abs(run[0].left - column.left), abs(run[-1].right - column.right)) \
        <= ALIGNED * size


def split_touching(run: list[Glyph], columns: list[Column], size: float) -> list[list[Glyph]]:
    """A run of touching characters that prints the values of neighbouring columns (cells
    without padding, both values against the same cell edge: "1" and "859" print "1859") as
    those values: cut where each part lines up, by an edge, with a column of its own."""
    for cut in range(1, len(run)):
        head, tail = run[:cut], run[cut:]
        if not (is_value_token(text_of(head)) and is_value_token(text_of(tail))):
            continue
        first = [k for k, c in enumerate(columns) if _edge_aligned(head, c, size)]
        rest = [k for k, c in enumerate(columns) if _edge_aligned(tail, c, size)]
        if first and rest and max(first) < min(rest):
            return [head, *split_touching(tail, columns, size)]
    return [run]


def _stacks(lines: list[Line], edge: float) -> list[tuple[float, float]]:
    """The horizontal extents of the values printed right of ``edge`` after each line's label,
    merged where they overlap: one (left, right) per column that prints a value, left to
    right."""
    spans = []
    for line in lines:
        pieces = value_runs([g for g in line.glyphs if g.x >= edge], line.size)
        words = [n for n, run in enumerate(pieces) if not is_value_token(text_of(run))]
        start = words[-1] + 1 if words else 0
        spans += [(run[0].left, run[-1].right) for run in pieces[start:]]
    stacks: list[tuple[float, float]] = []
    for left, right in sorted(spans):
        if stacks and left <= stacks[-1][1]:
            stacks[-1] = (stacks[-1][0], max(stacks[-1][1], right))
        else:
            stacks.append((left, right))
    return stacks


def _lines_up(columns: list[Column], stacks: list[tuple[float, float]], size: float) -> bool:
    """Whether each stack has its own carried column, in order, and lines up with it."""
    last = -1
    for left, right in stacks:
        near = min(range(len(columns)), key=lambda k: columns[k].misalignment(left, right))
        if near <= last or columns[near].misalignment(left, right) > MISALIGNED * size:
            return False
        last = near
    return True


def _widest_gaps(stacks: list[tuple[float, float]], right_edge: float, count: int
                 ) -> list[int]:
    """Where ``count`` blank columns go by geometry alone: into the gaps after each stack (the
    last: to the table's right edge, where half a cell's padding stands), the widest share
    first. The blank columns before the first stack and after each stack."""
    gaps = [b[0] - a[1] for a, b in pairwise(stacks)]
    gaps.append(2 * max(0.0, right_edge - stacks[-1][1]))
    held = [0] * len(gaps)
    for _ in range(count):
        held[max(range(len(gaps)), key=lambda k: gaps[k] / (held[k] + 1))] += 1
    return [0, *held]


def _held(blanks: set[int], width: int) -> list[int]:
    """The blank columns before the first filled column and after each one."""
    held = [0]
    for n in range(width):
        if n in blanks:
            held[-1] += 1
        else:
            held.append(0)
    return held


def continued_columns(columns: list[Column], lines: list[Line], filled: set[int] | None = None
                      ) -> list[Column]:
    """The columns of lines that may be laid out apart from ``columns`` (a continuation
    without a header of its own, or rows under a header the page break left on the previous
    page): ``columns`` when the values line up with them, else columns at the value stacks.
    ``filled``: the columns that printed a value before the page break; a column blank in
    every row so far is the likeliest to be blank in the rest too."""
    if not lines:
        return columns
    size = sorted(g.size for line in lines for g in line.glyphs)[
        sum(len(line.glyphs) for line in lines) // 2]
    stacks = _stacks(lines, min(c.left for c in columns) - 0.3 * size)
    if not stacks or len(stacks) > len(columns) or _lines_up(columns, stacks, size):
        return columns
    right_edge = max(max(c.right for c in columns), stacks[-1][1])
    geometric = _widest_gaps(stacks, right_edge, len(columns) - len(stacks))
    # a blank in every row so far first, then the nearest to the geometry
    width = len(columns)
    blanks = max((set(c) for c in combinations(range(width), width - len(stacks))),
                 key=lambda b: (len(set(range(width)) - b & (filled or set())),
                                -sum(abs(h - g) for h, g in zip(_held(b, width), geometric))))
    spans: list[tuple[float, float]] = []
    queue = list(stacks)
    for n in range(len(columns)):
        if n not in blanks:
            spans.append(queue.pop(0))
            continue
        # a blank column: a point between its neighbours (no value lines up with it)
        before = spans[-1][1] if spans else stacks[0][0] - size
        after = queue[0][0] if queue else right_edge
        spans.append(((before + after) / 2, (before + after) / 2))
    return [Column(c.label, left, right) for c, (left, right) in zip(columns, spans)]
