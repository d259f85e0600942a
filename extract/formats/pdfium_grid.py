"""PDF reports, fast: characters and ruling lines read through PDFium, cells read from the grid
the lines draw.

Generic table finders (pdfplumber, camelot) spend their time rediscovering a layout the report
format fixes. This adapter reads each page once through PDFium: the text (as ``pdf.py`` does, for
the metadata), every character's box (one call per character, far cheaper than asking PDFium for
text inside rectangles), and the page's path objects as horizontal and vertical segments. The
geometry in ``ruling.py`` turns them into the RawTable grids every adapter produces; the
interpreter then finds the template's labels in them and stitches tables split across pages.

Characters outside every ruled table are read by ``borderless.py``: a table printed without
ruling lines gives the same kind of grid, from baselines and the template's column labels.
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pypdfium2
import pypdfium2.raw as pdfium_c

from extract.errors import ExtractionError
from extract.formats.borderless_pages import Box, UnruledReader, ruled_boxes
from extract.formats.pdf import open_document, require_text, text_pages
from extract.formats.ruling import Glyph, Segment, page_tables
from extract.interpret import interpret
from extract.model import Content, RawTable
from extract.schema import TEMPLATED_TABLES, all_keys

NAME = "pdfium-grid"
VERSION = "4"  # 2: tables without ruling lines; 3: read only where ruled tables leave cells;
# 4: pages read through pdf.text_pages

# A path whose box is at most this thick (points) is a ruling line, whatever its drawing mode.
THIN = 3.5
# Shorter marks are not ruling lines (bullets, dots, tick marks).
MIN_LENGTH = 4.0

Matrix = tuple[float, float, float, float, float, float]
_IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
# A page's /Rotate (clockwise, degrees) as the turn from user space to the page as displayed, so
# that rows run across and down as a reader sees them (offsets do not matter to a grid).
_ROTATIONS: dict[int, Matrix] = {0: _IDENTITY, 90: (0.0, -1.0, 1.0, 0.0, 0.0, 0.0),
                                 180: (-1.0, 0.0, 0.0, -1.0, 0.0, 0.0),
                                 270: (0.0, 1.0, -1.0, 0.0, 0.0, 0.0)}


def _apply(m: Matrix, x: float, y: float) -> tuple[float, float]:
    return m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5]


def _compose(inner: Matrix, outer: Matrix) -> Matrix:
    """The matrix that applies ``inner`` and then ``outer``."""
    a, b, c, d, e, f = inner
    x0, y0 = _apply(outer, e, f)
    return (outer[0] * a + outer[2] * b, outer[1] * a + outer[3] * b,
            outer[0] * c + outer[2] * d, outer[1] * c + outer[3] * d, x0, y0)


def _box(obj, outer: Matrix) -> tuple[float, float, float, float]:
    """The object's bounds on the page (left, bottom, right, top)."""
    left, b, r, t = ctypes.c_float(), ctypes.c_float(), ctypes.c_float(), ctypes.c_float()
    pdfium_c.FPDFPageObj_GetBounds(obj, left, b, r, t)
    if outer == _IDENTITY:
        return left.value, b.value, r.value, t.value
    xs, ys = zip(*(_apply(outer, x, y) for x in (left.value, r.value)
                   for y in (b.value, t.value)), strict=True)
    return min(xs), min(ys), max(xs), max(ys)


def _add_box(box: tuple[float, float, float, float], hs: list[Segment], vs: list[Segment]
             ) -> bool:
    """A thin box as the ruling line along its middle; False if the box is not thin."""
    left, bottom, right, top = box
    width, height = right - left, top - bottom
    if height <= THIN and width >= MIN_LENGTH:
        hs.append(Segment((bottom + top) / 2, left, right))
    elif width <= THIN and height >= MIN_LENGTH:
        vs.append(Segment((left + right) / 2, bottom, top))
    else:
        return width <= THIN and height <= THIN  # a dot: nothing to draw, but handled
    return True


def _subpaths(obj, matrix: Matrix) -> Iterator[list[tuple[float, float]]]:
    """The path's runs of straight edges as page points (a curve ends a run)."""
    points: list[tuple[float, float]] = []
    start = (0.0, 0.0)
    x, y = ctypes.c_float(), ctypes.c_float()
    for n in range(pdfium_c.FPDFPath_CountSegments(obj)):
        segment = pdfium_c.FPDFPath_GetPathSegment(obj, n)
        pdfium_c.FPDFPathSegment_GetPoint(segment, x, y)
        kind = pdfium_c.FPDFPathSegment_GetType(segment)
        point = _apply(matrix, x.value, y.value)
        if kind == pdfium_c.FPDF_SEGMENT_LINETO:
            points.append(point)
        else:
            if len(points) > 1:
                yield points
            points = [point]
            if kind == pdfium_c.FPDF_SEGMENT_MOVETO:
                start = point
        if pdfium_c.FPDFPathSegment_GetClose(segment):
            points.append(start)
    if len(points) > 1:
        yield points


def _add_path(obj, outer: Matrix, hs: list[Segment], vs: list[Segment]) -> None:
    """A path's ruling lines: the path itself when thin, else its straight edges (stroked) or
    its thin subpaths (filled; a large filled box is a cell's shading, not a line)."""
    if _add_box(_box(obj, outer), hs, vs):
        return
    fill, stroke = ctypes.c_int(), ctypes.c_int()
    pdfium_c.FPDFPath_GetDrawMode(obj, fill, stroke)
    if not stroke.value and pdfium_c.FPDFPath_CountSegments(obj) <= 5:
        return  # one filled box, and not a thin one: shading
    raw = pdfium_c.FS_MATRIX()
    pdfium_c.FPDFPageObj_GetMatrix(obj, raw)
    matrix = _compose((raw.a, raw.b, raw.c, raw.d, raw.e, raw.f), outer)
    for points in _subpaths(obj, matrix):
        if not stroke.value:
            xs, ys = [p[0] for p in points], [p[1] for p in points]
            _add_box((min(xs), min(ys), max(xs), max(ys)), hs, vs)
            continue
        for (x0, y0), (x1, y1) in pairwise(points):
            _add_box((min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)), hs, vs)


def _collect(objects: Iterator, outer: Matrix, hs: list[Segment], vs: list[Segment]) -> None:
    for obj in objects:
        kind = pdfium_c.FPDFPageObj_GetType(obj)
        if kind == pdfium_c.FPDF_PAGEOBJ_PATH:
            _add_path(obj, outer, hs, vs)
        elif kind == pdfium_c.FPDF_PAGEOBJ_FORM:  # a form XObject: its objects, in its space
            raw = pdfium_c.FS_MATRIX()
            pdfium_c.FPDFPageObj_GetMatrix(obj, raw)
            inner = _compose((raw.a, raw.b, raw.c, raw.d, raw.e, raw.f), outer)
            _collect((pdfium_c.FPDFFormObj_GetObject(obj, n)
                      for n in range(pdfium_c.FPDFFormObj_CountObjects(obj))), inner, hs, vs)


def rulings(page: pypdfium2.PdfPage, turn: Matrix = _IDENTITY
            ) -> tuple[list[Segment], list[Segment]]:
    """The page's horizontal and vertical ruling lines (as displayed: ``turn``)."""
    hs: list[Segment] = []
    vs: list[Segment] = []
    handle = page.raw
    _collect((pdfium_c.FPDFPage_GetObject(handle, n)
              for n in range(pdfium_c.FPDFPage_CountObjects(handle))), turn, hs, vs)
    return hs, vs


def glyphs(textpage: pypdfium2.PdfTextPage, turn: Matrix = _IDENTITY,
           baselines: list[float] | None = None) -> list[Glyph]:
    """Every printed character with its ink box (as displayed: ``turn``). PDFium's loose box is
    the font's, which for a vertically written label is hundreds of points wide: not used.
    Spaces and line breaks are left out. ``baselines`` (when given) receives each character's
    baseline height, in the same order: what a table without ruling lines is read by."""
    handle = textpage.raw
    left, right, bottom, top = ctypes.c_double(), ctypes.c_double(), ctypes.c_double(), \
        ctypes.c_double()
    origin_x, origin_y = ctypes.c_double(), ctypes.c_double()
    get_unicode, get_box = pdfium_c.FPDFText_GetUnicode, pdfium_c.FPDFText_GetCharBox
    get_origin = pdfium_c.FPDFText_GetCharOrigin
    out: list[Glyph] = []
    for n in range(pdfium_c.FPDFText_CountChars(handle)):
        code = get_unicode(handle, n)
        if code <= 32 or not get_box(handle, n, left, right, bottom, top):
            continue
        char = chr(code)
        if char.isspace():
            continue
        x0, x1, y0, y1 = left.value, right.value, bottom.value, top.value
        if turn is not _IDENTITY:
            (x0, y0), (x1, y1) = _apply(turn, x0, y0), _apply(turn, x1, y1)
            x0, x1, y0, y1 = min(x0, x1), max(x0, x1), min(y0, y1), max(y0, y1)
        out.append(Glyph(char, (x0 + x1) / 2, (y0 + y1) / 2, x0, x1, y0, y1))
        if baselines is not None:
            get_origin(handle, n, origin_x, origin_y)
            baselines.append(_apply(turn, origin_x.value, origin_y.value)[1])
    return out


def _reads_every_cell(tables: list[RawTable]) -> bool:
    """Whether these tables alone give every cell the template asks of the report (both
    templated tables' templates decided): a table without ruling lines can add nothing then."""
    reading = interpret(tables)
    if any(name not in reading.templates for name in TEMPLATED_TABLES):
        return False
    return set(all_keys(reading.templates, reading.extra_columns)) <= reading.cells.keys()


def read_pdf_fast(path: Path) -> Content:
    """The document's text and its tables (ruled, then those without ruling lines), in page
    order. The characters outside ruled tables are read for tables without ruling lines only
    when the ruled tables leave a template cell unread: a ruled report pays nothing for it."""
    document = open_document(path)
    texts: list[str] = []
    empty: list[int] = []
    ruled: list[list[list[list[str | None]]]] = []  # each page's ruled grids
    # each page's characters, their baselines and its ruled tables' boxes (None: no text)
    probes: list[tuple[list[Glyph], list[float], list[Box]] | None] = []
    try:
        for number, page, textpage, text in text_pages(document):
            texts.append(text)
            ruled.append([])
            probes.append(None)
            if not text.strip():
                empty.append(number)
            else:
                turn = _ROTATIONS.get(page.get_rotation() % 360, _IDENTITY)
                hs, vs = rulings(page, turn)
                baselines: list[float] = []
                chars = glyphs(textpage, turn, baselines)
                if hs and vs:
                    ruled[-1] = page_tables(hs, vs, chars)
                probes[-1] = (chars, baselines, ruled_boxes(hs, vs))
    except pypdfium2.PdfiumError as exc:
        raise ExtractionError("corrupt", f"PDF page cannot be read ({exc})") from exc
    finally:
        document.close()
    require_text(texts)
    tables = [RawTable(rows=rows, page=number + 1, index=0)
              for number, grids in enumerate(ruled) for rows in grids]
    if not _reads_every_cell(tables):
        unruled = UnruledReader()
        tables = []
        for number, (grids, probe) in enumerate(zip(ruled, probes)):
            found = unruled.page(*probe) if probe is not None else []
            tables += [RawTable(rows=rows, page=number + 1, index=0) for rows in grids + found]
    for index, table in enumerate(tables):
        table.index = index
    return Content(text="\n".join(texts), tables=tables, extractor=NAME,
                   extractor_version=VERSION, pages_without_text=empty)
