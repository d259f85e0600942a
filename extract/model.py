"""The typed Report an extractor produces: metadata, cells with provenance, check results."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

from extract.values import Number


class Status(str, Enum):
    PASS = "PASS"
    FAIL = "FAIL"
    UNCERTAIN = "UNCERTAIN"


@dataclass
class Cell:
    """One canonical cell: its value, the text as printed, and where it was read."""

    key: str  # "table/row/col"
    value: Number | None
    raw: str
    page: int | None = None
    table_index: int | None = None
    row_label: str = ""  # the row label as printed
    matched_label: str = ""  # the schema label it matched
    ocr_confidence: float | None = None  # 0-100 when the cell was read by OCR from an image

    @property
    def table(self) -> str:
        return self.key.split("/")[0]


@dataclass
class CheckResult:
    """The outcome of one rule on one subject (a column, a row, a table or the report)."""

    rule: str
    status: Status
    subject: str
    message: str
    cells: list[str] = field(default_factory=list)
    expected: Number | None = None
    observed: Number | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        return data


@dataclass
class Finding:
    """A rule's result where the warehouse keeps it: what it is about (``scope``: ``report`` for
    a report's own checks, else the scope the rule's registry entry names, see
    extract/rules.py) and the report, where there is one. Report and cross-report rules give
    the same CheckResult; the warehouse turns findings into quality rows in one place."""

    result: CheckResult
    scope: str = "report"
    report_id: str | None = None


def summarise(results: list[CheckResult]) -> dict[str, str]:
    """One status per rule: FAIL if any subject fails, else UNCERTAIN if any is, else PASS."""
    summary: dict[str, str] = {}
    for result in results:
        current = summary.get(result.rule)
        if current == Status.FAIL.value:
            continue
        if result.status is Status.FAIL or current is None or (
                result.status is Status.UNCERTAIN):
            summary[result.rule] = result.status.value
    return summary


@dataclass
class Anomaly:
    """A structural doubt about a reading: something in the tables' shape, not their arithmetic.

    ``kind`` is one of ANOMALY_KINDS; ``detail`` says where, for people."""

    kind: str
    detail: str


# layout: the interpreter met a row it could not place as printed (an unmatched label with
# values, more or fewer values than columns (a row cut by a page break), a cell printed twice);
# missing_table / missing_cells: the template's tables or cells were not all found.
ANOMALY_KINDS = ("layout", "missing_table", "missing_cells")


@dataclass
class Report:
    file: str
    sha256: str
    format: str
    agency: str | None = None
    year: int | None = None
    templates: dict[str, str] = field(default_factory=dict)
    cells: dict[str, Cell] = field(default_factory=dict)
    checks: list[CheckResult] = field(default_factory=list)
    extractor: str = ""
    extractor_version: str = ""
    error: str | None = None  # for people: "code: detail"
    # Why the document could not be read, as a stable code (see extract.errors.ERROR_CODES);
    # programs branch on this field, never on the text of ``error``.
    error_code: str | None = None
    title: str | None = None
    # Columns a report adds beyond its template, e.g. {"requests": ("org_subtotal",)}.
    extra_columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # the trail, for people
    anomalies: list[Anomaly] = field(default_factory=list)  # structural doubts, for decisions
    readers: list[str] = field(default_factory=list)  # every table reader that ran, in order

    def fail(self, code: str, detail: str) -> Report:
        """This report marked unreadable with ``code``; no cells or checks are kept."""
        self.error_code, self.error = code, f"{code}: {detail}"
        self.cells, self.checks, self.templates = {}, [], {}
        self.extractor = self.extractor or "none"
        return self

    def values(self) -> dict[str, Number | None]:
        return {key: cell.value for key, cell in self.cells.items()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "sha256": self.sha256,
            "format": self.format,
            "agency": self.agency,
            "year": self.year,
            "title": self.title,
            "template": dict(self.templates),
            "extractor": self.extractor,
            "extractor_version": self.extractor_version,
            "cells": self.values(),
            "provenance": {key: {"raw": c.raw, "page": c.page, "table": c.table_index,
                                 "row_label": c.row_label, "matched_label": c.matched_label,
                                 "ocr_confidence": c.ocr_confidence}
                           for key, c in self.cells.items()},
            "checks": [c.to_dict() for c in self.checks],
            "summary": summarise(self.checks),
            "notes": list(self.notes),
            "anomalies": [asdict(a) for a in self.anomalies],
            "readers": list(self.readers),
            "error": self.error,
            "error_code": self.error_code,
        }


@dataclass
class RawTable:
    """A table as a format adapter read it: a grid of printed cell texts.

    A grid position covered by a merged cell (colspan/rowspan/gridSpan/vMerge) is None, so each
    printed cell appears once, at its top-left position.
    """

    rows: list[list[str | None]]
    page: int | None = None
    index: int = 0


@dataclass
class Content:
    """What a format adapter reads from a document: its text in reading order and its tables."""

    text: str
    tables: list[RawTable]
    extractor: str
    extractor_version: str
    pages_without_text: list[int] = field(default_factory=list)
    # For tables read by OCR, by RawTable.index: each printed cell's confidence (0-100).
    ocr_confidence: dict[int, list[list[float | None]]] = field(default_factory=dict)
