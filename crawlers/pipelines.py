"""The raw-store pipeline: bytes stored once by sha256, a manifest row per fetch, validators kept.

A full disk stops the crawl (one ``disk_full`` line, see PortalSpider.disk_full); the item is
then dropped quietly: logging it would print the document's bytes. Counts go to the item's
portal's crawl report (``item["portal_id"]``).
"""

from __future__ import annotations

import sqlite3

from scrapy.crawler import Crawler

from crawlers.faults import DISK_FULL, is_disk_full
from crawlers.rawstore import ManifestRow
from crawlers.report import CrawlReport, utc_now
from crawlers.state import Validators


class RawStorePipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RawStorePipeline:
        return cls(crawler)

    def process_item(self, item: dict) -> dict:
        spider = self.crawler.spider
        portal = spider.portals[item["portal_id"]]
        if spider.crawl_reason == DISK_FULL:  # no more writes to a full disk: recorded as lost
            portal.report.error(DISK_FULL, item["url"])
            item.pop("body")
            return item
        try:
            return self._store(item, portal.report)
        except (OSError, sqlite3.Error) as exc:
            if not is_disk_full(exc):
                raise
            spider.disk_full(exc, item["url"], portal)
            item.pop("body", None)
            return item

    def _store(self, item: dict, report: CrawlReport) -> dict:
        spider = self.crawler.spider
        body: bytes = item.pop("body")
        etag, last_modified = item.pop("etag"), item.pop("last_modified")
        if not item.pop("requested"):  # read from the store, seen lately: no fetch to record
            report.documents_unchanged += 1
            item["sha256"] = spider.store.put(body)[0]
            return item
        sha256, new = spider.store.put(body)
        fetched_at = utc_now()
        unchanged = item["http_status"] == 304 or not new
        spider.store.record(ManifestRow(**item, size=len(body), sha256=sha256,
                                        fetched_at=fetched_at, new=not unchanged))
        if unchanged:
            report.documents_unchanged += 1
        else:
            report.documents_new += 1
        if etag or last_modified:
            spider.crawl_state.remember(item["url"], Validators(etag, last_modified, sha256,
                                                          item["content_type"]), fetched_at)
        item["sha256"] = sha256
        return item
