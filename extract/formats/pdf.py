"""PDF reports: pdfplumber tables, duplicated (fake-bold) characters removed, pages in order.

A table split across pages needs no special handling here: the interpreter reads all table rows
as one stream. pypdfium2 opens the file first: it tells encrypted and damaged files apart quickly
and counts the characters of each page to find pages without a text layer.
"""

from __future__ import annotations

from pathlib import Path

import pdfplumber
import pypdfium2

from extract.errors import ExtractionError
from extract.model import Content, RawTable

NAME = "pdfplumber"
VERSION = "1"


def open_document(path: Path) -> pypdfium2.PdfDocument:
    """The document opened by pypdfium2, encrypted and damaged files told apart."""
    try:
        return pypdfium2.PdfDocument(str(path))
    except pypdfium2.PdfiumError as exc:
        message = str(exc).lower()
        if "password" in message or "security" in message:
            raise ExtractionError("encrypted", "PDF is encrypted with a password") from exc
        raise ExtractionError("corrupt", f"PDF cannot be opened ({exc})") from exc


def require_text(texts: list[str]) -> None:
    """Refuse a PDF without pages, or whose pages have no text layer at all (a scan)."""
    if not texts:
        raise ExtractionError("corrupt", "PDF has no pages")
    if not any(t.strip() for t in texts):
        raise ExtractionError("no_text_layer",
                              "no page has a text layer (a scanned document; OCR is not supported)")


def open_checked(path: Path) -> tuple[str, list[int]]:
    """The document's text (pypdfium2) and the 1-based pages that have no text layer."""
    document = open_document(path)
    try:
        texts, empty = [], []
        for number in range(len(document)):
            page = document[number]
            textpage = page.get_textpage()
            text = textpage.get_text_range()
            if not text.strip():
                empty.append(number + 1)
            texts.append(text)
            textpage.close()
            page.close()
    finally:
        document.close()
    require_text(texts)
    return "\n".join(texts), empty


def read_pdf(path: Path) -> Content:
    text, empty_pages = open_checked(path)
    tables: list[RawTable] = []
    try:
        with pdfplumber.open(path) as pdf:
            for number, page in enumerate(pdf.pages, start=1):
                for grid in page.dedupe_chars().extract_tables():
                    tables.append(RawTable(rows=[list(r) for r in grid], page=number,
                                           index=len(tables)))
    except ExtractionError:
        raise
    except Exception as exc:  # pdfminer raises many types for damaged files
        raise ExtractionError("corrupt", f"PDF tables cannot be read ({type(exc).__name__}: {exc})"
                              ) from exc
    return Content(text=text, tables=tables, extractor=NAME, extractor_version=VERSION,
                   pages_without_text=empty_pages)
