"""``nianbao report``: the static HTML report over a real warehouse (the corpus reports), opened
in headless Chromium (Debian's chromium and chromedriver, driven by Selenium); the run summary's
coverage plot and the failures' document links in a real nightly flow run."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from extract import extract_document
from flows.summary import COVERAGE_IMAGE, warehouse_findings
from tests.portal import fixtures
from warehouse.load import DocumentMeta, load_reports
from warehouse.query import run_query
from warehouse.report import PLOTS, QUERIES, coverage_png
from warehouse.report_html import format_value
from warehouse.report_plots import cjk_font
from warehouse.store import Warehouse
from warehouse.views import DamagedTable, connect

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).parents[1]
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
CORPUS = ["weihai_2020.docx", "weihai_2020.pdf", "shanghai_gov_office_2019.html",
          "hongze_district_2023.pdf", "huaian_city_2024.pdf"]
PNG = b"\x89PNG\r\n\x1a\n"

portal = fixtures.portal


@pytest.fixture(scope="module")
def warehouse_dir(tmp_path_factory) -> Path:
    """The corpus reports the warehouse tests load, each with the URL a crawl would record."""
    data_dir = tmp_path_factory.mktemp("report") / "data"
    reports = [extract_document(DATA / name) for name in CORPUS]
    metas = {r.sha256: DocumentMeta(source_url=f"http://example.gov.cn/{name}")
             for r, name in zip(reports, CORPUS, strict=True)}
    load_reports(Warehouse(data_dir), reports, metas)
    return data_dir


def nianbao(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(sys.executable).with_name("nianbao")), *args],
                          capture_output=True, text=True, timeout=300, cwd=REPO)


def chromium(tmp_path: Path):
    if not (CHROMIUM and CHROMEDRIVER):
        if os.environ.get("CI"):
            pytest.fail("chromium and chromium-driver must be installed (.ci/run does it)")
        pytest.skip("Debian's chromium and chromium-driver are not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--window-size=1400,1000",
                 f"--user-data-dir={tmp_path / 'chromium'}"):
        options.add_argument(flag)
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must not try to download anything
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def printed(text: str) -> float | None:
    return None if text == "—" else float(text)


@pytest.mark.slow
def test_report_renders_in_chromium_with_every_image_and_the_queries_numbers(
        warehouse_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    done = nianbao("report", "--out", str(out), "--data-dir", str(warehouse_dir))
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == str(out / "index.html")
    html = (out / "index.html").read_text(encoding="utf-8")
    assert "http://" not in html.replace("http://example.gov.cn", "")  # nothing fetched
    assert not re.search(r"""(src|href)=["'](https?:)?//""", html)

    # the numbers the page prints: the same SQL file run directly through DuckDB
    con = connect(warehouse_dir)
    by_year = con.execute((QUERIES / "requests_by_year.sql").read_text(encoding="utf-8"))
    columns = [d[0] for d in by_year.description]
    direct = {row[0]: dict(zip(columns, row, strict=True)) for row in by_year.fetchall()}
    coverage = con.execute((QUERIES / "coverage_by_province_year.sql").read_text(
        encoding="utf-8")).fetchall()
    con.close()
    assert direct[2024]["received"] == 3119  # the 淮安市 2024 PDF's 本年新收 (its answer key)

    driver = chromium(tmp_path)
    try:
        driver.get((out / "index.html").as_uri())
        images = driver.find_elements("tag name", "img")
        assert len(images) == len(PLOTS)
        for image in images:
            assert driver.execute_script(
                "return arguments[0].complete && arguments[0].naturalWidth", image) > 0, \
                image.get_attribute("src")
        rows = driver.execute_script("""
            return [...document.querySelectorAll('#rows-requests_by_year tbody tr')].map(tr =>
                Object.fromEntries([...tr.cells].map(td => [td.dataset.column,
                                                            td.textContent])));""")
        assert {int(r["year"]) for r in rows} == set(direct)
        for row in rows:
            for column in ("received", "answered", "carried_forward"):
                assert printed(row[column]) == direct[int(row["year"])][column]
        jiangsu = driver.execute_script("""
            return [...document.querySelectorAll('#rows-coverage_by_province_year tbody tr')]
                .map(tr => [...tr.cells].map(td => td.textContent))
                .filter(cells => cells[0] === '江苏省' && cells[1] === '2024')[0];""")
        expected = next(r for r in coverage if r[0] == "江苏省" and r[1] == 2024)
        assert jiangsu == [format_value(v) for v in expected]
        shown_sql = driver.find_element("css selector", "#outcome_shares pre.sql").text
        assert shown_sql == (QUERIES / "outcome_shares.sql").read_text(encoding="utf-8").strip()
        driver.save_screenshot(str(tmp_path / "report.png"))
    finally:
        driver.quit()


@pytest.mark.slow
def test_empty_warehouse_gives_a_no_data_note_per_figure(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "requests_by_year.png").write_bytes(PNG)  # an earlier report's figure
    done = nianbao("report", "--out", str(tmp_path / "out"), "--data-dir", str(tmp_path / "data"))
    assert done.returncode == 0, done.stderr[-3000:]
    html = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert "<img" not in html and not list((tmp_path / "out").glob("*.png"))
    for plot in PLOTS:
        assert f'id="note-{plot.name}">no data' in html
        assert f'id="{plot.name}"' in html


def test_missing_data_dir_is_one_clear_line(tmp_path: Path) -> None:
    done = nianbao("report", "--out", str(tmp_path / "out"), "--data-dir",
                   str(tmp_path / "nothing"))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().startswith(f"no_warehouse: no data dir {tmp_path / 'nothing'}")


@pytest.mark.slow
def test_a_damaged_table_notes_its_figures_and_the_others_still_draw(
        warehouse_dir: Path, tmp_path: Path) -> None:
    data = shutil.copytree(warehouse_dir, tmp_path / "data")
    for damaged in (data / "warehouse" / "cells").rglob("*.parquet"):
        damaged.write_bytes(damaged.read_bytes()[:2000])  # writes cut short: no footer
    done = nianbao("report", "--out", str(tmp_path / "out"), "--data-dir", str(data))
    assert done.returncode == 0, done.stderr[-3000:]
    html = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    for name in ("outcome_shares", "appeals_outcomes"):  # read cells
        assert re.search(f'id="note-{name}">no data: the query could not run '
                         r"\(damaged_table: table cells is damaged", html), name
    for name in ("requests_by_year",  # reads the materialized requests_wide
                 "coverage_by_province_year", "arithmetic_failure_rates"):  # do not
        assert f'id="img-{name}"' in html and (tmp_path / "out" / f"{name}.png").stat().st_size


def test_a_join_using_query_over_a_damaged_table_names_it(warehouse_dir: Path,
                                                          tmp_path: Path) -> None:
    """DuckDB cannot list the tables of this SQL without the catalog; it still reads cells."""
    data = shutil.copytree(warehouse_dir, tmp_path / "data")
    damaged = next((data / "warehouse" / "cells").rglob("*.parquet"))
    damaged.write_bytes(damaged.read_bytes()[:2000])
    with pytest.raises(DamagedTable, match="table cells is damaged"):
        run_query(data, "SELECT count(*) FROM cells c JOIN reports r USING (report_id) "
                        "WHERE r.canonical -- not the agencies")
    assert run_query(data, "SELECT count(*) FROM reports r JOIN agencies a USING (agency_id) "
                           "WHERE r.canonical -- cells is damaged, not read").rows == [(4,)]


def test_coverage_expects_the_bodies_portal_configs_list(tmp_path: Path) -> None:
    """A config lists 淮阴区 beside 洪泽区: in each year its portal published for, 淮阴区 is
    expected in the portal's province and, without a report, not found."""
    reports = [extract_document(DATA / n) for n in ("hongze_district_2023.pdf",
                                                    "hongze_district_2024.pdf")]
    load_reports(Warehouse(tmp_path), reports, {r.sha256: DocumentMeta(portal_id="hz")
                                                for r in reports},
                 expected_agencies={"hz": ["淮安市洪泽区人民政府", "淮安市淮阴区人民政府"]})
    con = connect(tmp_path)
    jiangsu = con.execute("SELECT agency_id FROM agencies WHERE province = '江苏省'").fetchall()
    assert "淮安市淮阴区人民政府" not in {n for (n,) in con.execute(
        "SELECT name FROM agencies").fetchall()}
    con.close()
    result = run_query(tmp_path, (QUERIES / "coverage_by_province_year.sql").read_text(
        encoding="utf-8"))
    rows = {(r[0], r[1]): r[2:] for r in result.rows}
    for year in (2023, 2024):
        expected, found, pct = rows[("江苏省", year)]
        assert (expected, found) == (len(jiangsu) + 1, 1)
        assert pct == round(100.0 / expected, 1)


def test_chinese_labels_render_with_noto_sans_cjk_not_tofu(warehouse_dir: Path) -> None:
    if cjk_font() is None:
        if os.environ.get("CI"):
            pytest.fail("fonts-noto-cjk must be installed (.ci/run does it)")
        pytest.skip("Noto Sans CJK is not installed")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = coverage_png(warehouse_dir)
    assert png is not None and png.startswith(PNG)
    missing = [str(w.message) for w in caught if "missing from" in str(w.message)]
    assert missing == []  # matplotlib warns for every glyph its font lacks (drawn as tofu)


def test_failures_link_their_document_raw_object_page_and_location(
        warehouse_dir: Path) -> None:
    con = connect(warehouse_dir)
    run_id = con.execute("SELECT min(run_id) FROM runs").fetchone()[0]
    failures, _ = warehouse_findings(warehouse_dir, run_id)
    r4 = [f for f in failures if f["rule"] == "R4"]
    assert r4  # the 洪泽区 2023 PDF breaks R4 in print
    for failure in r4:
        (sha, url), = con.execute(
            "SELECT document_sha256, source_url FROM reports WHERE agency = ? AND year = ?",
            [failure["agency"], failure["year"]]).fetchall()
        assert failure["document"] == url == "http://example.gov.cn/hongze_district_2023.pdf"
        assert failure["raw"] == str(warehouse_dir / "raw" / "objects" / sha[:2] / sha)
        total = failure["subject"].replace("*", "total")  # the row's total, where R4 looks first
        (page, location), = con.execute(
            "SELECT page, location FROM cells c JOIN reports r USING (report_id) "
            "WHERE r.document_sha256 = ? AND c.\"table\" || '/' || c.\"row\" || '/' || c.col = ?",
            [sha, total]).fetchall()
        assert (failure["page"], failure["location"]) == (page, location)
        assert failure["page"] > 0 and failure["location"]
    con.close()


def test_summary_of_an_empty_warehouse_says_there_is_no_coverage_yet(tmp_path: Path) -> None:
    from flows.summary import RunSummary, markdown
    from warehouse.load import LoadResult

    text = markdown(RunSummary("r1", [], LoadResult("r1")), tmp_path)
    assert "## Coverage\n\nno data: the warehouse holds no canonical report yet" in text
    assert "data:image" not in text and not (tmp_path / COVERAGE_IMAGE).exists()


@pytest.mark.slow
def test_nightly_summary_carries_the_coverage_plot_and_failure_links(portal,
                                                                   tmp_path: Path) -> None:
    """A real nightly flow run (Prefect test harness) against the test portal's TRS site."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.testing.utilities import prefect_test_harness

    from flows.nightly import nightly
    from flows.summary import FAILURES_KEY, SUMMARY_KEY
    from tests.portal.expected import EXPECTED
    from tests.portal.fixtures import write_configs

    portal.reset()
    with prefect_test_harness(server_startup_timeout=120):
        write_configs(portal, tmp_path / "all")
        configs = tmp_path / "configs"
        configs.mkdir()
        name = f"{EXPECTED['trs'].portal_id}.yaml"
        shutil.copy(tmp_path / "all" / name, configs / name)
        data = tmp_path / "data"
        state = nightly(portals=str(configs), data_dir=str(data), delay=0, return_state=True)
        assert state.is_completed()
        with get_client(sync_client=True) as client:
            found = {key: [a for a in client.read_artifacts(artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=[key]))) if a.flow_run_id ==
                state.state_details.flow_run_id] for key in (SUMMARY_KEY, FAILURES_KEY)}
    (summary,), (failures,) = found[SUMMARY_KEY], found[FAILURES_KEY]
    inline = re.search(r"!\[coverage by province and year\]\(data:image/png;base64,([^)]+)\)",
                       summary.data)
    assert inline, summary.data[:3000]
    image = base64.b64decode(inline.group(1))
    assert image.startswith(PNG) and image == (data / COVERAGE_IMAGE).read_bytes()
    assert f"file: `{data / COVERAGE_IMAGE}`" in summary.data
    table = json.loads(failures.data) if isinstance(failures.data, str) else failures.data
    broken = next(r for r in EXPECTED["trs"].reports if r.failing_checks)
    r1 = [row for row in table if row["rule"] == "R1" and row["agency"] == broken.agency]
    assert r1
    for row in r1:
        assert row["document"].startswith(portal.base_url("trs"))
        sha = Path(row["raw"]).name
        assert Path(row["raw"]) == data / "raw" / "objects" / sha[:2] / sha
        assert Path(row["raw"]).is_file()
        assert row["location"]  # the row of the printed table the broken total is on
        assert f"[document]({row['document']})" in summary.data
