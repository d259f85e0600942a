"""HTML reports (a portal's article page): lxml, rowspan/colspan expanded into a grid."""

from __future__ import annotations

import codecs
import re

from lxml import html as lxml_html

from extract.formats.grid import SpannedCell, expand
from extract.model import Content

NAME = "html-lxml"
VERSION = "1"

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_BLOCK_TAGS = ("p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table")
# GB-family labels are decoded as their superset, gb18030.
_GB_FAMILY = {"gb2312", "gbk", "gb18030", "x-gbk", "cp936", "euc-cn"}


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
    if declared in _GB_FAMILY:
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


def read_html(data: bytes) -> Content:
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
    body = document.find("body")
    text = "\n".join(t.strip() for t in (body if body is not None else document).itertext()
                     if t.strip())
    title = document.findtext(".//title") or ""
    return Content(text=f"{title.strip()}\n{text}", tables=tables, extractor=NAME,
                   extractor_version=VERSION)
