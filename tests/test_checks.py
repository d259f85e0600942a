"""R1-R6 on crafted reports: each rule passes, fails and is uncertain where it should."""

from __future__ import annotations

import pytest

from extract.checks import run_checks
from extract.model import Cell, Report, Status, summarise
from extract.schema import OUTCOME_ROWS, REQUEST_COLUMNS, all_keys

TEMPLATES = {"disclosure": "2021", "requests": "2021"}


def consistent_report() -> Report:
    """A 2021 report whose every sum holds: 2 requests per applicant column, all granted."""
    values: dict[str, int] = {key: 0 for key in all_keys(TEMPLATES)}
    for col in REQUEST_COLUMNS:
        n = 2 * (len(REQUEST_COLUMNS) - 1) if col == "total" else 2
        values[f"requests/new/{col}"] = n
        values[f"requests/granted/{col}"] = n
        values[f"requests/total/{col}"] = n
    values.update({"appeals/reconsideration/upheld": 3, "appeals/reconsideration/pending": 1,
                   "appeals/reconsideration/total": 4})
    return make_report(values)


def make_report(values: dict, templates: dict | None = None) -> Report:
    report = Report(file="crafted", sha256="0" * 64, format="html", agency="某某区人民政府",
                    year=2023, templates=dict(templates or TEMPLATES))
    report.cells = {k: Cell(k, v, "" if v is None else str(v)) for k, v in values.items()}
    return report


def results(report: Report, rule: str, subject: str | None = None):
    found = [r for r in run_checks(report) if r.rule == rule
             and (subject is None or r.subject == subject)]
    assert found, f"no {rule} result for {subject}"
    return found


def test_consistent_report_passes_every_rule() -> None:
    summary = summarise(run_checks(consistent_report()))
    assert summary == {f"R{n}": "PASS" for n in range(1, 7)}


def test_r1_fails_with_expected_and_observed() -> None:
    report = consistent_report()
    report.cells["requests/carried_forward/commercial"].value = 1
    (result,) = results(report, "R1", "requests/*/commercial")
    assert result.status is Status.FAIL
    assert (result.expected, result.observed) == (2, 3)
    assert "requests/carried_forward/commercial" in result.cells


def test_r1_uncertain_when_a_cell_is_blank() -> None:
    report = consistent_report()
    report.cells["requests/carried_over/research"].value = None
    (result,) = results(report, "R1", "requests/*/research")
    assert result.status is Status.UNCERTAIN
    assert "requests/carried_over/research" in result.message


def test_r2_outcome_rows_must_sum_to_total() -> None:
    report = consistent_report()
    report.cells["requests/denied_secret/natural_person"].value = 1
    (result,) = results(report, "R2", "requests/*/natural_person")
    assert result.status is Status.FAIL and result.observed == 3 and result.expected == 2
    assert len(result.cells) == 1 + len([r for r in OUTCOME_ROWS if r != "other"])


def test_r2_uncertain_when_an_outcome_row_is_missing() -> None:
    report = consistent_report()
    del report.cells["requests/other_misc/total"]
    assert results(report, "R2", "requests/*/total")[0].status is Status.UNCERTAIN


def test_r2_uses_the_2019_single_other_row() -> None:
    values = {k: c.value for k, c in consistent_report().cells.items()
              if not k.startswith("requests/other_")}
    values.update({f"requests/other/{col}": 0 for col in REQUEST_COLUMNS})
    values["requests/other/legal_service"] = 1
    report = make_report(values, {"disclosure": "2021", "requests": "2019"})
    (result,) = results(report, "R2", "requests/*/legal_service")
    assert result.status is Status.FAIL and "requests/other/legal_service" in result.cells


def test_r3_applicant_columns_must_sum_to_total() -> None:
    report = consistent_report()
    report.cells["requests/new/total"].value = 11
    (result,) = results(report, "R3", "requests/new/*")
    assert result.status is Status.FAIL and (result.expected, result.observed) == (11, 12)


def test_r3_checks_org_subtotal_where_printed() -> None:
    report = consistent_report()
    report.extra_columns = {"requests": ("org_subtotal",)}
    for row in ("new", "granted", "total"):
        key = f"requests/{row}/org_subtotal"
        report.cells[key] = Cell(key, 10, "10")
    report.cells["requests/total/org_subtotal"].value = 9
    subtotal = [r for r in results(report, "R3", "requests/total/*")
                if "requests/total/org_subtotal" in r.cells[:1]]
    assert subtotal[0].status is Status.FAIL
    # rows without the printed subtotal are uncertain for that rule, not passed
    assert any(r.status is Status.UNCERTAIN for r in results(report, "R3", "requests/partial/*"))


def test_r4_appeals_total() -> None:
    report = consistent_report()
    assert results(report, "R4", "appeals/reconsideration/*")[0].status is Status.PASS
    report.cells["appeals/reconsideration/total"].value = 0  # as 洪泽 2023 printed it
    result = results(report, "R4", "appeals/reconsideration/*")[0]
    assert result.status is Status.FAIL and (result.expected, result.observed) == (0, 4)
    report.cells["appeals/litigation_direct/pending"].value = None
    assert results(report, "R4", "appeals/litigation_direct/*")[0].status is Status.UNCERTAIN


def test_r5_missing_cells_and_negative_counts() -> None:
    report = consistent_report()
    del report.cells["disclosure/penalty/decisions"]
    failed = [r for r in results(report, "R5") if r.status is Status.FAIL]
    assert failed[0].subject == "disclosure" and failed[0].cells == ["disclosure/penalty/decisions"]
    report = consistent_report()
    report.cells["requests/new/research"].value = -2
    assert any(r.subject == "report" and r.status is Status.FAIL for r in results(report, "R5"))


def test_r5_allows_a_negative_change_in_2019() -> None:
    values = {k: 0 for k in all_keys({"disclosure": "2019", "requests": "2019"})}
    values["disclosure/fees/change"] = -1
    report = make_report(values, {"disclosure": "2019", "requests": "2019"})
    assert summarise(run_checks(report))["R5"] == "PASS"


def test_r5_fails_when_a_table_is_missing() -> None:
    report = consistent_report()
    report.templates.pop("requests")
    report.cells = {k: c for k, c in report.cells.items() if not k.startswith("requests/")}
    r5 = [r for r in results(report, "R5") if r.subject == "requests"]
    assert r5[0].status is Status.FAIL


@pytest.mark.parametrize("field", ["agency", "year"])
def test_r6_needs_agency_and_year(field: str) -> None:
    report = consistent_report()
    setattr(report, field, None)
    assert results(report, "R6", field)[0].status is Status.FAIL


def test_r6_needs_each_template() -> None:
    report = consistent_report()
    report.templates.pop("disclosure")
    assert results(report, "R6", "disclosure/template")[0].status is Status.FAIL


def test_summary_is_fail_over_uncertain_over_pass() -> None:
    report = consistent_report()
    report.cells["requests/new/research"].value = None
    report.cells["requests/carried_forward/commercial"].value = 5
    assert summarise(run_checks(report))["R1"] == "FAIL"
