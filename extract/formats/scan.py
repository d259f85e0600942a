"""Scanned tables: a page image -> the RawTable grids its ruling lines draw, each cell read by OCR.

The image is straightened (the skew of the table lines), its ruling lines are found with
morphology (long thin runs of ink), and the lines become the segments of ``ruling.py``, whose
``Grid`` lays out rows, columns and merged regions exactly as for a PDF's drawn lines. Each
region is then cut out without its borders and read by the OCR engine (``ocr_engine.py``).
Coordinates are converted to points (``scale`` pixels per point) so that ``ruling.py``'s
tolerances mean the same as on a PDF page.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from extract.formats.ocr_engine import MARGIN_PX, CellReader, Reading
from extract.formats.ruling import Grid, Segment, group_tables
from extract.model import RawTable

# A ruling line is a run of ink at least this long (points): longer than any character stroke.
LINE_MIN_PT = 22.0
# Skew is measured on lines at least this share of the page wide and corrected above this angle.
SKEW_LINE_SHARE = 0.3
SKEW_MIN_DEGREES = 0.05
SKEW_MAX_DEGREES = 5.0
# Ink within this many pixels of a cell's ruling lines belongs to the lines, not to the text.
BORDER_PX = 4
# How far a found line run reaches past its true end: half the joining dilation (9 px) and
# half a blurred crossing line.
END_TRIM_PX = 7
# Ink rows this close belong to one line of text; a line at a cell's edge shorter than this
# share of the tallest line is a glyph cut by the border.
LINE_GAP_PX = 3
CUT_LINE_SHARE = 0.6
# A printed digit's width over its height (Song/Times digits: about 0.5-0.75).
DIGIT_ASPECT = 0.7
# A cell with fewer ink pixels than this (after its borders are removed) is blank.
BLANK_INK_PX = 12


@dataclass
class ScannedTable:
    """A table read from an image: its RawTable and each printed cell's OCR confidence (0-100),
    None where the cell is blank or covered by a merged cell."""

    table: RawTable
    confidence: list[list[float | None]] = field(default_factory=list)


def straighten(gray: np.ndarray, scale: float) -> np.ndarray:
    """The image rotated so that its long horizontal lines are level.

    The skew is the median direction of the long horizontal line runs (a line fitted through
    each run's pixels); at a skew of a few degrees a line still leaves runs longer than
    ``LINE_MIN_PT``, and runs of one line join diagonally into one component."""
    height, width = gray.shape
    _, ink = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    length = max(int(LINE_MIN_PT * scale), 10)
    ink = cv2.morphologyEx(ink, cv2.MORPH_OPEN,
                           cv2.getStructuringElement(cv2.MORPH_RECT, (length, 1)))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    angles = []
    for label in range(1, count):
        x, y, w, h, _area = stats[label]
        if w < width * SKEW_LINE_SHARE:
            continue
        ys, xs = np.nonzero(labels[y:y + h, x:x + w] == label)
        vx, vy, _x, _y = cv2.fitLine(np.column_stack([xs, ys]).astype(np.float32),
                                     cv2.DIST_L2, 0, 0.01, 0.01).ravel()
        angle = float(np.degrees(np.arctan2(vy, vx)))
        angle = (angle + 90) % 180 - 90  # the line's direction, either way along it
        if abs(angle) <= SKEW_MAX_DEGREES:
            angles.append(angle)
    if not angles:
        return gray
    angle = float(np.median(angles))
    if abs(angle) < SKEW_MIN_DEGREES:
        return gray
    turn = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    return cv2.warpAffine(gray, turn, (width, height), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=255)


def _segments(mask: np.ndarray, horizontal: bool, scale: float) -> list[Segment]:
    """Each connected run of line ink as a Segment in points (y up)."""
    height = mask.shape[0]
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    found = []
    for x, y, w, h, _area in stats[1:count]:
        # without the joining dilation and the ink of the crossing line at each end: the run
        # then ends on the crossing line's middle, as a PDF's drawn segment does
        if horizontal:
            x, w = x + END_TRIM_PX, w - 2 * END_TRIM_PX
        else:
            y, h = y + END_TRIM_PX, h - 2 * END_TRIM_PX
        if w <= 0 or h <= 0:
            continue
        if horizontal:
            found.append(Segment((height - (y + h / 2)) / scale, x / scale, (x + w) / scale))
        else:
            found.append(Segment((x + w / 2) / scale, (height - y - h) / scale,
                                 (height - y) / scale))
    return found


def ruling_masks(ink: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """The horizontal and vertical line ink of a binary (ink = 255) image."""
    length = max(int(LINE_MIN_PT * scale), 10)
    horizontal = cv2.morphologyEx(ink, cv2.MORPH_OPEN,
                                  cv2.getStructuringElement(cv2.MORPH_RECT, (length, 1)))
    vertical = cv2.morphologyEx(ink, cv2.MORPH_OPEN,
                                cv2.getStructuringElement(cv2.MORPH_RECT, (1, length)))
    # a blurred or JPEG line breaks into pieces a few pixels apart: join them
    horizontal = cv2.dilate(horizontal, cv2.getStructuringElement(cv2.MORPH_RECT, (9, 1)))
    vertical = cv2.dilate(vertical, cv2.getStructuringElement(cv2.MORPH_RECT, (1, 9)))
    return horizontal, vertical


def numeric_shape(ink: np.ndarray) -> int:
    """How many digits the ink holds when it looks like one line of digits (every
    mark about as tall as the tallest and narrower than tall, apart from dots: a decimal point,
    a thousands comma), else 0."""
    count, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    marks = [s for s in stats[1:count] if s[4] >= 3]
    if not marks or len(marks) > 16:
        return 0
    tallest = max(s[3] for s in marks)
    top = min(s[1] for s in marks)
    bottom = max(s[1] + s[3] for s in marks)
    if bottom - top > 1.4 * tallest:  # more than one line
        return 0
    digits = 0
    for _x, _y, w, h, _area in marks:
        dot = h < 0.4 * tallest and w < 0.4 * tallest
        # a mark wider than tall is digits that blur joined, and then full height
        if not dot and (h < 0.6 * tallest or (w > 0.9 * h and h < 0.85 * tallest)):
            return 0
        if not dot:  # marks that blur joined count as the digits their width holds
            digits += max(1, round(w / (DIGIT_ASPECT * h)))
    return digits


def _region_boxes(grid: Grid, height: int, scale: float) -> dict[int, tuple[int, int, int, int]]:
    """Each merged region's pixel box (left, top, right, bottom)."""
    boxes: dict[int, tuple[int, int, int, int]] = {}
    for r, line in enumerate(grid.root):
        for c, region in enumerate(line):
            box = (int(grid.xs[c] * scale), int(height - grid.ys[r] * scale),
                   int(grid.xs[c + 1] * scale), int(height - grid.ys[r + 1] * scale))
            old = boxes.get(region, box)
            boxes[region] = (min(old[0], box[0]), min(old[1], box[1]),
                             max(old[2], box[2]), max(old[3], box[3]))
    return boxes


def text_lines(ink: np.ndarray) -> list[tuple[int, int]]:
    """The rows (start, end) of each line of text in a cell's ink, top first.

    A first or last line much shorter than the others is a glyph cut by the border (print that
    overflows its cell): it is left out; the label matcher forgives the missing character,
    where Tesseract would misread the whole cell around it."""
    inked = np.count_nonzero(ink, axis=1) > 0
    runs: list[list[int]] = []
    for y, on in enumerate(inked):
        if on and runs and y - runs[-1][1] <= LINE_GAP_PX:
            runs[-1][1] = y + 1
        elif on:
            runs.append([y, y + 1])
    if len(runs) > 1:
        tallest = max(b - a for a, b in runs)
        ends = (0, len(runs) - 1)
        runs = [r for n, r in enumerate(runs)
                if n not in ends or r[1] - r[0] >= CUT_LINE_SHARE * tallest]
    return [(a, b) for a, b in runs]


def _read_region(gray: np.ndarray, ink: np.ndarray, lines: np.ndarray,
                 box: tuple[int, int, int, int], reader: CellReader) -> Reading | None:
    left, top, right, bottom = box
    left, top = left + BORDER_PX, top + BORDER_PX
    right, bottom = right - BORDER_PX, bottom - BORDER_PX
    if right - left < 4 or bottom - top < 4:
        return None
    text_ink = ink[top:bottom, left:right].copy()
    text_ink[lines[top:bottom, left:right] > 0] = 0
    if cv2.countNonZero(text_ink) < BLANK_INK_PX:
        return None
    cell = gray[top:bottom, left:right].copy()
    cell[lines[top:bottom, left:right] > 0] = 255
    readings = []
    for y0, y1 in text_lines(text_ink):
        xs = np.nonzero(np.count_nonzero(text_ink[y0:y1], axis=0))[0]
        x0, x1 = xs.min(), xs.max() + 1
        padded = cv2.copyMakeBorder(cell[y0:y1, x0:x1], MARGIN_PX, MARGIN_PX, MARGIN_PX,
                                    MARGIN_PX, cv2.BORDER_CONSTANT, value=255)
        reading = reader.read(padded, numeric_shape(text_ink[y0:y1, x0:x1]))
        if reading.text:
            readings.append(reading)
    if not readings:
        return None
    return Reading("\n".join(r.text for r in readings), min(r.confidence for r in readings))


def read_image_tables(gray: np.ndarray, scale: float, reader: CellReader, page: int | None,
                      first_index: int = 0) -> list[ScannedTable]:
    """The tables of one page image (grey, 8-bit), top to bottom, each cell read by OCR.

    ``scale`` is pixels per point (a 200 dpi rendering: 200 / 72)."""
    gray = straighten(gray, scale)
    height = gray.shape[0]
    _, ink = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    horizontal, vertical = ruling_masks(ink, scale)
    lines = cv2.dilate(cv2.bitwise_or(horizontal, vertical),
                       cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3)))
    groups = group_tables(_segments(horizontal, True, scale), _segments(vertical, False, scale))
    grids = sorted((g for g in (Grid(hs, vs) for hs, vs in groups) if g.rows and g.cols),
                   key=lambda g: -g.ys[0])
    tables = []
    for grid in grids:
        readings: dict[int, Reading] = {}
        for region, box in _region_boxes(grid, height, scale).items():
            reading = _read_region(gray, ink, lines, box, reader)
            if reading is not None:
                readings[region] = reading
        rows = grid.rows_of({region: r.text for region, r in readings.items()})
        seen: set[int] = set()
        confidence: list[list[float | None]] = []
        for line in grid.root:
            row: list[float | None] = []
            for region in line:
                row.append(None if region in seen or region not in readings
                           else readings[region].confidence)
                seen.add(region)
            confidence.append(row)
        tables.append(ScannedTable(RawTable(rows=rows, page=page,
                                            index=first_index + len(tables)), confidence))
    return tables
