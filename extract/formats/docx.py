"""DOCX reports: word/document.xml walked with lxml (w:tbl, gridSpan, vMerge).

The XML is parsed with entity resolution, DTD loading and network access off, a document.xml that
declares a DTD is refused (OOXML forbids DTDs; an unresolved entity would silently drop the text
after it), and the archive is refused before decompression when its members would inflate beyond
a limit (zip bombs).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from lxml import etree

from extract.errors import ExtractionError
from extract.model import Content, RawTable

NAME = "docx-lxml"
VERSION = "1"

MAX_UNCOMPRESSED = 200 * 1024 * 1024  # bytes, all members together
MAX_RATIO = 200  # uncompressed / compressed, for any member over 1 MiB

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                          dtd_validation=False, huge_tree=False)


def _guard(archive: zipfile.ZipFile) -> None:
    total = 0
    for info in archive.infolist():
        total += info.file_size
        if info.file_size > 1024 * 1024 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise ExtractionError("zip_bomb", f"{info.filename} inflates {info.compress_size} -> "
                                              f"{info.file_size} bytes")
    if total > MAX_UNCOMPRESSED:
        raise ExtractionError("zip_bomb", f"archive inflates to {total} bytes "
                                          f"(limit {MAX_UNCOMPRESSED})")


def _text(element) -> str:
    parts = []
    for node in element.iter(f"{_W}t", f"{_W}tab", f"{_W}br", f"{_W}p"):
        if node.tag == f"{_W}t":
            parts.append(node.text or "")
        elif node.tag == f"{_W}tab":
            parts.append("\t")
        elif parts:  # paragraph or line break inside a cell
            parts.append("\n")
    return "".join(parts).replace("\xa0", " ").strip()


def _int(element, path: str, default: int) -> int:
    found = element.find(path)
    try:
        return int(found.get(f"{_W}val")) if found is not None else default
    except (TypeError, ValueError):
        return default


def _table(tbl, index: int) -> RawTable:
    grid: list[list[str | None]] = []
    for tr in tbl.iterchildren(f"{_W}tr"):
        row: list[str | None] = [None] * _int(tr, f"{_W}trPr/{_W}gridBefore", 0)
        for tc in tr.iterchildren(f"{_W}tc"):
            span = max(1, min(_int(tc, f"{_W}tcPr/{_W}gridSpan", 1), 64))
            merge = tc.find(f"{_W}tcPr/{_W}vMerge")
            continued = merge is not None and merge.get(f"{_W}val", "continue") == "continue"
            row.append(None if continued else _text(tc))
            row.extend([None] * (span - 1))
        grid.append(row)
    return RawTable(rows=grid, page=None, index=index)


def read_docx(path: Path) -> Content:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ExtractionError("corrupt", f"not a readable DOCX archive ({exc})") from exc
    with archive:
        _guard(archive)
        try:
            xml = archive.read("word/document.xml")
        except KeyError as exc:
            raise ExtractionError("corrupt", "DOCX has no word/document.xml") from exc
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise ExtractionError("corrupt", f"DOCX archive is damaged ({exc})") from exc
    try:
        root = etree.fromstring(xml, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise ExtractionError("corrupt", f"word/document.xml is not well-formed ({exc})") from exc
    if root.getroottree().docinfo.doctype:
        raise ExtractionError("corrupt", "word/document.xml declares a DTD (OOXML forbids DTDs)")
    body = root.find(f"{_W}body")
    if body is None:
        raise ExtractionError("corrupt", "word/document.xml has no body")
    lines, tables = [], []
    for block in body.iterchildren(f"{_W}p", f"{_W}tbl"):
        if block.tag == f"{_W}p":
            lines.append(_text(block))
        else:
            tables.append(_table(block, len(tables)))
    return Content(text="\n".join(line for line in lines if line), tables=tables,
                   extractor=NAME, extractor_version=VERSION)
