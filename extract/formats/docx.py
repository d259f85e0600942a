"""DOCX reports: word/document.xml walked with lxml (w:tbl, gridSpan, vMerge).

The XML is parsed with entity resolution, DTD loading and network access off, a document.xml that
declares a DTD is refused (OOXML forbids DTDs; an unresolved entity would silently drop the text
after it). Zip bombs are refused twice: before decompression when the sizes the archive declares
are too large, and while decompressing, since those sizes can be forged: document.xml is read with
a bounded read (at most the limit plus one byte), whatever its header says.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from pathlib import Path

from lxml import etree

from extract.errors import ExtractionError
from extract.model import Content, RawTable

NAME = "docx-lxml"
VERSION = "2"  # 2: bounded reads of the document part; decompression_bomb

MAX_UNCOMPRESSED = 200 * 1024 * 1024  # bytes, all members together (as declared)
MAX_DOCUMENT_XML = 64 * 1024 * 1024  # bytes of word/document.xml actually inflated
MAX_RATIO = 200  # uncompressed / compressed, for any member over 1 MiB

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                          dtd_validation=False, huge_tree=False)


def _guard(archive: zipfile.ZipFile) -> None:
    total = 0
    for info in archive.infolist():
        total += info.file_size
        if info.file_size > 1024 * 1024 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise ExtractionError("decompression_bomb",
                                  f"{info.filename} inflates {info.compress_size} -> "
                                  f"{info.file_size} bytes")
    if total > MAX_UNCOMPRESSED:
        raise ExtractionError("decompression_bomb", f"archive inflates to {total} bytes "
                                          f"(limit {MAX_UNCOMPRESSED})")


def _read_bounded(archive: zipfile.ZipFile, path: Path, name: str, limit: int) -> bytes:
    """The member's bytes, inflated by us at most ``limit + 1`` bytes at a time, whatever sizes
    its headers declare (a bomb forges them): more than ``limit`` bytes, or more than declared,
    is a bomb; fewer, or a wrong CRC, a damaged archive."""
    info = archive.getinfo(name)
    if info.compress_type == zipfile.ZIP_STORED:
        with archive.open(info) as member:
            data = member.read(limit + 1)
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        data = _inflate_member(path, info.header_offset, limit + 1)
    else:
        raise ExtractionError("corrupt", f"{name} uses an unsupported compression method")
    if len(data) > limit or len(data) > info.file_size:
        raise ExtractionError("decompression_bomb",
                              f"{name} inflates to over {len(data) - 1} bytes (limit {limit}; its "
                              f"header declares {info.file_size})")
    if len(data) < info.file_size or zlib.crc32(data) != info.CRC:
        raise ExtractionError("corrupt", f"{name} is damaged (size or CRC does not match)")
    return data


def _inflate_member(path: Path, header_offset: int, most: int) -> bytes:
    """At most ``most`` bytes of the deflated member whose local header is at ``header_offset``:
    the compressed bytes are fed in 64 KiB pieces and never inflated beyond what is left."""
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    out = bytearray()
    with open(path, "rb") as handle:
        handle.seek(header_offset)
        header = handle.read(30)
        if len(header) < 30 or header[:4] != b"PK\x03\x04":
            raise ExtractionError("corrupt", "DOCX member header is damaged")
        name_length, extra_length = struct.unpack("<HH", header[26:30])
        handle.seek(header_offset + 30 + name_length + extra_length)
        pending = b""
        while len(out) < most and not inflater.eof:
            pending = pending or inflater.unconsumed_tail or handle.read(64 * 1024)
            if not pending:
                break  # the file ends inside the member: fewer bytes than declared
            try:
                out += inflater.decompress(pending, most - len(out))
            except zlib.error as exc:
                raise ExtractionError("corrupt", f"DOCX member cannot be inflated ({exc})") from exc
            pending = inflater.unconsumed_tail
    return bytes(out)


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
            xml = _read_bounded(archive, Path(path), "word/document.xml", MAX_DOCUMENT_XML)
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
