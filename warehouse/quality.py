"""Findings -> rows of the ``quality`` table: the one place where the result of any rule (report,
value, cross-report or agency identity; registered in extract/rules.py) becomes a row."""

from __future__ import annotations

from extract.model import Finding, Report


def report_findings(report: Report, report_id: str) -> list[Finding]:
    """The report's own check results, each about that report."""
    return [Finding(check, "report", report_id) for check in report.checks]


def quality_rows(findings: list[Finding], run_id: str) -> list[dict]:
    """``findings`` as ``quality`` rows of ``run_id`` (expected and observed as floats)."""
    rows = []
    for finding in findings:
        result = finding.result
        rows.append({
            "run_id": run_id, "report_id": finding.report_id, "scope": finding.scope,
            "rule": result.rule, "subject": result.subject, "status": result.status.value,
            "message": result.message,
            "expected": None if result.expected is None else float(result.expected),
            "observed": None if result.observed is None else float(result.observed),
            "cells": list(result.cells)})
    return rows
