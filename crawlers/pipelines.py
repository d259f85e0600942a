"""The raw-store pipeline: bytes stored once by sha256, a manifest row per fetch, validators kept."""

from __future__ import annotations

from scrapy.crawler import Crawler

from crawlers.rawstore import ManifestRow
from crawlers.report import utc_now
from crawlers.state import Validators


class RawStorePipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RawStorePipeline:
        return cls(crawler)

    def process_item(self, item: dict) -> dict:
        spider = self.crawler.spider
        body: bytes = item.pop("body")
        etag, last_modified = item.pop("etag"), item.pop("last_modified")
        if not item.pop("requested"):  # read from the store, seen lately: no fetch to record
            spider.report.documents_unchanged += 1
            item["sha256"] = spider.store.put(body)[0]
            return item
        sha256, new = spider.store.put(body)
        fetched_at = utc_now()
        unchanged = item["http_status"] == 304 or not new
        spider.store.record(ManifestRow(**item, size=len(body), sha256=sha256,
                                        fetched_at=fetched_at, new=not unchanged))
        if unchanged:
            spider.report.documents_unchanged += 1
        else:
            spider.report.documents_new += 1
        if etag or last_modified:
            spider.crawl_state.remember(item["url"], Validators(etag, last_modified, sha256,
                                                          item["content_type"]), fetched_at)
        item["sha256"] = sha256
        return item
