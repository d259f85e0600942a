"""Report-level quality rules R1-R6, as tri-state results, and findings on printed values.

How the report rules are computed; which rules exist, and what each means, is the rule registry
(``extract/rules.py``), which reads ``SUM_RULES`` from here. The sum rules are data
(``SUM_RULES``); each instance names the cells it read, what it expected and what it observed. A
rule whose cells are null or missing is UNCERTAIN, never PASS.

Value findings are FAIL results about one cell each, only where something is wrong (their rule
names the kind): ``unparseable_value``, a cell that prints something that is not a number (the
cell is null, its text kept); ``fractional_count``, a count cell printing a fraction (kept as
printed).
"""

from __future__ import annotations

from dataclasses import dataclass

from extract.model import CheckResult, Report, Status
from extract.schema import (
    AMOUNT_COLUMNS,
    APPEAL_COLUMNS,
    APPEALS,
    ORGANISATION_COLUMNS,
    OUTCOME_ROWS,
    REQUEST_COLUMNS,
    REQUESTS,
    SIGNED_COLUMNS,
    TEMPLATED_TABLES,
    all_keys,
)
from extract.values import Number, is_unparseable

# Bump when a change to the report checks can change a reading (see extract/version.py).
VERSION = "1"


@dataclass(frozen=True)
class SumRule:
    """``sum(lhs) == sum(rhs)``, checked once per column (``per="column"``) or per row."""

    rule: str
    table: str
    lhs: tuple[str, ...]
    rhs: tuple[str, ...]
    per: str  # "column": lhs/rhs are rows; "row": lhs/rhs are columns
    lines: tuple[str, ...]  # the columns (or rows) the rule runs over
    description: str


_APPLICANT_COLUMNS = tuple(c for c in REQUEST_COLUMNS if c != "total")

SUM_RULES = (
    SumRule("R1", "requests", ("new", "carried_over"), ("total", "carried_forward"), "column",
            REQUEST_COLUMNS, "new + carried_over = total + carried_forward"),
    SumRule("R2", "requests", ("total",), OUTCOME_ROWS, "column", REQUEST_COLUMNS,
            "total = sum of the outcome rows"),
    SumRule("R3", "requests", ("total",), _APPLICANT_COLUMNS, "row",
            tuple(r.key for r in REQUESTS.rows), "total = sum of the applicant columns"),
    SumRule("R3", "requests", ("org_subtotal",), ORGANISATION_COLUMNS, "row",
            tuple(r.key for r in REQUESTS.rows), "org_subtotal = sum of the organisation columns"),
    SumRule("R4", "appeals", ("total",), tuple(c for c in APPEAL_COLUMNS if c != "total"), "row",
            tuple(r.key for r in APPEALS.rows), "total = upheld + corrected + other + pending"),
)


def _key(rule: SumRule, line: str, part: str) -> str:
    if rule.per == "column":
        return f"{rule.table}/{part}/{line}"
    return f"{rule.table}/{line}/{part}"


def _total(values: dict[str, Number | None], keys: list[str]) -> tuple[Number, list[str]]:
    """Sum of the present cells, and the keys that are null or missing."""
    unknown = [k for k in keys if values.get(k) is None]
    return sum(values[k] for k in keys if values.get(k) is not None), unknown


def check_sum(rule: SumRule, values: dict[str, Number | None], prescribed: set[str]
              ) -> list[CheckResult]:
    """One result per column (or row) of ``rule``; ``prescribed`` are the keys the report's
    templates have (a 2019 (六) row is not part of a 2021 sum)."""
    results = []
    for line in rule.lines:
        lhs = [k for k in (_key(rule, line, p) for p in rule.lhs) if k in prescribed]
        rhs = [k for k in (_key(rule, line, p) for p in rule.rhs) if k in prescribed]
        if not lhs or not rhs:
            continue  # e.g. no org_subtotal column in this report
        cells = lhs + rhs
        expected, unknown_l = _total(values, lhs)
        observed, unknown_r = _total(values, rhs)
        subject = f"{rule.table}/{line if rule.per == 'row' else '*'}/" \
                  f"{line if rule.per == 'column' else '*'}"
        if unknown_l or unknown_r:
            status = Status.UNCERTAIN
            message = f"{rule.description}: cannot check, null or missing " \
                      f"{', '.join(unknown_l + unknown_r)}"
        elif _same(expected, observed):
            status, message = Status.PASS, f"{rule.description}: {expected} = {observed}"
        else:
            status, message = Status.FAIL, f"{rule.description}: {expected} ≠ {observed}"
        results.append(CheckResult(rule.rule, status, subject, message, cells, expected, observed))
    return results


def _same(a: Number, b: Number) -> bool:
    return abs(a - b) < 1e-6


def check_complete(report: Report) -> list[CheckResult]:
    """R5: every cell the template prescribes was found; no negative counts."""
    results = []
    templates = {t: report.templates[t] for t in TEMPLATED_TABLES if t in report.templates}
    for table in (*TEMPLATED_TABLES, "appeals"):
        if table in TEMPLATED_TABLES and table not in templates:
            results.append(CheckResult("R5", Status.FAIL, table,
                                       f"table {table} not found (or its template unknown)"))
            continue
        expected = [k for k in all_keys(templates, report.extra_columns)
                    if k.startswith(f"{table}/")]
        missing = [k for k in expected if k not in report.cells]
        if missing:
            results.append(CheckResult("R5", Status.FAIL, table,
                                       f"{len(missing)} of {len(expected)} cells not found",
                                       missing, len(expected), len(expected) - len(missing)))
        else:
            results.append(CheckResult("R5", Status.PASS, table,
                                       f"all {len(expected)} cells found", [], len(expected),
                                       len(expected)))
    negative = [k for k, c in report.cells.items()
                if c.value is not None and c.value < 0
                and k.rsplit("/", 1)[1] not in SIGNED_COLUMNS]
    if negative:
        results.append(CheckResult("R5", Status.FAIL, "report", "negative counts", negative))
    return results


def check_identified(report: Report) -> list[CheckResult]:
    """R6: each table's template, the report year and the agency are identified."""
    results = []
    for table in TEMPLATED_TABLES:
        template = report.templates.get(table)
        results.append(CheckResult(
            "R6", Status.PASS if template else Status.FAIL, f"{table}/template",
            f"{table} template {template}" if template else f"{table} template not identified"))
    for field_name in ("year", "agency"):
        value = getattr(report, field_name)
        results.append(CheckResult(
            "R6", Status.PASS if value else Status.FAIL, field_name,
            f"{field_name} {value}" if value else f"{field_name} not identified"))
    return results


UNPARSEABLE_VALUE = "unparseable_value"
FRACTIONAL_COUNT = "fractional_count"


def check_values(report: Report) -> list[CheckResult]:
    """A finding for each cell that prints no number where one belongs, or a fraction in a
    count (every column but the amounts in 万元 counts something)."""
    results = []
    for key, cell in report.cells.items():
        if cell.value is None and is_unparseable(cell.raw):
            results.append(CheckResult(UNPARSEABLE_VALUE, Status.FAIL, key,
                                       f"{key}: {cell.raw!r} is not a number (kept as null)",
                                       [key]))
        elif (cell.value is not None and key.rsplit("/", 1)[1] not in AMOUNT_COLUMNS
              and cell.value != int(cell.value)):
            results.append(CheckResult(FRACTIONAL_COUNT, Status.FAIL, key,
                                       f"{key}: a count printed as {cell.raw.strip()!r}", [key],
                                       observed=cell.value))
    return results


def run_checks(report: Report) -> list[CheckResult]:
    """Every report-level rule on one report."""
    values = report.values()
    prescribed = set(all_keys(report.templates, report.extra_columns)) | set(values)
    results: list[CheckResult] = []
    for rule in SUM_RULES:
        results.extend(check_sum(rule, values, prescribed))
    results.extend(check_complete(report))
    results.extend(check_identified(report))
    results.extend(check_values(report))
    return results
