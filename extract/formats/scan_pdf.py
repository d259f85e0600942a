"""Scanned PDFs (pages that are only images): each page rendered by PDFium and read by OCR.

The tables come from ``scan.py``; the first page's text outside its tables is read too, for the
title (agency and year). Every cell read this way keeps its OCR confidence (``flag_ocr_cells``),
and a cell read with low confidence becomes a finding of the report, never a silent number.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from extract.formats.ocr_engine import NAME as ENGINE
from extract.formats.ocr_engine import CellReader
from extract.formats.pdf import open_document
from extract.formats.scan import ScannedTable, read_image_tables
from extract.model import CheckResult, Content, RawTable, Report, Status

NAME = f"ocr-{ENGINE}"
VERSION = "1"
DPI = 200
# A cell read with less confidence than this (0-100) is a finding (rule "OCR", UNCERTAIN).
LOW_CONFIDENCE = 60.0
# Pages beyond this are not read: a report's tables fit in far fewer.
MAX_PAGES = 40


def render_pages(path: Path, dpi: int = DPI) -> list[np.ndarray]:
    """Every page as a grey 8-bit image (encrypted and damaged files refused by PDFium)."""
    document = open_document(path)
    try:
        images = []
        for number in range(min(len(document), MAX_PAGES)):
            page = document[number]
            bitmap = page.render(scale=dpi / 72, grayscale=True)
            images.append(np.array(bitmap.to_pil().convert("L")))
            page.close()
        return images
    finally:
        document.close()


def read_images(images: list[tuple[np.ndarray, float, int | None]], reader: CellReader
                ) -> tuple[list[ScannedTable], str]:
    """The tables of page images (image, pixels per point, page number) and the first page's
    text."""
    scanned: list[ScannedTable] = []
    text = ""
    for n, (gray, scale, page) in enumerate(images):
        scanned.extend(read_image_tables(gray, scale, reader, page, first_index=len(scanned)))
        if n == 0:
            text = reader.read_page(gray)
    return scanned, text


def read_scanned_pdf(path: Path) -> Content:
    """The Content of a scanned PDF, with the OCR confidence of its cells."""
    images = render_pages(path)
    with CellReader() as reader:
        scanned, text = read_images([(g, DPI / 72, n + 1) for n, g in enumerate(images)], reader)
    return Content(text=text, tables=[s.table for s in scanned], extractor=NAME,
                   extractor_version=VERSION,
                   ocr_confidence={s.table.index: s.confidence for s in scanned})


def _confidence_of(cell_raw: str, row_label: str, table: RawTable,
                   confidence: list[list[float | None]]) -> float | None:
    """The lowest confidence among the table's positions that print ``cell_raw`` in a row
    printing ``row_label`` (in any row when none does, as for the appeals table, whose labels
    head columns): never more confident than the truth."""
    def lowest(rows: list[tuple[list[str | None], list[float | None]]]) -> float | None:
        found = [conf for texts, confs in rows for text, conf in zip(texts, confs)
                 if text is not None and conf is not None and text.strip() == cell_raw.strip()]
        return min(found) if found else None

    rows = list(zip(table.rows, confidence))
    labelled = [(texts, confs) for texts, confs in rows
                if any(t is not None and t.strip() == row_label for t in texts)]
    in_row = lowest(labelled)
    return in_row if in_row is not None else lowest(rows)


def flag_ocr_cells(report: Report, content: Content) -> Report:
    """Record the OCR confidence of each cell read from an image; a low one is an UNCERTAIN
    finding (rule "OCR"): the number stays, and says it may be misread."""
    tables = {t.index: t for t in content.tables}
    for key, cell in report.cells.items():
        confidence = content.ocr_confidence.get(cell.table_index)
        if confidence is None or cell.table_index not in tables or not cell.raw.strip():
            continue
        cell.ocr_confidence = _confidence_of(cell.raw, cell.row_label, tables[cell.table_index],
                                             confidence)
        if cell.ocr_confidence is not None and cell.ocr_confidence < LOW_CONFIDENCE:
            report.checks.append(CheckResult(
                "OCR", Status.UNCERTAIN, key,
                f"read by OCR with confidence {cell.ocr_confidence:.0f} "
                f"(below {LOW_CONFIDENCE:.0f}): {cell.raw!r}", cells=[key]))
    return report
