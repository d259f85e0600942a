"""Which format a document is, from its bytes (the file name only separates DOC from WPS)."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from extract.errors import ExtractionError

FORMATS = ("html", "pdf", "docx", "doc", "wps", "text")

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_HTML = re.compile(rb"<(?:!doctype\s+html|html|head|body|table|p|div|meta)[\s>/]", re.I)


def sniff(path: Path, head: bytes, suffix: str | None = None) -> str:
    """One of FORMATS, or an ExtractionError naming what the file is instead.

    ``suffix`` stands in for the file name's when the file has none (the raw store's objects).
    """
    if not head:
        raise ExtractionError("empty_file", "the file is empty")
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, OSError) as exc:
            raise ExtractionError("corrupt", f"damaged ZIP archive ({exc})") from exc
        if "word/document.xml" in names:
            return "docx"
        kind = "OFD" if "OFD.xml" in names else "XLSX" if "xl/workbook.xml" in names else "ZIP"
        raise ExtractionError("unknown_format", f"{kind} archive, not a supported report format")
    if head.startswith(_OLE):
        suffix = (suffix or path.suffix).lower()
        if suffix in (".xls", ".ppt", ".et", ".dps"):
            raise ExtractionError("unknown_format",
                                  f"OLE file of type {suffix}, not a report format")
        return "wps" if suffix == ".wps" else "doc"
    if _HTML.search(head[:8192]):
        return "html"
    if b"\x00" not in head and _is_text(head):
        return "text"
    raise ExtractionError("unknown_format", "not HTML, PDF, DOCX, DOC, WPS or text")


def _is_text(head: bytes) -> bool:
    for encoding in ("utf-8", "gb18030"):
        try:
            head.decode(encoding)
            return True
        except UnicodeDecodeError as exc:
            if exc.start > len(head) - 4:  # a character cut by the end of the sample
                return True
    return False
