"""HTML reports (a portal's article page): lxml, rowspan/colspan expanded into a grid.

A page that shows its report as pictures (图片版) has its tables in ``<img>`` elements: the crawler
stores those images with the page, and the extractor is given them as ``images`` (image URL ->
stored file). Each such image is read by OCR (``scan.py``) after the page's own tables.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urljoin

from lxml import html as lxml_html

from crawlers.encoding import GB_FAMILY
from extract.formats.grid import SpannedCell, expand
from extract.model import Content, RawTable

NAME = "html-lxml"
VERSION = "3"  # 2: report images read by OCR; 3: GB labels from crawlers/encoding.py

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_BLOCK_TAGS = ("p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table")


def decode(data: bytes, declared: str | None = None) -> str:
    """Text of an HTML page: BOM, then the declared charset, then gb18030 if that one fails."""
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                          (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            return data[len(bom):].decode(encoding, errors="replace")
    if declared is None:
        match = _META_CHARSET.search(data[:4096])
        declared = match.group(1).decode("ascii") if match else "utf-8"
    declared = declared.lower()
    if declared in GB_FAMILY:
        declared = "gb18030"
    for encoding in (declared, "utf-8", "gb18030"):
        try:
            return data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode("gb18030", errors="replace")


def _cell_text(element) -> str:
    """Cell text with <p>/<br>/<div> boundaries kept as line breaks."""
    for node in element.iterdescendants(*_BLOCK_TAGS):
        node.tail = "\n" + (node.tail or "")
    return element.text_content().replace("\xa0", " ").strip(" \t\r\n")


def _span(element, name: str) -> int:
    try:
        return max(1, min(int(element.get(name, "1")), 100))
    except ValueError:
        return 1


def image_sources(document, page_url: str | None) -> list[str]:
    """The absolute URL of every ``<img>`` of a page, in document order, each once."""
    seen: list[str] = []
    for img in document.xpath("//img[@src]"):
        src = img.get("src", "").strip()
        if src and not src.startswith("data:"):
            url = urljoin(page_url or "", src)
            if url not in seen:
                seen.append(url)
    return seen


def _image_tables(document, page_url: str | None, images: Mapping[str, Path],
                  first_index: int) -> tuple[list[RawTable], dict[int, list[list[float | None]]]]:
    """The tables of the page's report images (those ``images`` holds), read by OCR."""
    import cv2

    from extract.formats.ocr_engine import CellReader
    from extract.formats.scan import read_image_tables

    stored = [images[url] for url in image_sources(document, page_url) if url in images]
    tables: list[RawTable] = []
    confidence: dict[int, list[list[float | None]]] = {}
    if not stored:
        return tables, confidence
    with CellReader() as reader:  # OcrMissing when there is no engine: retried on a later run
        for path in stored:
            gray = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
            if gray is None:  # not an image after all (an error page saved as .png)
                continue
            gray, scale = _upscaled(gray)
            for scanned in read_image_tables(gray, scale, reader, page=None,
                                             first_index=first_index + len(tables)):
                tables.append(scanned.table)
                confidence[scanned.table.index] = scanned.confidence
    return tables, confidence


# Web images of a table are usually smaller than a 200 dpi page: they are scaled up to this
# width at least (at most three times) and then read as a 200 dpi page.
_IMAGE_MIN_WIDTH_PX = 1600
_IMAGE_MAX_UPSCALE = 3.0


def _upscaled(gray):
    import cv2

    factor = min(_IMAGE_MAX_UPSCALE, _IMAGE_MIN_WIDTH_PX / gray.shape[1])
    if factor > 1:
        gray = cv2.resize(gray, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)
    return gray, 200 / 72


def read_html(data: bytes, images: Mapping[str, Path] | None = None,
              page_url: str | None = None) -> Content:
    """The page's text and tables; ``images`` (absolute image URL -> stored file) are the report
    images fetched with the page, resolved against ``page_url``."""
    document = lxml_html.document_fromstring(decode(data))
    for junk in document.xpath("//script|//style|//noscript"):
        junk.drop_tree()
    tables = []
    for index, table in enumerate(document.xpath("//table[not(ancestor::table)]")):
        rows = []
        for tr in table.xpath("./tr|./thead/tr|./tbody/tr|./tfoot/tr"):
            rows.append([SpannedCell(_cell_text(td), _span(td, "colspan"), _span(td, "rowspan"))
                         for td in tr.xpath("./td|./th")])
        tables.append(expand(rows, page=None, index=index))
    scanned, confidence = _image_tables(document, page_url, images or {}, len(tables))
    body = document.find("body")
    text = "\n".join(t.strip() for t in (body if body is not None else document).itertext()
                     if t.strip())
    title = document.findtext(".//title") or ""
    return Content(text=f"{title.strip()}\n{text}", tables=tables + scanned,
                   extractor=NAME if not scanned else f"{NAME}+ocr", extractor_version=VERSION,
                   ocr_confidence=confidence)
