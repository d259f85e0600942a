"""Column labels and text lines of a page printed without ruling lines (pure geometry guided by
the template's column labels).

Characters are grouped into lines by their baselines. The template's column labels
(``extract/schema.py``) are found among them: on one line (standing apart from their
neighbours, or printed edge to edge and split by the labels themselves) or wrapped down a narrow
column over several lines. A header is two or more labels on neighbouring lines. Used by
``borderless.py``. Coordinates are PDF user space: x to the right, y up.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache

from extract.formats.ruling import Glyph
from extract.labels import normalise_label
from extract.schema import SCHEMA

# Characters whose baselines differ by less than this share of the font size are one line.
SAME_LINE = 0.3
# Within a value, characters are closer than this share of the font size (digits touch).
VALUE_GAP = 0.35
# Within a header label, characters are closer than this share of the font size; a neighbour
# closer than ISOLATED on the same line makes a found label part of a longer word.
LABEL_GAP = 0.9
ISOLATED = 0.2
# Lines of one wrapped label are at most this many ink sizes apart (baseline to baseline; a
# CJK character's ink is smaller than its font size).
WRAP_PITCH = 2.5


@dataclass
class Line:
    """Characters on one baseline, left to right."""

    baseline: float
    glyphs: list[Glyph]

    @cached_property
    def size(self) -> float:
        """The typical glyph size (the median): read once the line is complete."""
        return sorted(g.size for g in self.glyphs)[len(self.glyphs) // 2]


@dataclass(frozen=True)
class Column:
    """A column label found in a header: its text and horizontal extent."""

    label: str
    left: float
    right: float

    @property
    def centre(self) -> float:
        return (self.left + self.right) / 2

    def misalignment(self, left: float, right: float) -> float:
        """How far a value's box is from lining up with this column (by either edge or centre)."""
        return min(abs(left - self.left), abs(right - self.right),
                   abs((left + right) / 2 - self.centre))



def _column_labels() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """Every normalised column label of the template, every prefix of one, and every part of
    one (what a wrapped label's later lines print)."""
    labels = {normalise_label(label) for table in SCHEMA.values() for column in table.columns
              for label in column.labels}
    prefixes = {label[:n] for label in labels for n in range(1, len(label) + 1)}
    parts = {label[a:b] for label in labels for a in range(len(label))
             for b in range(a + 1, len(label) + 1)}
    return frozenset(labels), frozenset(prefixes), frozenset(parts)


_LABELS, _PREFIXES, _PARTS = _column_labels()
# Header words of the template's tables (信息内容) that a padding-free header prints edge to
# edge with its column labels: no column themselves.
_MARKERS = frozenset(normalise_label(m) for table in SCHEMA.values() for m in table.markers)
_MARKER_PREFIXES = frozenset(m[:n] for m in _MARKERS for n in range(1, len(m) + 1))
_HEADER_WORDS = _LABELS | _MARKERS


@lru_cache(maxsize=8192)
def _in_labels(char: str) -> bool:
    """Whether a printed character is one of a column label's (normalised: full-width and
    traditional forms count); most characters of a page's prose are not."""
    norm = normalise_label(char)
    return bool(norm) and norm in _PARTS


def lines_of(glyphs: list[Glyph], baselines: list[float]) -> list[Line]:
    """The glyphs grouped by baseline, top line first."""
    order = sorted(range(len(glyphs)), key=lambda n: -baselines[n])
    # measured by the page's typical glyph: a dot's own size is no measure
    sizes = [max(g.right - g.left, g.top - g.bottom) for g in glyphs]
    size = sorted(sizes)[len(glyphs) // 2]
    lines: list[Line] = []
    for n in order:
        if lines and lines[-1].baseline - baselines[n] <= SAME_LINE * max(size, sizes[n]):
            lines[-1].glyphs.append(glyphs[n])
        else:
            lines.append(Line(baselines[n], [glyphs[n]]))
    for line in lines:
        line.glyphs.sort(key=lambda g: g.left)
    return lines


def runs(glyphs: list[Glyph], gap: float, size: float) -> list[list[Glyph]]:
    """Glyphs (left to right) split where the ink gap exceeds ``gap`` times ``size``."""
    runs: list[list[Glyph]] = []
    limit = gap * size
    for g in glyphs:
        if runs and g.left - runs[-1][-1].right <= limit:
            runs[-1].append(g)
        else:
            runs.append([g])
    return runs


def text_of(glyphs: list[Glyph]) -> str:
    return "".join(g.text for g in glyphs)


def _isolated(line: Line, start: int, end: int) -> bool:
    """Whether glyphs start..end of the line are not glued to a neighbour on either side; a
    neighbour that is a whole column label or header word of its own (信息内容 printed edge to
    edge with 采购项目数量 when cells have no padding) does not glue."""
    size = line.size
    glyphs = line.glyphs
    first, last = start, end
    while first > 0 and glyphs[first].left - glyphs[first - 1].right <= ISOLATED * size:
        first -= 1
    while (last + 1 < len(glyphs)
           and glyphs[last + 1].left - glyphs[last].right <= ISOLATED * size):
        last += 1
    return all(not part or normalise_label(text_of(part)) in _HEADER_WORDS
               for part in (glyphs[first:start], glyphs[end + 1:last + 1]))


def _pieces(line: Line) -> list[tuple[int, int, str, bool]]:
    """The line's runs of glyphs that print a column label or a part of one, and whether each
    is isolated (a part of a wrapped label in a narrow column may touch its neighbours)."""
    out = []
    glyphs = line.glyphs
    limit = LABEL_GAP * line.size
    for start in range(len(glyphs)):
        if not _in_labels(glyphs[start].text):
            continue
        text = ""
        for end in range(start, len(glyphs)):
            if end > start and glyphs[end].left - glyphs[end - 1].right > limit:
                break
            text += glyphs[end].text
            norm = normalise_label(text)
            if norm not in _PARTS:
                break
            out.append((start, end, norm, _isolated(line, start, end)))
    return out


def find_columns(lines: list[Line]) -> list[tuple[int, int, Column]]:
    """Column labels printed on these lines, each as (first line, last line, Column); a label
    may wrap onto the lines below within its column. The longest reading of a start wins."""
    found: list[tuple[int, int, Column]] = []
    pieces = [_pieces(line) for line in lines]
    for n, line in enumerate(lines):
        for start, end, norm, isolated in pieces[n]:
            if norm not in _PREFIXES:
                continue
            best = _extend(lines, pieces, n, norm, line.glyphs[start].left,
                           line.glyphs[end].right, isolated)
            if best is not None:
                found.append(best)
    for n, line in enumerate(lines):  # labels printed edge to edge (no cell padding)
        for run in runs(line.glyphs, ISOLATED, line.size):
            found.extend((n, n, column) for column in _segmented(run))
    # keep the longest label at any place: "其他" is also the start of "其他结果"
    found.sort(key=lambda f: -len(f[2].label))
    kept: list[tuple[int, int, Column]] = []
    for item in found:
        if not any(_overlap(item, other) for other in kept):
            kept.append(item)
    kept += _between_found(lines, kept)
    return sorted(kept, key=lambda f: (f[0], f[2].left))


def _between_found(lines: list[Line], found: list[tuple[int, int, Column]]
                   ) -> list[tuple[int, int, Column]]:
    """Whole labels printed edge to edge with parts of labels already found (cells without
    padding: "公益服务其他" is 社会公益组织's and 法律服务机构's second lines, then 其他): what
    is left of a touching run once the found labels' characters are taken out."""
    more: list[tuple[int, int, Column]] = []
    for n, line in enumerate(lines):
        covering = [c for first, last, c in found if first <= n <= last]
        if not covering:
            continue
        for run in runs(line.glyphs, ISOLATED, line.size):
            free = [k for k, g in enumerate(run)
                    if not any(c.left - 0.01 <= g.left and g.right <= c.right + 0.01
                               for c in covering)]
            if not free or len(free) == len(run) or free[-1] - free[0] + 1 != len(free):
                continue
            rest = run[free[0]:free[-1] + 1]
            label = normalise_label(text_of(rest))
            item = (n, n, Column(label, rest[0].left, rest[-1].right))
            if label in _LABELS and not any(_overlap(item, other) for other in found + more):
                more.append(item)
    return more


def _segmented(run: list[Glyph]) -> list[Column]:
    """A run of touching characters that is wholly a sequence of two or more column labels
    ("结果维持结果纠正…" when the cells have no padding; a header word such as 信息内容 may be
    one of them), as those labels; else nothing."""
    if len(run) < 4 or normalise_label(text_of(run)) in _LABELS:
        return []
    # ways[j]: a split of run[:j] into labels (the fewest labels), or None
    ways: list[list[tuple[int, int]] | None] = [[]] + [None] * len(run)
    for i in range(len(run)):
        if ways[i] is None:
            continue
        text = ""
        for j in range(i + 1, len(run) + 1):
            text += run[j - 1].text
            norm = normalise_label(text)
            if norm not in _PREFIXES and norm not in _MARKER_PREFIXES:
                break
            if ((norm in _LABELS or norm in _MARKERS)
                    and (ways[j] is None or len(ways[i]) + 1 < len(ways[j]))):
                ways[j] = [*ways[i], (i, j)]
    split = ways[-1]
    if not split or len(split) < 2:
        return []
    return [Column(label, run[i].left, run[j - 1].right) for i, j in split
            if (label := normalise_label(text_of(run[i:j]))) in _LABELS]


def _extend(lines: list[Line], pieces: list, n: int, norm: str, left: float, right: float,
            isolated: bool) -> tuple[int, int, Column] | None:
    """The label that ``norm`` (on line ``n``) starts, continued down its column if wrapped.
    A label on one line must stand apart ("其他" inside "法人或其他组织" is no column label)."""
    best = (n, n, Column(norm, left, right)) if norm in _LABELS and isolated else None
    for k in range(n + 1, len(lines)):  # the next lines of the label's column
        if lines[n].baseline - lines[k].baseline > WRAP_PITCH * lines[n].size:
            break
        for start, end, more, _ in pieces[k]:
            lo, hi = lines[k].glyphs[start].left, lines[k].glyphs[end].right
            joined = norm + more
            shared = min(hi, right) - max(lo, left)
            if shared > 0.5 * min(hi - lo, right - left) and joined in _PREFIXES:
                deeper = _extend(lines, pieces, k, joined, min(left, lo), max(right, hi), True)
                if deeper is not None and (best is None
                                           or len(deeper[2].label) > len(best[2].label)):
                    best = (n, deeper[1], deeper[2])
    return best


def _overlap(a: tuple[int, int, Column], b: tuple[int, int, Column]) -> bool:
    lines = a[0] <= b[1] and b[0] <= a[1]
    return lines and a[2].left < b[2].right and b[2].left < a[2].right


def header_blocks(lines: list[Line], found: list[tuple[int, int, Column]]
             ) -> list[tuple[int, int, list[Column]]]:
    """Header blocks: found labels on neighbouring lines, two at least; (first, last, columns)."""
    blocks: list[tuple[int, int, list[Column]]] = []
    for first, last, column in sorted(found, key=lambda f: f[0]):
        if blocks and first <= blocks[-1][1] + 1 and (
                lines[blocks[-1][1]].baseline - lines[first].baseline
                <= WRAP_PITCH * 2 * lines[first].size or first <= blocks[-1][1]):
            top, bottom, columns = blocks[-1]
            blocks[-1] = (top, max(bottom, last), [*columns, column])
        else:
            blocks.append((first, last, [column]))
    return [(a, b, sorted(cols, key=lambda c: c.left)) for a, b, cols in blocks if len(cols) >= 2]



def is_column_label(text: str) -> bool:
    """Whether a printed text is a template column label (after normalising)."""
    return normalise_label(text) in _LABELS


def stacked_columns(lines: list[Line]) -> list[Column]:
    """Column labels written one character a line down narrow columns, read down each column
    whatever the lines between (a page break may leave a gap in one column and not in its
    neighbours): characters standing alone on their lines, stacked by their extents."""
    stacks: list[list[Glyph]] = []
    for line in lines:
        for run in runs(line.glyphs, LABEL_GAP, line.size):
            if len(run) != 1:
                continue
            glyph = run[0]
            home = next((s for s in stacks if s[0].left < glyph.x < s[0].right), None)
            if home is None:
                stacks.append([glyph])
            else:
                home.append(glyph)
    columns = [Column(label, min(g.left for g in s), max(g.right for g in s)) for s in stacks
               if (label := normalise_label(text_of(s))) in _LABELS]
    return sorted(columns, key=lambda c: c.left)
