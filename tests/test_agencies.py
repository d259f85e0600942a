"""Agency identity: names read by rules and the reviewed registry, unknown forms as findings, W1
and W3 across a renamed body, the agencies table through `nianbao query`, the cell-key
dictionary."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import load_key
from tests.test_crosschecks import findings, report
from warehouse.agencies import AgencyRegistryError, AgencyResolver, Registry, load_registry
from warehouse.cell_keys import cell_keys, enums
from warehouse.export import data_dictionary_markdown, datapackage
from warehouse.load import DocumentMeta, load_reports
from warehouse.store import Warehouse
from warehouse.views import connect

RULES_ONLY = Registry()


def resolve(name: str, region: str | None = None, registry: Registry | None = None,
            year: int | None = None):
    return AgencyResolver(registry).resolve(name, region, year)


def test_hongze_2023_and_2024_titles_are_one_agency() -> None:
    """The real reports: 洪泽区人民政府 (2023) and 淮安市洪泽区人民政府 (2024)."""
    titles = [load_key(f"hongze_district_{year}")["agency"] for year in (2023, 2024)]
    assert titles == ["洪泽区人民政府", "淮安市洪泽区人民政府"]
    for registry in (RULES_ONLY, None):  # the rules alone, and with the shipped registry
        found = [resolve(t, registry=registry).agency for t in titles]
        assert {a.agency_id for a in found} == {"320813-gov"}
        agency = found[0]
        assert (agency.name, agency.kind, agency.level, agency.division_code, agency.province,
                agency.prefecture, agency.county, agency.parent_id) == (
            "淮安市洪泽区人民政府", "government", "county", "320813", "江苏省", "淮安市", "洪泽区",
            "320800-gov")


@pytest.mark.parametrize(("name", "region", "agency_id", "kind", "level"), [
    ("淮安市人民政府", None, "320800-gov", "government", "prefecture"),
    ("上海市人民政府办公厅", None, "310000-office", "general_office", "province"),
    ("淮安市人民政府办公室", None, "320800-office", "general_office", "prefecture"),
    ("淮安市人民政府办公厅", None, "320800-office", "general_office", "prefecture"),
    ("威海经济技术开发区", None, "371000-zone-经济技术开发区", "zone_committee", "prefecture"),
    ("威海经济技术开发区管委会", None, "371000-zone-经济技术开发区", "zone_committee",
     "prefecture"),
    ("淮安市交通运输局", None, "320800-dept-交通运输局", "department", "prefecture"),
    ("淮安市 洪泽區人民政府", None, "320813-gov", "government", "county"),  # space, 區
    ("江苏省淮安市洪泽区人民政府", None, "320813-gov", "government", "county"),
    ("洪泽区高良涧街道办事处", None, "320813-town-高良涧街道", "other", "township"),
    ("河包镇", "重庆市荣昌区", "500153-town-河包镇", "government", "township"),  # a real portal
    ("朝阳区人民政府", "北京市", "110105-gov", "government", "county"),
    ("朝阳区人民政府", "吉林省长春市", "220104-gov", "government", "county"),
    ("淮安市人民政府", "江苏省淮安市洪泽区", "320800-gov", "government", "prefecture"),
    ("淮安市人民政府", "北京市", "320800-gov", "government", "prefecture"),
    ("淮安市洪泽区教育局", "江苏省淮安市洪泽区", "320813-dept-教育局", "department", "county"),
    ("重庆市大足区人民政府", None, "500111-gov", "government", "county"),
    ("国务院办公厅", None, "cn-office", "general_office", "central"),
])
def test_rules_read_region_and_form(name, region, agency_id, kind, level) -> None:
    result = resolve(name, region, RULES_ONLY)
    assert result.kind == "identified", result.message
    assert (result.agency.agency_id, result.agency.kind, result.agency.level) == (
        agency_id, kind, level)


def test_fullwidth_and_office_forms_share_a_canonical_name() -> None:
    assert (resolve("上海市人民政府办公室", registry=RULES_ONLY).agency.name
            == "上海市人民政府办公厅")
    # no guessing past junk
    assert resolve("ＸＸ淮安市人民政府", registry=RULES_ONLY).agency is None


def test_registry_aliases_apply() -> None:
    """洪泽县 is no longer a division: only the registry knows it is the same body."""
    assert resolve("洪泽县人民政府", registry=RULES_ONLY).kind == "unknown_region"
    found = resolve("洪泽县人民政府").agency
    assert found.agency_id == "320813-gov" and "data team" in found.source
    zone = resolve("杨凌示范区管委会", "陕西省杨凌示范区").agency
    assert (zone.agency_id, zone.division_code, zone.prefecture) == (
        "610403-zone-杨凌示范区", "610403", "咸阳市")


@pytest.mark.parametrize(("name", "region", "kind"), [
    ("甲县人民政府", None, "unknown_region"),        # no such division
    ("朝阳区人民政府", None, "ambiguous_region"),     # 北京市朝阳区 or 长春市朝阳区
    ("淮安市某某某", None, "unknown_form"),           # a region, then no form of a body
    ("平潭综合实验区", None, "unknown_region"),
    ("河包镇", None, "unknown_region"),             # a township, but in which county?
    ("河包镇", "重庆市", "unknown_region"),         # the portal's region is no county
])
def test_unknown_forms_are_findings_not_guesses(name, region, kind) -> None:
    result = resolve(name, region, RULES_ONLY)
    assert (result.agency, result.kind) == (None, kind)
    assert "agencies.yaml" in result.message


def write_registry(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agencies.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


ENTRY = """
- agency_id: 320813-gov
  name: 淮安市洪泽区人民政府
  kind: government
  division_code: {code}
  aliases: [洪泽县人民政府]
  who: data team
  why: renamed
  source: {source}
"""


def test_registry_refuses_entries_without_source_or_with_bad_codes(tmp_path: Path) -> None:
    assert load_registry(write_registry(tmp_path, ENTRY.format(code="320813", source="x")))
    with pytest.raises(AgencyRegistryError, match="missing source"):
        load_registry(write_registry(tmp_path, ENTRY.format(code="320813", source="")))
    with pytest.raises(AgencyRegistryError, match="999999 is not a GB/T 2260 code"):
        load_registry(write_registry(tmp_path, ENTRY.format(code="999999", source="x")))
    twice = ENTRY.format(code="320813", source="x") + ENTRY.format(
        code="320800", source="x").replace("320813-gov", "320800-gov")
    with pytest.raises(AgencyRegistryError, match="already names 320813-gov"):
        load_registry(write_registry(tmp_path, twice))


def test_a_split_name_means_one_body_before_and_another_after(tmp_path: Path) -> None:
    """巢湖市人民政府: the prefecture until 2010, the county-level city from 2011 (registry)."""
    assert [resolve("巢湖市人民政府", year=y).agency.agency_id for y in (2010, 2011)] == [
        "341400-gov", "340181-gov"]
    load_reports(Warehouse(tmp_path), [report("巢湖市人民政府", 2010, carried_forward=2),
                                       report("巢湖市人民政府", 2011, carried_over=2)])
    assert findings(tmp_path, "W1") == []  # two bodies: no continuity between them
    assert connect(tmp_path).execute(
        "SELECT a.agency_id, a.level, a.prefecture FROM reports r JOIN agencies a "
        "USING (agency_id) ORDER BY r.year").fetchall() == [
        ("341400-gov", "prefecture", "巢湖市"), ("340181-gov", "county", "合肥市")]


YEAR_BOUND = """
- agency_id: 320813-gov
  name: 淮安市洪泽区人民政府
  kind: government
  aliases: [{{name: 某某县人民政府, until: 2010}}]
  who: data team
  why: test
  source: test
- agency_id: 320800-gov
  name: 淮安市人民政府
  kind: government
  aliases: [{{name: 某某县人民政府, from: {second}}}]
  who: data team
  why: test
  source: test
"""


def test_year_bound_aliases_may_share_a_name_in_different_years(tmp_path: Path) -> None:
    registry = load_registry(write_registry(tmp_path, YEAR_BOUND.format(second=2011)))
    assert [registry.lookup("某某县人民政府", y).agency_id for y in (2010, 2011)] == [
        "320813-gov", "320800-gov"]
    assert registry.lookup("某某县人民政府", None) is None  # a year-bound name needs the year
    with pytest.raises(AgencyRegistryError, match="already names 320813-gov in those years"):
        load_registry(write_registry(tmp_path, YEAR_BOUND.format(second=2010)))
    with pytest.raises(AgencyRegistryError, match="is not {name, from and/or until}"):
        load_registry(write_registry(tmp_path, YEAR_BOUND.format(second=2011).replace(
            "from:", "since:")))


def test_the_shipped_registry_loads() -> None:
    assert "320813-gov" in load_registry().agencies


def test_w1_continuity_across_a_renamed_body(tmp_path: Path) -> None:
    load_reports(Warehouse(tmp_path), [
        report("洪泽区人民政府", 2023, carried_forward=2),
        report("淮安市洪泽区人民政府", 2024, carried_over=2),      # continues under its new title
        report("淮安市人民政府", 2023, carried_forward=5),
        report("淮安市人民政府办公室", 2024, carried_over=5),       # another body: no pair
        report("淮安市人民政府", 2024, carried_over=4),            # breaks
    ])
    statuses = {(scope, status) for scope, _, status, _, _ in findings(tmp_path, "W1")}
    assert statuses == {("320813-gov/2024", "PASS"), ("320800-gov/2024", "FAIL")}


def test_registry_change_joins_reports_already_loaded(tmp_path: Path) -> None:
    """Loaded before the registry knew 洪泽县, the 2015 report is joined to the body later."""
    load_reports(Warehouse(tmp_path), [report("洪泽县人民政府", 2015, carried_forward=3)],
                 agency_registry=RULES_ONLY)
    con = connect(tmp_path)
    assert con.execute("SELECT agency_id FROM reports").fetchall() == [(None,)]
    assert con.execute("SELECT subject, status FROM quality WHERE rule = 'A1'").fetchall() == [
        ("unknown_region", "UNCERTAIN")]
    load_reports(Warehouse(tmp_path), [report("淮安市洪泽区人民政府", 2016, carried_over=3)])
    con = connect(tmp_path)
    assert con.execute("SELECT DISTINCT agency_id FROM reports").fetchall() == [("320813-gov",)]
    assert findings(tmp_path, "W1")[0][:3] == (
        "320813-gov/2016", "requests/carried_over/commercial", "PASS")
    assert con.execute("SELECT subject, status FROM quality WHERE rule = 'A1' ORDER BY scope"
                       ).fetchall() == [("identified", "PASS")] * 2


def test_one_canonical_report_per_body_and_year(tmp_path: Path) -> None:
    """Two titles of one body in one year: one canonical, and W4 compares them."""
    load_reports(Warehouse(tmp_path), [report("洪泽区人民政府", 2024, sha="a" * 64),
                                       report("淮安市洪泽区人民政府", 2024, sha="b" * 64)])
    con = connect(tmp_path)
    assert con.execute("SELECT count(*) FILTER (WHERE canonical), count(*) FROM reports"
                       ).fetchone() == (1, 2)
    assert [(s, st) for s, _, st, _, _ in findings(tmp_path, "W4")] == [("320813-gov/2024",
                                                                          "PASS")]


def test_w3_finds_an_expected_body_under_another_title(tmp_path: Path) -> None:
    present = report("洪泽区人民政府", 2023)
    load_reports(Warehouse(tmp_path), [present], {present.sha256: DocumentMeta(
        portal_id="hz", region="江苏省淮安市洪泽区")},
        expected_agencies={"hz": ["淮安市洪泽区人民政府", "淮安市洪泽区教育局"]})
    found = {(subject, status) for _, subject, status, _, _ in findings(tmp_path, "W3")}
    assert found == {("淮安市洪泽区人民政府", "PASS"), ("淮安市洪泽区教育局", "FAIL")}


@pytest.mark.slow  # a `nianbao` subprocess
def test_agencies_table_through_nianbao_query(tmp_path: Path) -> None:
    load_reports(Warehouse(tmp_path), [report("洪泽区人民政府", 2023),
                                       report("淮安市洪泽区人民政府", 2024),
                                       report("甲县人民政府", 2024)])
    sql = ("SELECT agency_id, name, aliases, province, prefecture, county, division_code, level, "
           "kind, parent_id FROM agencies WHERE agency_id = '320813-gov'")
    done = subprocess.run([sys.executable, "-m", "flows.cli", "query", sql, "--data-dir",
                           str(tmp_path), "--format", "json"], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [{
        "agency_id": "320813-gov", "name": "淮安市洪泽区人民政府",
        "aliases": ["洪泽区人民政府", "洪泽县人民政府", "淮安市洪泽区人民政府"],
        "province": "江苏省", "prefecture": "淮安市", "county": "洪泽区",
        "division_code": "320813", "level": "county", "kind": "government",
        "parent_id": "320800-gov"}]
    con = connect(tmp_path)
    # the researcher's question: county governments of 江苏省, by year
    assert con.execute("SELECT a.agency_id, w.year FROM requests_wide w JOIN agencies a "
                       "USING (agency_id) WHERE a.province = '江苏省' AND a.level = 'county' "
                       "AND a.kind = 'government' ORDER BY w.year").fetchall() == [
        ("320813-gov", 2023), ("320813-gov", 2024)]
    assert con.execute("SELECT DISTINCT agency_id FROM cells ORDER BY 1").fetchall() == [
        ("320813-gov",), (None,)]
    assert con.execute("SELECT scope, subject, status FROM quality WHERE rule = 'A1' "
                       "AND status <> 'PASS'").fetchall() == [
        ("agency:甲县人民政府/2024", "unknown_region", "UNCERTAIN")]


def test_cell_key_dictionary_comes_from_the_template_schema() -> None:
    keys = {k.key: k for k in cell_keys()}
    secret = keys["requests/denied_secret/natural_person"]
    assert (secret.row_labels, secret.col_label, secret.templates, secret.unit) == (
        {"2019": "1.属于国家秘密", "2021": "1.属于国家秘密"}, "自然人", ("2019", "2021"), "count")
    assert keys["disclosure/procurement/amount"].unit == "万元"
    assert "本年收费金额(万元)" in keys["disclosure/fees/amount"].col_label
    assert keys["disclosure/normative/in_force"].templates == ("2021",)
    assert keys["requests/other_misc/total"].templates == ("2021",)
    assert keys["requests/new/org_subtotal"].optional
    assert ("| disclosure/normative/made | 规范性文件 | 本年新制作数量; 本年制作数量 "
            "| 2019 | count |" in data_dictionary_markdown())
    cells = next(r for r in datapackage()["resources"] if r["name"] == "cells")
    fields = {f["name"]: f for f in cells["schema"]["fields"]}
    assert fields["row"]["constraints"]["enum"] == enums()["row"]
    assert {"carried_over", "denied_secret", "litigation_after_review"} <= set(enums()["row"])
    assert fields["table"]["constraints"]["enum"] == ["disclosure", "requests", "appeals"]
    assert "agency_id" in fields


def test_a_warehouse_from_before_agency_ids_is_upgraded_by_the_next_load(tmp_path: Path) -> None:
    """Reports written without the agency_id column keep their rows and gain their ids."""
    from deltalake import write_deltalake

    warehouse = Warehouse(tmp_path)
    load_reports(warehouse, [report("洪泽区人民政府", 2023, carried_forward=2)])
    with warehouse.transaction("old-writer") as tx:  # the reports table as it was before
        old = warehouse.read("reports").drop_columns(["agency_id"])
        write_deltalake(warehouse.path("reports"), old, mode="overwrite", schema_mode="overwrite")
        tx._done("reports")
    assert "agency_id" not in warehouse.read("reports").column_names
    load_reports(warehouse, [report("淮安市洪泽区人民政府", 2024, carried_over=2)])
    assert connect(tmp_path).execute("SELECT year, agency_id, canonical FROM reports ORDER BY year"
                                     ).fetchall() == [(2023, "320813-gov", True),
                                                      (2024, "320813-gov", True)]
    assert {status for _, _, status, _, _ in findings(tmp_path, "W1")} == {"PASS"}
