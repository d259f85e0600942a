"""The one exception extractors raise: a document that cannot be read, with a stable code."""

from __future__ import annotations

# Every code a Report.error_code can hold; the warehouse and the flows branch on these.
ERROR_CODES = (
    "empty_file", "unknown_format", "corrupt", "encrypted", "no_text_layer", "not_a_report",
    "too_large", "decompression_bomb", "timeout", "crashed", "unreadable",
    "libreoffice_missing", "conversion_failed",
)


class ExtractionError(Exception):
    """A document nianbao could not read. ``code`` is stable (tests and the warehouse use it)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
