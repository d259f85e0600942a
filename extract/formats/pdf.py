"""PDF reports: pdfplumber tables, duplicated (fake-bold) characters removed, pages in order.

A table split across pages needs no special handling here: the interpreter reads all table rows
as one stream. pypdfium2 opens the file first: it tells encrypted and damaged files apart quickly
and counts the characters of each page to find pages without a text layer.

Before any library reads a PDF, ``refuse_bombs`` inflates its Flate streams with a bound: a
stream that would inflate to gigabytes (a decompression bomb) would otherwise take that much
memory in PDFium or pdfminer, and then pass for a scan without a text layer.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pdfplumber
import pypdfium2

from extract.errors import ExtractionError
from extract.model import Content, RawTable

NAME = "pdfplumber"
VERSION = "3"  # 2: decompression bombs refused before reading; 3: an unreadable page is corrupt


MAX_STREAM_INFLATED = 256 * 1024 * 1024  # bytes one stream may inflate to ...
MAX_STREAM_RATIO = 100  # ... unless it is compressed less than this (a large honest image)
_STREAM = re.compile(rb"stream\r?\n")
_DICTIONARY_SPAN = 2048  # bytes before ``stream`` searched for the stream's dictionary
_DEFLATE_MAX_RATIO = 1032  # no deflate stream inflates more than this from its bytes


def refuse_bombs(data: bytes, limit: int = MAX_STREAM_INFLATED) -> None:
    """Refuse a PDF with a Flate stream that inflates beyond ``limit`` bytes at a ratio over
    MAX_STREAM_RATIO, inflating at most ``limit`` bytes of it, 1 MiB at a time. Image streams
    are skipped: the readers never decode them; so are streams too short (up to their
    ``endstream``, whatever ``/Length`` says) to inflate beyond ``limit`` at all."""
    for match in _STREAM.finditer(data):
        end = data.find(b"endstream", match.end())
        if ((end if end >= 0 else len(data)) - match.end()) * _DEFLATE_MAX_RATIO <= limit:
            continue
        head = data[max(0, match.start() - _DICTIONARY_SPAN):match.start()]
        dictionary = head[head.rfind(b" obj") + 1:]
        if b"/FlateDecode" not in dictionary or b"/Image" in dictionary:
            continue
        inflated, used = _inflated_size(data, match.end(), limit)
        if inflated > limit and inflated > MAX_STREAM_RATIO * used:
            raise ExtractionError("decompression_bomb",
                                  f"a Flate stream at byte {match.end()} inflates beyond {limit} "
                                  f"bytes from {used} (ratio over {inflated // max(used, 1)})")


def _inflated_size(data: bytes, start: int, limit: int) -> tuple[int, int]:
    """(bytes inflated, compressed bytes used) of the zlib stream at ``start``, stopping once
    over ``limit``; a stream that is not valid zlib counts what inflated before the error."""
    inflater = zlib.decompressobj()
    inflated, position, piece = 0, start, 64 * 1024
    pending = b""
    while inflated <= limit and not inflater.eof:
        if not pending:
            pending = data[position:position + piece]
            position += len(pending)
            if not pending:
                break
        try:
            inflated += len(inflater.decompress(pending, 1024 * 1024))
        except zlib.error:
            break
        pending = inflater.unconsumed_tail
    return inflated, position - start - len(pending) - len(inflater.unused_data)


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


def text_pages(document: pypdfium2.PdfDocument) -> Iterator[tuple[int, Any, Any, str]]:
    """Each page of ``document`` as (1-based number, page, its text page, its text), both closed
    once the caller moves on; a page pdfium cannot read makes the document corrupt."""
    try:
        for index in range(len(document)):
            page = document[index]
            textpage = page.get_textpage()
            try:
                yield index + 1, page, textpage, textpage.get_text_range()
            finally:
                textpage.close()
                page.close()
    except pypdfium2.PdfiumError as exc:
        raise ExtractionError("corrupt", f"PDF page cannot be read ({exc})") from exc


def open_checked(path: Path) -> tuple[str, list[int]]:
    """The document's text (pypdfium2) and the 1-based pages that have no text layer."""
    document = open_document(path)
    try:
        texts, empty = [], []
        for number, _, _, text in text_pages(document):
            if not text.strip():
                empty.append(number)
            texts.append(text)
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
    except Exception as exc:  # pdfminer raises many types for damaged files
        raise ExtractionError("corrupt", f"PDF tables cannot be read ({type(exc).__name__}: {exc})"
                              ) from exc
    return Content(text=text, tables=tables, extractor=NAME, extractor_version=VERSION,
                   pages_without_text=empty_pages)
