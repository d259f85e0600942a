"""The broad crawl: every test-portal site in ONE crawler process and ONE Scrapy engine, each
host its own download slot with its portal's delay, each portal stopping on its own (cap,
deadline) while the others go on, and a crawl killed with ``kill -9`` resumed by the next run.
All against the real test portal (tests/portal/) and the real crawler in a subprocess."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from statistics import median
from urllib.parse import urlsplit

import pytest

from crawlers.config import load_config
from crawlers.portal_crawl import resume_path
from crawlers.rawstore import RawStore
from crawlers.run import jobdir
from crawlers.spiders.portal import PortalSpider
from tests.portal import fixtures
from tests.portal.expected import EXPECTED
from tests.portal.fixtures import write_configs
from tests.test_crawl import BLOCKED_SITES, CRAWLED_SITES, expected_documents

portal = fixtures.portal  # the session's running test portal (a pytest fixture)

REPO = Path(__file__).parents[1]
# Fields of a crawl report that differ between any two crawls (times).
VOLATILE = {"started_at", "finished_at"}


def _configs(portal, folder: Path, **per_site: dict) -> Path:
    """Every site's config, with extra keys for some sites (by site name)."""
    for path in write_configs(portal, folder):
        site = next(s for s, e in EXPECTED.items() if e.portal_id == path.stem)
        extra = "".join(f"{k}: {json.dumps(v)}\n" for k, v in per_site.get(site, {}).items())
        path.write_text(path.read_text(encoding="utf-8") + extra, encoding="utf-8")
    return folder


def _crawl(configs: Path, data: Path, *extra: str) -> tuple[list[dict], str]:
    done = subprocess.run([sys.executable, "-m", "crawlers.run", "--portals", str(configs),
                           "--data-dir", str(data), *extra], capture_output=True, text=True,
                          timeout=600, check=False)
    reports = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return reports, done.stderr


def _by_id(reports: list[dict]) -> dict[str, dict]:
    return {r["portal_id"]: r for r in reports}


def _stored(data: Path, site: str) -> set[tuple]:
    e = EXPECTED[site]
    return {(r.portal_id, r.agency, r.year, r.url, r.sha256) for r in RawStore(data).rows()
            if r.portal_id == e.portal_id}


def _peak_in_flight(hits) -> int:
    events = sorted([(h.start, 1) for h in hits] + [(h.end, -1) for h in hits])
    in_flight = peak = 0
    for _, step in events:
        in_flight += step
        peak = max(peak, in_flight)
    return peak


def test_all_portals_crawl_in_one_engine(portal, tmp_path) -> None:
    """One process, one crawler, one engine for every site; each site's documents exactly."""
    portal.reset()
    configs = _configs(portal, tmp_path / "configs")
    reports, log = _crawl(configs, tmp_path / "data", "--delay", "0")
    assert log.count("Spider opened") == 1 and log.count("Closing spider") == 1
    assert len(reports) == len(EXPECTED)
    for site in CRAWLED_SITES:
        assert _stored(tmp_path / "data", site) == expected_documents(portal, site), site
        assert _by_id(reports)[EXPECTED[site].portal_id]["status"] == "ok", site
    for site in BLOCKED_SITES:
        assert _by_id(reports)[EXPECTED[site].portal_id]["status"] == "blocked", site
    # Several hosts were busy at the same moment: the portals really ran side by side.
    hits = portal.log.hits()
    assert _peak_in_flight(hits) >= 3
    # A crawl that ran to its end leaves no JOBDIR and no resume record.
    ids = [e.portal_id for e in EXPECTED.values()]
    assert not jobdir(tmp_path / "data", ids).exists()
    assert not any(resume_path(tmp_path / "data", i).exists() for i in ids)


@pytest.mark.slow
def test_reports_are_the_same_crawled_alone_or_together(portal, tmp_path) -> None:
    """Each portal's crawl report from the shared engine equals the one it gets crawled alone
    in a process of its own (the way every portal was crawled before), times aside."""
    configs = _configs(portal, tmp_path / "configs")
    portal.reset()
    together, _ = _crawl(configs, tmp_path / "together", "--delay", "0")
    alone = []
    for path in sorted(configs.glob("*.yaml")):
        portal.reset()  # the stateful pages fail once again, as in the shared crawl
        alone += _crawl(path, tmp_path / "alone" / path.stem, "--delay", "0")[0]
    assert len(together) == len(alone) == len(EXPECTED)

    def comparable(report: dict) -> dict:
        return {k: (sorted(v) if isinstance(v, list) else
                    {kind: sorted(urls) for kind, urls in v.items()} if isinstance(v, dict)
                    else v) for k, v in report.items() if k not in VOLATILE}

    assert ({r["portal_id"]: comparable(r) for r in together}
            == {r["portal_id"]: comparable(r) for r in alone})


@pytest.mark.slow
def test_each_host_keeps_its_delay_while_hosts_run_in_parallel(portal, tmp_path) -> None:
    """delay 0.15 s on every portal: requests to one host are >= the jittered floor apart and
    never overlap, while the hosts run side by side: the whole crawl takes about as long as
    its busiest host, far less than the hosts' crawl times added up."""
    delay = 0.15
    configs = _configs(portal, tmp_path / "configs",
                       **{site: {"delay": delay} for site in EXPECTED})
    portal.reset()
    reports, _ = _crawl(configs, tmp_path / "data")
    assert all(r["status"] in ("ok", "blocked") for r in reports)
    hits = portal.log.hits()
    spans = []
    for site in CRAWLED_SITES:  # a blocked site gets one or two requests: no gaps to measure
        starts = sorted(h.start for h in hits if h.site == site)
        gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
        # Scrapy spreads each delay over 0.5x..1.5x of it (DOWNLOAD_DELAY_JITTER), timed from
        # when it hands a request out, not when the server sees it (a busy machine shifts
        # single gaps): every gap well above nothing, the typical one at the delay.
        assert gaps and min(gaps) >= delay * 0.3 and median(gaps) >= delay * 0.8, (site, gaps)
        assert _peak_in_flight([h for h in hits if h.site == site]) == 1, site
        spans.append(starts[-1] - starts[0])
    span = max(h.start for h in hits) - min(h.start for h in hits)
    assert sum(spans) > 10 and span < 0.6 * sum(spans) and span < max(spans) + 3, (span, spans)


def test_autothrottle_keeps_each_portals_own_delay_as_its_floor(portal, tmp_path) -> None:
    """Two portals in one engine, AutoThrottle on: trs at 0.4 s, hanweb at 0.05 s. The fast
    answers of the loopback server pull AutoThrottle's delay down to its floor: trs's floor
    stays 0.4 s (Scrapy's own AutoThrottle knows only the global DOWNLOAD_DELAY, here the
    smaller 0.05 s), while hanweb is not held to trs's pace."""
    configs = _configs(portal, tmp_path / "configs", trs={"delay": 0.4}, hanweb={"delay": 0.05})
    for path in configs.glob("*.yaml"):  # only the two
        if path.stem not in (EXPECTED["trs"].portal_id, EXPECTED["hanweb"].portal_id):
            path.unlink()
    portal.reset()
    reports, _ = _crawl(configs, tmp_path / "data")
    assert [r["status"] for r in reports] == ["ok", "ok"]

    def gaps(site: str) -> list[float]:
        starts = sorted(h.start for h in portal.log.hits(site))
        return [b - a for a, b in zip(starts, starts[1:], strict=False)]

    slow, fast = gaps("trs"), gaps("hanweb")
    assert len(slow) > 10 and median(slow) >= 0.4 * 0.8, slow
    assert len(fast) > 10 and median(fast) < 0.2, fast


@pytest.mark.slow
def test_a_portal_past_its_deadline_stops_alone_and_resumes(portal, tmp_path) -> None:
    """hanweb (slow: 0.5 s between requests) gets 5 s; the others, politeness off, finish. It
    stops as partial with `deadline`, its unsent requests held; the next run completes it and
    downloads nothing twice."""
    slow = "hanweb"
    configs = _configs(portal, tmp_path / "configs", **{
        site: ({"delay": 0.5, "deadline_minutes": 5 / 60} if site == slow else {"delay": 0})
        for site in EXPECTED})
    portal.reset()
    started = time.monotonic()
    reports, _ = _crawl(configs, tmp_path / "data")
    took = time.monotonic() - started
    report = _by_id(reports)[EXPECTED[slow].portal_id]
    assert report["finish_reason"] == "deadline" and report["status"] == "partial"
    assert report["errors"]["deadline"] and "stopped at its deadline" in report["message"]
    assert resume_path(tmp_path / "data", EXPECTED[slow].portal_id).is_file()
    stored = _stored(tmp_path / "data", slow)
    assert len(stored) < len(expected_documents(portal, slow))
    for site in CRAWLED_SITES:
        if site != slow:
            assert _by_id(reports)[EXPECTED[site].portal_id]["status"] == "ok", site
            assert _stored(tmp_path / "data", site) == expected_documents(portal, site), site
    assert took < 60  # the slow portal's whole crawl would take far longer than its deadline

    # Next run, no deadline to speak of: it goes on from what it held and completes.
    (configs / f"{EXPECTED[slow].portal_id}.yaml").write_text(
        (configs / f"{EXPECTED[slow].portal_id}.yaml").read_text(encoding="utf-8")
        .replace("delay: 0.5", "delay: 0"), encoding="utf-8")
    reports, _ = _crawl(configs, tmp_path / "data", "--portal-deadline", "600")
    assert _by_id(reports)[EXPECTED[slow].portal_id]["status"] == "ok"
    assert _stored(tmp_path / "data", slow) == expected_documents(portal, slow)
    assert not resume_path(tmp_path / "data", EXPECTED[slow].portal_id).exists()
    _assert_nothing_downloaded_twice(portal, tmp_path / "data", slow)


def _assert_nothing_downloaded_twice(portal, data: Path, site: str) -> None:
    """Every stored report page and document of the site was answered whole (200) once."""
    documents = {urlsplit(r.url).path for r in RawStore(data).rows()
                 if r.portal_id == EXPECTED[site].portal_id}
    downloads = [h.path for h in portal.log.hits(site)
                 if h.status == 200 and urlsplit(h.path).path in documents]
    assert downloads and len(downloads) == len(set(downloads))


def test_a_cap_on_one_portal_does_not_stop_the_others(portal, tmp_path) -> None:
    """trs may send 3 requests: it stops as list_truncated, every other portal completes."""
    capped = "trs"
    configs = _configs(portal, tmp_path / "configs", **{capped: {"max_requests": 3}})
    portal.reset()
    reports, log = _crawl(configs, tmp_path / "data", "--delay", "0")
    report = _by_id(reports)[EXPECTED[capped].portal_id]
    assert report["finish_reason"] == "list_truncated" and report["status"] == "partial"
    assert log.count("the portal stops, the others go on") == 1
    assert len([h for h in portal.log.hits(capped) if h.path != "/robots.txt"]) <= 3 + 16
    for site in CRAWLED_SITES:
        if site != capped:
            assert _by_id(reports)[EXPECTED[site].portal_id]["status"] == "ok", site
            assert _stored(tmp_path / "data", site) == expected_documents(portal, site), site
    assert resume_path(tmp_path / "data", EXPECTED[capped].portal_id).is_file()


@pytest.mark.slow
def test_a_crawl_killed_with_sigkill_is_resumed_by_the_next(portal, tmp_path) -> None:
    """kill -9 mid-crawl (some documents stored, most not); the next crawl of the same set of
    portals starts afresh from the left-over JOBDIR, gets every site's documents exactly, and
    downloads none of those stored before the kill again."""
    configs = _configs(portal, tmp_path / "configs")
    portal.reset()
    data = tmp_path / "data"
    process = subprocess.Popen([sys.executable, "-m", "crawlers.run", "--portals", str(configs),
                                "--data-dir", str(data), "--delay", "0.05", "--log-level",
                                "WARNING"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    manifest = data / "raw" / "manifest.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (
            not manifest.exists() or len(manifest.read_text(encoding="utf-8").splitlines()) < 8):
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    job = jobdir(data, [e.portal_id for e in EXPECTED.values()])
    assert (job / "running").exists()  # killed: its JOBDIR is left marked
    total = sum(len(expected_documents(portal, s)) for s in CRAWLED_SITES)
    stored_before = {(urlsplit(r.url).hostname, urlsplit(r.url).path)
                     for r in RawStore(data).rows()}
    assert 0 < len(stored_before) < total
    portal.log.clear()

    reports, log = _crawl(configs, data, "--delay", "0")
    assert "did not stop cleanly" in log
    for site in CRAWLED_SITES:
        assert _by_id(reports)[EXPECTED[site].portal_id]["status"] == "ok", site
        assert _stored(data, site) == expected_documents(portal, site), site
    # What the killed crawl had stored is answered from the raw store, not downloaded again
    # (a download cut by the kill before it was stored is fetched again, once).
    again = [h for h in portal.log.hits() if h.status == 200
             and (h.host.split(":")[0], urlsplit(h.path).path) in stored_before]
    assert again == []
    assert not job.exists()


def test_allowed_hosts_match_subdomains(tmp_path) -> None:
    """beijing-jzgk allows "beijing.gov.cn": its own start URL on www.beijing.gov.cn is
    requested (it was refused as offsite_link), a sibling or look-alike host is not."""
    path = REPO / "crawlers" / "portals" / "beijing-jzgk.yaml"
    config = load_config(path)
    (start,) = config.start_urls
    assert config.allows(start) and config.allows("http://zhengwu.beijing.gov.cn:8080/a.pdf")
    for refused in ("https://www.tianjin.gov.cn/x", "https://beijing.gov.cn.example.com/x",
                    "https://notbeijing.gov.cn/x", "https://gov.cn/x"):
        assert not config.allows(refused), refused

    async def first_requests(spider: PortalSpider) -> list:
        return [r async for r in spider.start()]

    spider = PortalSpider(config=str(path), data_dir=str(tmp_path / "data"))
    requests = asyncio.run(first_requests(spider))
    (portal_state,) = spider.portals.values()
    assert [r.url for r in requests] == [start] and portal_state.report.errors == {}
    assert spider._request(portal_state, "https://www.tianjin.gov.cn/x", spider.parse_list) \
        is None
    assert portal_state.report.errors == {"offsite_link": ["https://www.tianjin.gov.cn/x"]}
