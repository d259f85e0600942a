"""The raw-store pipeline: bytes stored once by sha256, a manifest row per fetch, validators kept.

Items are ``FetchedDocument``s (crawlers/items.py); the pipeline is handed the store, the crawl
state and the way to report a full disk by the spider (``PortalSpider.document_sink``) and
counts documents new and unchanged in Scrapy's stats collector, from which each portal's crawl
report reads them when the crawl closes. A full disk stops the crawl (one ``disk_full`` line,
see PortalSpider.disk_full); the item's bytes are then dropped quietly: logging them would print
the document.
"""

from __future__ import annotations

import sqlite3

from scrapy.crawler import Crawler
from scrapy.statscollectors import StatsCollector

from crawlers.faults import is_disk_full
from crawlers.items import DocumentSink, FetchedDocument
from crawlers.report import counter_key, utc_now


class RawStorePipeline:
    def __init__(self, stats: StatsCollector, sink: DocumentSink) -> None:
        self.stats = stats
        self.sink = sink

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RawStorePipeline:
        return cls(crawler.stats, crawler.spider.document_sink())

    def process_item(self, item: FetchedDocument) -> FetchedDocument:
        if self.sink.stopped_by_full_disk():  # no more writes to a full disk: recorded as lost
            self.sink.disk_full(OSError("the disk is full"), item.url, item.portal_id)
        else:
            try:
                self._store(item)
            except (OSError, sqlite3.Error) as exc:
                if not is_disk_full(exc):
                    raise
                self.sink.disk_full(exc, item.url, item.portal_id)
        item.body = b""  # stored (or lost): the bytes need not travel further
        return item

    def _count(self, item: FetchedDocument, counter: str) -> None:
        self.stats.inc_value(counter_key(item.portal_id, counter))

    def _store(self, item: FetchedDocument) -> None:
        store = self.sink.store
        if not item.requested:  # read from the store, seen lately: no fetch to record
            self._count(item, "documents_unchanged")
            item.sha256 = store.put(item.body)[0]
            return
        sha256, new = store.put(item.body)
        fetched_at = utc_now()
        unchanged = item.http_status == 304 or not new
        store.record(item.manifest_row(sha256, fetched_at, new=not unchanged))
        self._count(item, "documents_unchanged" if unchanged else "documents_new")
        validators = item.validators(sha256)
        if validators is not None:
            self.sink.crawl_state.remember(item.url, validators, fetched_at)
        item.sha256 = sha256
