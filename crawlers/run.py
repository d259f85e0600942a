"""Run portal crawls in this process: ``python -m crawlers.run --portals PATH... --data-dir DIR``.

``nianbao crawl`` (and the flows) start this module as a subprocess, because Twisted's reactor
cannot be restarted inside one process. Each portal gets its own JOBDIR so an interrupted crawl
resumes where it stopped; a crawl that finished removes its JOBDIR, so the next one starts fresh
(unchanged documents then cost a conditional request each, not a download); one closed by its
request/document cap (``list_truncated``) or a full disk keeps it, so the next run resumes. The
crawl reports are printed as JSON Lines on stdout at the end, from memory: a full disk that
kept a report from being written does not lose it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from crawlers.config import ConfigError, load_config_paths
from crawlers.report import read_report
from crawlers.spiders.portal import PortalSpider


def jobdir(data_dir: Path, portal_id: str) -> Path:
    return data_dir / "state" / "jobs" / portal_id


def crawl(portals: Path | Sequence[Path], data_dir: Path, delay: float | None = None,
          log_level: str = "INFO", recheck_days: float | None = None) -> list[dict]:
    """Crawl every portal config under ``portals`` (config files or folders of them; a shard of
    the nightly crawl is a list of files); returns their crawl reports."""
    configs = load_config_paths([portals] if isinstance(portals, Path) else portals)
    settings = Settings()
    settings.setmodule("crawlers.settings", priority="project")
    settings.set("LOG_LEVEL", log_level, priority="cmdline")
    if delay is not None:  # politeness off for the local test portal and benchmarks
        settings.set("AUTOTHROTTLE_ENABLED", delay > 0, priority="cmdline")
    process = CrawlerProcess(settings)
    crawlers = []
    for config in configs:
        crawler = process.create_crawler(PortalSpider)
        crawlers.append(crawler)
        crawler.settings.set("JOBDIR", str(jobdir(data_dir, config.id)), priority="cmdline")
        kwargs = {"config": str(config.source), "data_dir": str(data_dir)}
        if delay is not None:
            kwargs["delay"] = str(delay)
        if recheck_days is not None:
            kwargs["recheck_days"] = str(recheck_days)
        process.crawl(crawler, **kwargs)
    process.start()
    reports = []
    for config, crawler in zip(configs, crawlers):
        spider = crawler.spider
        report = (spider.report.to_dict() if spider is not None and spider.report.finished_at
                  else read_report(data_dir, config.id)) or {
            "portal_id": config.id, "status": "error", "message": "the crawl did not finish"}
        if report.get("finish_reason") == "finished":
            shutil.rmtree(jobdir(data_dir, config.id), ignore_errors=True)
        reports.append(report)
    return reports


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--portals", type=Path, nargs="+", required=True,
                        help="portal config files or folders of them")
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--delay", type=float, default=None,
                        help="override every portal's delay (seconds; 0 = politeness off)")
    parser.add_argument("--recheck-days", type=float, default=None,
                        help="override every portal's recheck_days (0: ask the server each time)")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    try:
        reports = crawl(args.portals, args.data_dir, args.delay, args.log_level,
                        args.recheck_days)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    for report in reports:
        print(json.dumps(report, ensure_ascii=False))
    return 0 if all(r.get("status") == "ok" for r in reports) else 3


if __name__ == "__main__":
    sys.exit(main())
