"""Crawling the local test portal (tests/portal/) with the real Scrapy crawler, in a subprocess.

Each test site's documents are asserted exactly against tests/portal/expected.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from scrapy.http import HtmlResponse
from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.test import get_crawler

from crawlers.items import DocumentSink, FetchedDocument
from crawlers.pipelines import RawStorePipeline
from crawlers.rawstore import RawStore
from crawlers.report import COUNTERS, CrawlReport, counter_key
from crawlers.spiders.portal import is_soft_404
from crawlers.state import CrawlState
from flows.crawling import run_crawl
from tests.portal import fixtures
from tests.portal.expected import EXPECTED, OFFSITE
from tests.portal.fixtures import write_configs

portal = fixtures.portal  # the session's running test portal (a pytest fixture)

REPORTED_AS = {"404": "http_404"}  # the crawl report names HTTP failures http_<status>
CRAWLED_SITES = [s for s, e in EXPECTED.items() if not e.blocked]
BLOCKED_SITES = [s for s, e in EXPECTED.items() if e.blocked]


def config_of(configs: Path, site: str) -> Path:
    return configs / f"{EXPECTED[site].portal_id}.yaml"


def expected_documents(portal, site: str) -> set[tuple]:
    """(portal, agency, year, url, sha256) of every report page and attachment, reposts and
    （图片版）/（超链版） variants included. A mobile (_wap) twin linked only from its article's
    手机版 link is not a listed report and is not fetched."""
    e, base = EXPECTED[site], portal.base_url(site)
    found = set()
    for report in e.reports:
        if report.page_sha256:
            found.add((e.portal_id, report.agency, report.year, base + report.page,
                       report.page_sha256))
        found |= {(e.portal_id, report.agency, report.year, base + a.path, a.sha256)
                  for a in report.attachments}
    for duplicate in e.duplicates:
        if duplicate.kind != "wap":
            of = next(r for r in e.reports if r.page == duplicate.of)
            found.add((e.portal_id, of.agency, of.year, base + duplicate.path, duplicate.sha256))
            found |= {(e.portal_id, of.agency, of.year, base + document.path, document.sha256)
                      for document in duplicate.documents}  # 图片版 pictures, a scanned PDF
    return found


@pytest.fixture(scope="module")
def crawled(portal, tmp_path_factory) -> dict:
    """One crawl of every portal config, politeness off; then a second, incremental one."""
    portal.reset()
    root = tmp_path_factory.mktemp("crawl")
    configs = root / "configs"
    write_configs(portal, configs)
    first = run_crawl(configs, root / "data", delay=0, timeout=600)
    first_hits = list(portal.log)
    first_rows = list(RawStore(root / "data").rows())
    portal.log.clear()
    # Ask the server about every document again (conditional requests, answered 304) ...
    second = run_crawl(configs, root / "data", delay=0, timeout=600, recheck_days=0)
    second_hits = list(portal.log)
    second_rows = list(RawStore(root / "data").rows())[len(first_rows):]
    portal.log.clear()
    # ... and with the default recheck window: documents seen lately are not requested at all.
    third = run_crawl(configs, root / "data", delay=0, timeout=600)
    return {"root": root, "configs": configs, "first": first, "second": second, "third": third,
            "first_hits": first_hits, "second_hits": second_hits, "third_hits": list(portal.log),
            "first_rows": first_rows, "second_rows": second_rows}


def reports_by_portal(result) -> dict[str, CrawlReport]:
    return {r.portal_id: r for r in result.reports}


@pytest.mark.parametrize("site", CRAWLED_SITES)
def test_each_site_yields_exactly_its_reports(crawled, portal, site: str) -> None:
    e = EXPECTED[site]
    found = {(r.portal_id, r.agency, r.year, r.url, r.sha256) for r in crawled["first_rows"]
             if r.portal_id == e.portal_id}
    assert found == expected_documents(portal, site)
    assert reports_by_portal(crawled["first"])[e.portal_id].status == "ok"


@pytest.mark.parametrize("site", CRAWLED_SITES)
def test_decoys_are_not_fetched_as_reports(crawled, portal, site: str) -> None:
    urls = {r.url for r in crawled["first_rows"]}
    decoys = {portal.base_url(site) + d.path for d in EXPECTED[site].decoys}
    assert not urls & decoys
    report = reports_by_portal(crawled["first"])[EXPECTED[site].portal_id]
    assert report.decoys_skipped >= len(EXPECTED[site].decoys)


def test_no_request_left_the_allowed_hosts(crawled) -> None:
    assert [h for h in crawled["first_hits"] + crawled["second_hits"] if h.site == OFFSITE] == []


def test_no_request_touched_a_robots_disallowed_path(crawled) -> None:
    for site, e in EXPECTED.items():
        for hit in crawled["first_hits"] + crawled["second_hits"]:
            if hit.site == site:
                assert not any(hit.path.startswith(p) for p in e.robots_disallowed), hit.path


def test_one_request_in_flight_per_host(crawled) -> None:
    """Every crawl, every site: a request starts only after the previous one to that host ended
    (as RequestLog.max_in_flight counts it, over all three crawls' hits)."""
    hits = crawled["first_hits"] + crawled["second_hits"] + crawled["third_hits"]
    for site in EXPECTED:
        events = sorted([(h.start, 1) for h in hits if h.site == site]
                        + [(h.end, -1) for h in hits if h.site == site])
        in_flight = peak = 0
        for _, step in events:
            in_flight += step
            peak = max(peak, in_flight)
        assert peak == 1, site


def test_second_crawl_downloads_nothing_new(crawled) -> None:
    for report in crawled["second"].reports:
        assert report.documents_new == 0, report.portal_id
    assert crawled["second_rows"] and all(r.http_status == 304 and not r.new
                                          for r in crawled["second_rows"])
    stored = {urlsplit(r.url).path + (f"?{urlsplit(r.url).query}" if urlsplit(r.url).query
                                      else "") for r in crawled["first_rows"]}
    fetched_again = [h for h in crawled["second_hits"] if h.status == 200 and h.path in stored]
    assert fetched_again == []


def test_documents_seen_lately_are_not_requested_again(crawled) -> None:
    stored = {urlsplit(r.url).path for r in crawled["first_rows"]}
    asked = [h.path for h in crawled["third_hits"] if urlsplit(h.path).path in stored]
    assert asked == []  # only list pages and robots.txt went over the wire
    for report in crawled["third"].reports:
        first = reports_by_portal(crawled["first"])[report.portal_id]
        assert report.documents_new == 0 and report.status == first.status
        assert report.documents_unchanged == first.documents_new + first.documents_unchanged


def test_a_repost_is_known_by_its_sha256(crawled, portal) -> None:
    """The Shanghai report served byte for byte under a second URL is stored once."""
    static = [r for r in crawled["first_rows"] if r.portal_id == EXPECTED["static"].portal_id]
    by_sha: dict[str, set[str]] = {}
    for row in static:
        by_sha.setdefault(row.sha256, set()).add(row.url)
    twice = [urls for urls in by_sha.values() if len(urls) > 1]
    assert twice, "the repost under a second URL was not seen"
    store = RawStore(crawled["root"] / "data")
    assert all(store.has(sha) for sha in by_sha)


@pytest.mark.parametrize("site", BLOCKED_SITES)
def test_challenge_pages_are_recorded_as_blocked_without_retries(crawled, site: str) -> None:
    e = EXPECTED[site]
    report = reports_by_portal(crawled["first"])[e.portal_id]
    assert report.status == "blocked" and report.blocked == [f"blocked:{e.blocked}"]
    hits = [h for h in crawled["first_hits"] if h.site == site]
    assert 1 <= len(hits) <= 2  # robots.txt and at most the start page: no retry storm
    assert len({h.path for h in hits}) == len(hits)


def test_every_failure_is_in_the_crawl_report_with_its_reason(crawled, portal) -> None:
    for site in CRAWLED_SITES:
        e = EXPECTED[site]
        errors = reports_by_portal(crawled["first"])[e.portal_id].errors
        for incident in e.incidents:
            if incident.recovered:
                continue
            base = portal.base_url(incident.site or site)
            kind = REPORTED_AS.get(incident.reason, incident.reason)
            assert base + incident.path in errors.get(kind, []), (site, incident)
    recovered = [i for i in EXPECTED["errors"].incidents if i.recovered]
    urls = {r.url for r in crawled["first_rows"]}
    assert {i.reason for i in recovered} == {"http_500", "http_503", "slow"}
    assert all(portal.base_url("errors") + i.path in urls for i in recovered)
    assert reports_by_portal(crawled["first"])[EXPECTED["errors"].portal_id].retries >= 2


def test_mislabelled_gbk_page_is_decoded(crawled) -> None:
    titles = {r.title for r in crawled["first_rows"]
              if r.portal_id == EXPECTED["gbk"].portal_id and r.title}
    assert any("镕" in t for t in titles) and not any("\ufffd" in t for t in titles)


def test_portal_that_had_reports_and_now_has_none_is_an_error(crawled, portal, tmp_path) -> None:
    e = EXPECTED["trs"]
    moved = tmp_path / f"{e.portal_id}.yaml"
    moved.write_text(f"id: {e.portal_id}\nagency: {e.agency}\n"
                     f"start_urls: [\"{portal.base_url('trs')}/zfxxgk/gone/index.html\"]\n",
                     encoding="utf-8")
    result = run_crawl(moved, crawled["root"] / "data", delay=0, timeout=300)
    (report,) = result.reports
    assert report.status == "error" and "an earlier crawl found" in report.message
    assert not result.ok


def test_invalid_config_is_rejected_naming_the_key(tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x1\nagency: 某\nstart_url: [\"http://127.0.0.1/\"]\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "flows.cli", "crawl", "--portals", str(bad),
                           "--data-dir", str(tmp_path / "d")], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2 and "start_url" in done.stdout + done.stderr


@pytest.mark.slow
def test_interrupted_crawl_resumes(portal, tmp_path) -> None:
    """SIGINT stops the crawl gracefully mid-way; the next crawl resumes from its JOBDIR and no
    document is downloaded twice."""
    portal.reset()
    configs = tmp_path / "configs"
    write_configs(portal, configs)
    config = config_of(configs, "hanweb")
    command = [sys.executable, "-m", "crawlers.run", "--portals", str(config), "--data-dir",
               str(tmp_path / "data"), "--delay", "0.05", "--log-level", "WARNING"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True)
    manifest = tmp_path / "data" / "raw" / "manifest.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (
            not manifest.exists() or len(manifest.read_text(encoding="utf-8").splitlines()) < 10):
        time.sleep(0.05)  # interrupt once some documents are stored, long before the end
    os.kill(process.pid, signal.SIGINT)
    out, _ = process.communicate(timeout=120)
    interrupted = json.loads(out.splitlines()[-1])
    assert interrupted["finish_reason"] == "shutdown" and interrupted["status"] == "error"
    assert (tmp_path / "data" / "state" / "jobs" / EXPECTED["hanweb"].portal_id).exists()
    stored = len(list(RawStore(tmp_path / "data").rows()))
    assert 0 < stored < len(expected_documents(portal, "hanweb"))

    resumed = run_crawl(config, tmp_path / "data", delay=0, timeout=600)
    assert resumed.reports[0].status == "ok"
    rows = list(RawStore(tmp_path / "data").rows())
    found = {(r.portal_id, r.agency, r.year, r.url, r.sha256) for r in rows}
    assert found == expected_documents(portal, "hanweb")
    downloads = [h.path for h in portal.log.hits("hanweb") if h.status == 200
                 and ("/art/" in h.path or "downfile" in h.path)]
    assert len(downloads) == len(set(downloads))  # nothing fetched whole twice


def test_usable_the_scrapy_way(portal, tmp_path) -> None:
    """``scrapy crawl portal -a config=FILE`` from the project folder (scrapy.cfg)."""
    e = EXPECTED["static"]
    config = tmp_path / "static.yaml"
    config.write_text(f"id: {e.portal_id}\nagency: {e.agency}\ndelay: 0\n"
                      f"start_urls: [\"{portal.base_url('static')}{e.start}\"]\n", encoding="utf-8")
    done = subprocess.run([str(Path(sys.executable).with_name("scrapy")), "crawl", "portal",
                           "-a", f"config={config}", "-a", f"data_dir={tmp_path / 'data'}",
                           "-s", "LOG_LEVEL=WARNING"], cwd=Path(__file__).parents[1],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    found = {(r.portal_id, r.agency, r.year, r.url, r.sha256)
             for r in RawStore(tmp_path / "data").rows()}
    assert found == expected_documents(portal, "static")


@pytest.mark.parametrize(("body", "soft_404"), [
    pytest.param('<a href="t20240110_104040.html">某局2023年政府信息公开工作年度报告</a>', False,
                 id="digits-404-in-a-link"),
    pytest.param("<p>文号：第404号</p>", False, id="404-in-a-document-number"),
    pytest.param("<p>404错误：页面已删除</p>", True, id="404-error"),
    pytest.param("<h1>404 Not Found</h1>", True, id="404-not-found"),
    pytest.param("<div>抱歉，您访问的页面不存在</div>", True, id="page-does-not-exist"),
])
def test_soft_404_is_read_from_the_page_text(body: str, soft_404: bool) -> None:
    """A small list page whose links carry the digits 404 is a list, not 'page not found'."""
    page = HtmlResponse("http://127.0.0.1/xxgk/", encoding="utf-8",
                        body=f"<html><body>{body}</body></html>".encode())
    assert is_soft_404(page) is soft_404


# -- the typed hand-offs: spider -> pipeline -> stats -> crawl report -> flows ---------------------
def _document(**overrides) -> FetchedDocument:
    fields = {"portal_id": "p1", "url": "http://127.0.0.1/a/report.pdf",
              "final_url": "http://127.0.0.1/a/report.pdf", "page_url": "http://127.0.0.1/a/",
              "title": "2023年政府信息公开工作年度报告", "publish_date": "2024-01-20",
              "publisher": None, "index_number": None, "content_type": "application/pdf",
              "etag": '"v1"', "last_modified": None, "http_status": 200, "requested": True,
              "kind": "attachment", "agency": "某县人民政府", "year": 2023,
              "attachment_name": "年报.pdf", "variant": None, "body": b"%PDF-1.4 a report\n"}
    return FetchedDocument(**{**fields, **overrides})


def _pipeline(data: Path, stopped: bool = False) -> tuple[RawStorePipeline, list[tuple]]:
    lost: list[tuple] = []
    sink = DocumentSink(store=RawStore(data), crawl_state=CrawlState(data),
                        disk_full=lambda exc, url, portal_id: lost.append((url, portal_id)),
                        stopped_by_full_disk=lambda: stopped)
    return RawStorePipeline(MemoryStatsCollector(get_crawler()), sink), lost


def test_pipeline_stores_a_fetched_document_and_counts_it_in_the_stats(tmp_path) -> None:
    pipeline, lost = _pipeline(tmp_path)
    first = pipeline.process_item(_document())
    again = pipeline.process_item(_document())  # the same bytes once more: unchanged
    assert first.sha256 == again.sha256 == hashlib.sha256(b"%PDF-1.4 a report\n").hexdigest()
    assert first.body == b"" and "PDF" not in repr(_document())  # bytes never travel to logs
    assert pipeline.stats.get_value(counter_key("p1", "documents_new")) == 1
    assert pipeline.stats.get_value(counter_key("p1", "documents_unchanged")) == 1
    rows = list(RawStore(tmp_path).rows())
    assert [(r.url, r.page_url, r.kind, r.size, r.new, r.year) for r in rows] == [
        ("http://127.0.0.1/a/report.pdf", "http://127.0.0.1/a/", "attachment", 18, True, 2023),
        ("http://127.0.0.1/a/report.pdf", "http://127.0.0.1/a/", "attachment", 18, False, 2023)]
    remembered = CrawlState(tmp_path).validators("http://127.0.0.1/a/report.pdf")
    assert (remembered.etag, remembered.sha256) == ('"v1"', first.sha256)
    assert lost == []


def test_pipeline_writes_nothing_once_the_crawl_stopped_on_a_full_disk(tmp_path) -> None:
    pipeline, lost = _pipeline(tmp_path, stopped=True)
    item = pipeline.process_item(_document())
    assert lost == [("http://127.0.0.1/a/report.pdf", "p1")] and item.sha256 is None
    assert list(RawStore(tmp_path).rows()) == [] and item.body == b""
    assert pipeline.stats.get_value(counter_key("p1", "documents_new")) is None


def test_crawl_report_json_round_trips_and_keeps_its_shape() -> None:
    report = CrawlReport("p1", "某县人民政府", documents_new=3, errors={"timeout": ["u"]})
    report.finish("finished", previous_best=0)
    assert "duration_s" not in report.to_dict() and "shard" not in report.to_dict()
    assert CrawlReport.from_json(report.to_json()) == report
    report.duration_s, report.shard = 1.5, 2
    back = CrawlReport.from_json(report.to_json())
    assert (back.duration_s, back.shard, back.errors) == (1.5, 2, {"timeout": ["u"]})
    # A report from a newer crawler, with a key this version does not know, still reads.
    assert CrawlReport.from_dict({**report.to_dict(), "new_counter": 7}) == report


def test_crawl_counters_are_kept_in_scrapy_stats(portal, tmp_path) -> None:
    """The crawler's counters are Scrapy stats (dumped at the end of the crawl) and the crawl
    report carries the same numbers."""
    portal.reset()
    configs = tmp_path / "configs"
    write_configs(portal, configs)
    site = EXPECTED["static"].portal_id
    done = subprocess.run([sys.executable, "-m", "crawlers.run", "--portals",
                           str(config_of(configs, "static")), "--data-dir", str(tmp_path / "d"),
                           "--delay", "0", "--log-level", "INFO"],
                          capture_output=True, text=True, timeout=300, check=False)
    (report,) = [CrawlReport.from_json(line) for line in done.stdout.splitlines()
                 if line.startswith("{")]
    dumped = dict(re.findall(rf"'nianbao/{re.escape(site)}/(\w+)': (\d+)", done.stderr))
    assert report.status == "ok" and report.documents_new > 0 and report.pages_fetched > 0
    assert {name: int(n) for name, n in dumped.items()} == {
        name: getattr(report, name) for name in COUNTERS if getattr(report, name)}
