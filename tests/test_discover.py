"""``nianbao discover`` against the test portal's home pages (tests/portal/sites/homes.py): every
report column found through the navigation, no decoy written, politely; the configs load, and a
crawl of one finds its reports."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
from scrapy.http import HtmlResponse
from typer.testing import CliRunner

from crawlers.config import load_config
from crawlers.discover import (
    COLUMN,
    DECOY,
    NAVIGATION,
    config_id,
    link_role,
    page_links,
    read_sites,
)
from crawlers.rawstore import RawStore
from crawlers.settings import USER_AGENT
from flows.cli import app
from flows.crawling import run_crawl
from tests.portal import fixtures
from tests.portal.content import data_file
from tests.portal.expected import EXPECTED
from tests.portal.sites import gkmlpt, hanweb, homes, trs

portal = fixtures.portal  # the session's running test portal (a pytest fixture)
SITES = ("trs", "hanweb", "gkmlpt")
MAX_PAGES = 30
FAMILY = {"trs": "trs", "hanweb": "hanweb", "gkmlpt": "gkmlpt"}


@pytest.fixture(scope="module")
def discovered(portal, tmp_path_factory) -> dict:
    """One discovery over the three home pages, from a sites CSV, politeness delay off."""
    portal.reset()
    root = tmp_path_factory.mktemp("discover")
    sites = root / "sites.csv"
    sites.write_text("name,url\n"
                     f"威海经济技术开发区管理委员会,{portal.base_url('trs')}/\n"
                     "# a comment line\n"
                     f"{portal.base_url('hanweb')}/\n"
                     f"{portal.base_url('gkmlpt')}/\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["discover", "--sites", str(sites), "--out",
                                      str(root / "configs"), "--delay", "0",
                                      "--max-pages", str(MAX_PAGES)])
    configs = {p: load_config(p) for p in sorted((root / "configs").glob("*.yaml"))}
    return {"result": result, "configs": configs, "hits": portal.log.hits(), "root": root}


def _site_of(url: str, portal) -> str:
    return next(s for s in SITES if urlsplit(portal.base_url(s)).netloc == urlsplit(url).netloc)


def test_discovery_finds_every_report_column_and_no_decoy(discovered, portal) -> None:
    assert discovered["result"].exit_code == 0, discovered["result"].output
    written = {url for c in discovered["configs"].values() for url in c.start_urls}
    expected = {portal.base_url(site) + path for site, paths in homes.COLUMNS.items()
                for path in paths}
    assert written == expected
    never = {portal.base_url(site) + path for table in (homes.DECOYS, homes.DISALLOWED_COLUMNS)
             for site, paths in table.items() for path in paths}
    assert not written & never


def test_written_configs_load_unverified_with_platform_and_evidence(discovered, portal) -> None:
    agencies = {"trs": "威海经济技术开发区管理委员会", "hanweb": hanweb.AGENCY,
                "gkmlpt": gkmlpt.AGENCY}
    for path, config in discovered["configs"].items():
        site = _site_of(config.start_urls[0], portal)
        assert path.name == f"{config.id}.yaml" == f"{config_id(config.start_urls[0])}.yaml"
        assert config.verified is False
        assert config.platform == FAMILY[site]
        assert config.agency == agencies[site]
        assert config.hosts == (urlsplit(portal.base_url(site)).hostname,)
        # The evidence: which link, on which page, and what the first list page held.
        assert "nianbao discover" in config.notes and " reports, e.g. “" in config.notes
    notes = {c.start_urls[0].split(":", 2)[2].split("/", 1)[1]: c.notes
             for c in discovered["configs"].values()}
    assert "“部门年报”" in notes[trs.BMNB.path[1:] + "index.htm"]
    assert "“政府信息公开年报” on " + portal.base_url("hanweb") + homes.HANWEB_XXGK \
        in notes[hanweb.COLUMN_PAGE[1:]]


def test_discovery_is_bounded_and_polite(discovered, portal) -> None:
    hits = discovered["hits"]
    assert {h.site for h in hits} == set(SITES)  # same site only: never the offsite host
    assert {h.headers.get("User-Agent") for h in hits} == {USER_AGENT}
    for site in SITES:
        paths = [h.path for h in hits if h.site == site]
        assert paths[0] == "/robots.txt" and paths.count("/robots.txt") == 1
        assert len(paths) <= MAX_PAGES
        assert portal.log.max_in_flight(site) == 1
        # Decoy columns are recognised by their link and never fetched (but 年度报告专栏, named
        # like a column: its list is read); robots.txt obeyed. A gkmlpt column is its #fragment.
        for path in (*homes.DECOYS.get(site, ()), *homes.DISALLOWED_COLUMNS.get(site, ())):
            if path != homes.NDBG.path and "#" not in path:
                assert path not in paths and path + "index.html" not in paths, path
        # No report page or attachment is fetched: discovery reads lists only.
        assert not [p for p in paths if "/art/" in p or "/content/" in p or "/t20" in p], paths
    gkmlpt_paths = [h.path for h in hits if h.site == "gkmlpt"]
    assert not [p for p in gkmlpt_paths if f"/api/all/{homes.GKMLPT_DECOY_COLUMN}" in p]


def test_discovery_prints_what_it_found_and_what_not(discovered, portal) -> None:
    output = discovered["result"].output
    for site in SITES:
        for path in homes.COLUMNS[site]:
            assert portal.base_url(site) + path in output
    found, _, missing = output.partition("not written")
    assert "政府网站工作年度报表" in missing and "decoy column (报表)" in missing
    assert "财政预决算" in missing and "历史年报" in missing and "robots_disallowed" in missing
    # 年度报告专栏 looks like a column by its name: its list tells it apart.
    assert "年度报告专栏" in missing and "no report among its 3 entries" in missing


@pytest.mark.slow
def test_a_discovered_config_crawls_its_reports(discovered, portal) -> None:
    config = next(p for p, c in discovered["configs"].items()
                  if c.start_urls[0].endswith(trs.BMNB.path + "index.htm"))
    data = discovered["root"] / "data"
    result = run_crawl(config, data, delay=0, timeout=300)
    (report,) = result.reports
    assert report.status == "ok", report
    base = portal.base_url("trs")
    expected = {(base + r.page, r.agency, r.year) for r in EXPECTED["trs"].reports
                if r.page.startswith(trs.BMNB.path)}
    assert len(expected) == len(trs.BMNB.articles)
    stored = {(row.url, row.agency, row.year) for row in RawStore(data).rows()
              if row.kind == "page"}
    assert stored == expected


def test_discovery_reports_a_challenged_site_and_writes_nothing(portal, tmp_path) -> None:
    portal.reset()
    result = CliRunner().invoke(app, ["discover", portal.base_url("jiasule") + "/",
                                      "--out", str(tmp_path / "configs"), "--delay", "0"])
    assert result.exit_code == 3
    assert "blocked" in result.output and "jiasule" in result.output
    assert list((tmp_path / "configs").glob("*.yaml")) == []
    assert len(portal.log.hits("jiasule")) == 1


def test_sites_file_takes_urls_or_a_name_url_csv(tmp_path) -> None:
    path = tmp_path / "sites.txt"
    path.write_text("\ufeffname,url\nhttp://a.gov.cn/\n\n# skipped\n"
                    "\"某某市人民政府\",https://www.b.gov.cn/xxgk/\n", encoding="utf-8")
    assert read_sites(path) == [(None, "http://a.gov.cn/"),
                                ("某某市人民政府", "https://www.b.gov.cn/xxgk/")]


def test_config_ids_name_host_and_column() -> None:
    assert config_id("https://www.weihai.gov.cn/zfxxgk/zfxxgknb/index.html") == \
        "weihai-zfxxgk-zfxxgknb"
    assert config_id("https://www.gd.gov.cn/gkmlpt/annualreport#5") == "gd-gkmlpt-annualreport-5"
    assert json.dumps(config_id("http://127.0.0.13:8080/col/col1001/index.html")) == \
        '"127-0-0-13-col-col1001"'


@pytest.mark.parametrize(("start", "columns"), [
    (homes.XXGK, homes.COLUMNS["trs"]),  # the 政府信息公开 page
    (trs.COLUMN, homes.COLUMNS["trs"]),  # the 年报 column itself: it and its sub-columns
    (trs.ZJ.path, homes.COLUMNS["trs"]),  # a sub-column: its left nav names the others
])
def test_discovery_starts_from_any_page_of_the_way(portal, tmp_path, start, columns) -> None:
    base = portal.base_url("trs")
    result = CliRunner().invoke(app, ["discover", base + start, "--out", str(tmp_path),
                                      "--delay", "0"])
    assert result.exit_code == 0, result.output
    written = {load_config(p).start_urls[0] for p in tmp_path.glob("*.yaml")}
    assert written == {base + path for path in columns}


def test_every_discovered_config_passes_try(discovered, monkeypatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    for path, config in discovered["configs"].items():
        result = CliRunner().invoke(app, ["try", str(path), "--delay", "0", "--json"])
        assert result.exit_code == 0, (config.start_urls, result.output)
        reports = [json.loads(line) for line in result.output.splitlines()
                   if line.startswith("{") and json.loads(line)["report"]]
        assert reports, config.start_urls


def test_links_of_a_real_trs_page_are_read_by_their_text() -> None:
    """宜春市's 政务要闻 list as the portal served it: its sidebar leads to the 年度报告 column."""
    url = "http://www.yichun.gov.cn/zwgk/zwyw/index.html"
    page = HtmlResponse(url, body=data_file("realpages/trs_yichun_zwyw_list.html"),
                        encoding="utf-8")
    roles = {(u, t): link_role(t, u) for u, t in page_links(page)}
    assert [(u, t) for (u, t), r in roles.items() if r == COLUMN] == [
        ("http://www.yichun.gov.cn/xxgk/gkndbg/", "政府信息公开年度报告")]
    navigation = {t for (u, t), r in roles.items() if r == NAVIGATION}
    assert {"政府信息公开目录", "政府部门信息公开目录"} <= navigation
    assert not navigation & {"政府信息公开指南", "依申请公开"}
    assert link_role("政府网站工作年度报表", url) == DECOY
    assert link_role("2023年度部门预决算", url) == DECOY
    assert link_role("宜春市2023年政府信息公开工作年度报告", url) is None  # a report, not a column


def test_a_bad_or_unreachable_site_is_reported_and_the_others_still_discovered(
        portal, tmp_path) -> None:
    import socket

    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    sites = tmp_path / "sites.txt"
    sites.write_text(f"http://[bad/\nhttp://127.0.0.1:{closed}/\n{portal.base_url('hanweb')}/\n",
                     encoding="utf-8")
    result = CliRunner().invoke(app, ["discover", "--sites", str(sites), "--out",
                                      str(tmp_path / "configs"), "--delay", "0"])
    assert result.exit_code == 3
    assert "bad_url" in result.output and "connection" in result.output
    written = [load_config(p).start_urls[0] for p in (tmp_path / "configs").glob("*.yaml")]
    assert written == [portal.base_url("hanweb") + hanweb.COLUMN_PAGE]


def test_discovery_stops_at_its_page_cap(portal, tmp_path) -> None:
    portal.reset()
    result = CliRunner().invoke(app, ["discover", portal.base_url("trs") + "/", "--out",
                                      str(tmp_path), "--delay", "0", "--max-pages", "4"])
    # robots.txt, the home page, 政府信息公开, then one column: the rest is listed, not fetched.
    assert len(portal.log.hits("trs")) == 4
    assert result.exit_code == 0, result.output
    assert "page cap (4) reached" in result.output
    written = [load_config(p).start_urls[0] for p in tmp_path.glob("*.yaml")]
    assert written == [portal.base_url("trs") + trs.COLUMN]
