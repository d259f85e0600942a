"""The one exception extractors raise: a document that cannot be read, with a stable code."""

from __future__ import annotations


class ExtractionError(Exception):
    """A document nianbao could not read. ``code`` is stable (tests and the warehouse use it)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
