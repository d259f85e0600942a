"""Ruling lines and characters of one page -> the RawTable grids the lines draw (pure geometry).

Segments that touch form one table. Their positions, clustered, give the grid; a grid boundary
that no segment draws joins its two cells into one merged region (the way a merged cell is
printed). Each character goes to the region that holds its centre, so a number touching a
border still lands in its cell. A region's text sits at its top-left grid position and the
positions it covers are None: the convention of every adapter (see ``grid.py``).

Coordinates are PDF user space: x to the right, y up. Nothing here knows a label.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from itertools import pairwise
from typing import NamedTuple

# Positions closer than this (points) are one grid line: double borders, stroke widths, the
# 0.3 pt offset of a fake-bold copy.
SNAP = 2.0
# A vertical and a horizontal segment within this distance touch (line ends meet mid-stroke).
TOUCH = 3.0
# A boundary is drawn when segments cover at least this share of it.
DRAWN = 0.5
# A fake-bold copy of a character lies within this distance of the original.
DUPLICATE = 1.0


class Segment(NamedTuple):
    """An axis-aligned ruling line: ``pos`` is y for a horizontal one, x for a vertical one."""

    pos: float
    start: float
    end: float


class Glyph(NamedTuple):  # a tuple: built once per character, so cheap to build
    """One printed character: its text and ink box (centre, edges, and size: the box's larger
    side, about the font size for a CJK character)."""

    text: str
    x: float
    y: float
    left: float
    right: float
    bottom: float
    top: float

    @property
    def size(self) -> float:
        return max(self.right - self.left, self.top - self.bottom)


def cluster(values: list[float], snap: float = SNAP) -> list[float]:
    """Sorted positions with those closer than ``snap`` to their neighbour merged (mean)."""
    groups: list[list[float]] = []
    for value in sorted(values):
        if groups and value - groups[-1][-1] <= snap:
            groups[-1].append(value)
        else:
            groups.append([value])
    return [sum(g) / len(g) for g in groups]


def _touch(h: Segment, v: Segment) -> bool:
    return (h.start - TOUCH <= v.pos <= h.end + TOUCH
            and v.start - TOUCH <= h.pos <= v.end + TOUCH)


def find_root(parent: list[int], node: int) -> int:
    """Union-find over ``parent`` (node -> parent node), halving the path as it goes."""
    while parent[node] != node:
        parent[node] = parent[parent[node]]
        node = parent[node]
    return node


def group_tables(horizontals: list[Segment], verticals: list[Segment]
                 ) -> list[tuple[list[Segment], list[Segment]]]:
    """The sets of touching segments that can be tables (two lines each way at least)."""
    parent = list(range(len(horizontals) + len(verticals)))
    offset = len(horizontals)
    by_x = sorted(range(len(verticals)), key=lambda j: verticals[j].pos)
    xs = [verticals[j].pos for j in by_x]
    for i, h in enumerate(horizontals):  # only the verticals within the horizontal's span
        for j in by_x[bisect_left(xs, h.start - TOUCH):bisect_right(xs, h.end + TOUCH)]:
            if _touch(h, verticals[j]):
                parent[find_root(parent, offset + j)] = find_root(parent, i)
    groups: dict[int, tuple[list[Segment], list[Segment]]] = {}
    for i, h in enumerate(horizontals):
        groups.setdefault(find_root(parent, i), ([], []))[0].append(h)
    for j, v in enumerate(verticals):
        groups.setdefault(find_root(parent, offset + j), ([], []))[1].append(v)
    return [(hs, vs) for hs, vs in groups.values() if len(hs) >= 2 and len(vs) >= 2]


def _coverage(segments: list[Segment], lines: list[float]) -> list[list[tuple[float, float]]]:
    """For each grid line, the merged spans its segments draw."""
    spans: list[list[tuple[float, float]]] = [[] for _ in lines]
    for seg in segments:
        k = bisect_left(lines, seg.pos)  # the nearest line is at k - 1 or k
        k = min((n for n in (k - 1, k) if 0 <= n < len(lines)),
                key=lambda n: abs(lines[n] - seg.pos))
        if abs(lines[k] - seg.pos) <= SNAP:
            spans[k].append((seg.start, seg.end))
    merged = []
    for found in spans:
        out: list[tuple[float, float]] = []
        for lo, hi in sorted(found):
            if out and lo <= out[-1][1] + SNAP:
                out[-1] = (out[-1][0], max(out[-1][1], hi))
            else:
                out.append((lo, hi))
        merged.append(out)
    return merged


def _drawn(spans: list[tuple[float, float]], lo: float, hi: float) -> bool:
    covered = sum(max(0.0, min(hi, b) - max(lo, a)) for a, b in spans)
    return covered >= DRAWN * (hi - lo)


class Grid:
    """One table's grid: column edges left to right, row edges top to bottom, merged regions."""

    def __init__(self, horizontals: list[Segment], verticals: list[Segment]) -> None:
        # The outermost extents close a table whose frame is not drawn.
        self.xs = cluster([v.pos for v in verticals]
                          + [min(h.start for h in horizontals), max(h.end for h in horizontals)])
        upward = cluster([h.pos for h in horizontals]
                         + [min(v.start for v in verticals), max(v.end for v in verticals)])
        self.ys = upward[::-1]  # top first
        self._neg_ys = [-y for y in self.ys]
        self.rows, self.cols = len(self.ys) - 1, len(self.xs) - 1
        self.root = self._regions(_coverage(horizontals, upward)[::-1],
                                  _coverage(verticals, self.xs))

    @property
    def area(self) -> float:
        return (self.xs[-1] - self.xs[0]) * (self.ys[0] - self.ys[-1])

    def _regions(self, row_lines: list[list[tuple[float, float]]],
                 col_lines: list[list[tuple[float, float]]]) -> list[list[int]]:
        """Each grid cell's region: cells not parted by a drawn boundary are one region."""
        cols = self.cols
        parent = list(range(self.rows * cols))
        for r in range(self.rows):
            top, bottom = self.ys[r], self.ys[r + 1]
            for c in range(cols):
                left, right = self.xs[c], self.xs[c + 1]
                if c + 1 < cols and not _drawn(col_lines[c + 1], bottom, top):
                    parent[find_root(parent, r * cols + c + 1)] = find_root(parent, r * cols + c)
                if r + 1 < self.rows and not _drawn(row_lines[r + 1], left, right):
                    parent[find_root(parent, (r + 1) * cols + c)] = find_root(parent, r * cols + c)
        return [[find_root(parent, r * cols + c) for c in range(cols)] for r in range(self.rows)]

    def cell_of(self, glyph: Glyph) -> int | None:
        """The region holding the glyph's centre, or None outside the table."""
        c = bisect_right(self.xs, glyph.x) - 1
        r = bisect_right(self._neg_ys, -glyph.y) - 1
        if 0 <= c < self.cols and 0 <= r < self.rows:
            return self.root[r][c]
        return None

    def rows_of(self, texts: dict[int, str]) -> list[list[str | None]]:
        """The RawTable rows: a region's text at its first (top-left) cell, None where it covers."""
        seen: set[int] = set()
        grid: list[list[str | None]] = []
        for line in self.root:
            row: list[str | None] = []
            for region in line:
                row.append(None if region in seen else texts.get(region, ""))
                seen.add(region)
            grid.append(row)
        return grid


def _unique(glyphs: list[Glyph]) -> list[Glyph]:
    """Without fake-bold copies: the same character printed again within a point of itself."""
    kept: list[Glyph] = []
    seen: dict[str, list[Glyph]] = {}
    for g in glyphs:
        twins = seen.setdefault(g.text, [])
        if any(abs(g.x - t.x) <= DUPLICATE and abs(g.y - t.y) <= DUPLICATE for t in twins):
            continue
        twins.append(g)
        kept.append(g)
    return kept


def cell_text(glyphs: list[Glyph]) -> str:
    """A region's characters as lines (top first, left to right), joined by newlines.

    Taken by their centres from the top, characters join the current line while their ink
    overlaps its height (a decimal point or a quote mark sits off the line's middle but within
    it; the next line starts below it). Within a line a space marks a gap wider than a typical
    character (ink gaps around full-width punctuation are not spaces)."""
    glyphs = sorted(_unique(glyphs), key=lambda g: -g.y)
    if not glyphs:
        return ""
    size = sorted(g.size for g in glyphs)[len(glyphs) // 2]
    lines: list[list[Glyph]] = []
    bottom = float("inf")
    for g in glyphs:
        if not lines or g.top <= bottom:
            lines.append([])
            bottom = g.bottom
        lines[-1].append(g)
        bottom = min(bottom, g.bottom)
    out = []
    for line in lines:
        line.sort(key=lambda g: g.left)
        text = line[0].text
        for prev, g in pairwise(line):
            text += (" " if g.left - prev.right > size else "") + g.text
        out.append(text)
    return "\n".join(out)


def page_tables(horizontals: list[Segment], verticals: list[Segment], glyphs: list[Glyph]
                ) -> list[list[list[str | None]]]:
    """The grids of one page's tables, top to bottom; each character read into one table only
    (the smallest that holds it: a page frame does not swallow the table inside it)."""
    grids = [Grid(hs, vs) for hs, vs in group_tables(horizontals, verticals)]
    grids = [g for g in grids if g.rows and g.cols]
    texts: list[dict[int, list[Glyph]]] = [{} for _ in grids]
    by_area = sorted(range(len(grids)), key=lambda n: grids[n].area)
    for glyph in glyphs:
        for n in by_area:
            region = grids[n].cell_of(glyph)
            if region is not None:
                texts[n].setdefault(region, []).append(glyph)
                break
    order = sorted(range(len(grids)), key=lambda n: -grids[n].ys[0])
    return [grids[n].rows_of({k: cell_text(v) for k, v in texts[n].items()}) for n in order]
