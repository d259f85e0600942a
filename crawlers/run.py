"""Run portal crawls in this process: ``python -m crawlers.run --portals PATH... --data-dir DIR``.

``nianbao crawl`` (and the flows) start this module as a subprocess, because Twisted's reactor
cannot be restarted inside one process. All the portals given crawl at once in ONE Scrapy
engine (crawlers/spiders/portal.py: a download slot per host, the portal's delay per slot).

The process has one JOBDIR, named from its set of portals (the portal's id when it is one), so
the same set - the same shard of the nightly crawl - finds it again: an interrupted crawl
(SIGINT/SIGTERM) resumes where it stopped. A crawl that ran to its end removes it, so the next
one starts fresh (unchanged documents then cost a conditional request each, not a download); a
full disk keeps it. Scrapy writes the JOBDIR queue's index only on a clean stop, so a JOBDIR
left by a killed process (``kill -9``) is discarded: the next crawl reads the portals' pages
again and answers what was stored from the raw store. A portal stopped by its cap or deadline
keeps its leftovers in its own resume record (crawlers/portal_crawl.py). The crawl reports are
printed as JSON Lines on stdout at the end, from memory: a full disk that kept a report from
being written does not lose it.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from crawlers.config import ConfigError, PortalConfig, load_config_paths
from crawlers.report import CrawlReport, read_report
from crawlers.spiders.portal import PortalSpider

logger = logging.getLogger(__name__)


def jobdir(data_dir: Path, portal_ids: Sequence[str]) -> Path:
    """The JOBDIR of a crawler process for these portals: the id of a lone portal, else one
    name for the set (whatever order the ids come in)."""
    ids = sorted(portal_ids)
    if len(ids) == 1:
        return data_dir / "state" / "jobs" / ids[0]
    digest = hashlib.sha256("\n".join(ids).encode()).hexdigest()[:16]
    return data_dir / "state" / "jobs" / f"set-{len(ids)}-{digest}"


def _claim_jobdir(path: Path) -> Path:
    """Mark the JOBDIR in use; one still marked was left by a killed process: start afresh."""
    marker = path / "running"
    if marker.exists():
        logger.warning("%s was left by a crawl that did not stop cleanly: starting afresh "
                       "(stored documents are read from the raw store, not downloaded)", path)
        shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True, exist_ok=True)
    marker.touch()
    return marker


def crawl(portals: Path | Sequence[Path], data_dir: Path, delay: float | None = None,
          log_level: str = "INFO", recheck_days: float | None = None,
          portal_deadline: float | None = None) -> list[CrawlReport]:
    """Crawl every portal config under ``portals`` (config files or folders of them; a shard of
    the nightly crawl is a list of files) in one engine; returns their crawl reports."""
    configs = load_config_paths([portals] if isinstance(portals, Path) else portals)
    settings = Settings()
    settings.setmodule("crawlers.settings", priority="project")
    settings.set("LOG_LEVEL", log_level, priority="cmdline")
    if delay is not None:  # politeness off for the local test portal and benchmarks
        settings.set("AUTOTHROTTLE_ENABLED", delay > 0, priority="cmdline")
    job = jobdir(data_dir, [c.id for c in configs])
    settings.set("JOBDIR", str(job), priority="cmdline")
    marker = _claim_jobdir(job)
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(PortalSpider)
    process.crawl(crawler, configs=configs, data_dir=str(data_dir), delay=delay,
                  recheck_days=recheck_days, portal_deadline=portal_deadline)
    process.start()
    marker.unlink(missing_ok=True)
    spider = crawler.spider
    if spider is not None and spider.close_reason == "finished":
        shutil.rmtree(job, ignore_errors=True)
    return [_report_of(spider, config, data_dir) for config in configs]


def _report_of(spider: PortalSpider | None, config: PortalConfig,
               data_dir: Path) -> CrawlReport:
    portal = spider.portals.get(config.id) if spider is not None else None
    if portal is not None and portal.report.finished_at:
        return portal.report
    return read_report(data_dir, config.id) or CrawlReport.failed(
        config.id, config.agency, "the crawl did not finish")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--portals", type=Path, nargs="+", required=True,
                        help="portal config files or folders of them")
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--delay", type=float, default=None,
                        help="override every portal's delay (seconds; 0 = politeness off)")
    parser.add_argument("--recheck-days", type=float, default=None,
                        help="override every portal's recheck_days (0: ask the server each time)")
    parser.add_argument("--portal-deadline", type=float, default=None,
                        help="override every portal's deadline_minutes (in seconds)")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    try:
        reports = crawl(args.portals, args.data_dir, args.delay, args.log_level,
                        args.recheck_days, args.portal_deadline)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    for report in reports:  # JSON Lines; flows/crawling.py reads them back (CrawlReport.from_json)
        print(report.to_json())
    return 0 if all(r.status == "ok" for r in reports) else 3


if __name__ == "__main__":
    sys.exit(main())
