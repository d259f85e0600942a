"""Scrapy's JOBDIR keepers (scheduler queue, seen requests, spider state) with a full disk
stopping the crawl with one line instead of raising from every enqueue: a traceback per
request, and a crawl that never ends."""

from __future__ import annotations

import logging

from scrapy import Request, Spider
from scrapy.core.scheduler import Scheduler
from scrapy.extensions.spiderstate import SpiderState
from twisted.internet.defer import Deferred

from crawlers.faults import is_disk_full

logger = logging.getLogger(__name__)


def _disk_full(spider: Spider | None, exc: OSError, where: str) -> None:
    stop = getattr(spider, "disk_full", None)  # PortalSpider's; any other spider: raise
    if stop is None:
        raise exc
    stop(exc, where)


class DiskFullScheduler(Scheduler):
    def enqueue_request(self, request: Request) -> bool:
        try:
            return super().enqueue_request(request)
        except OSError as exc:
            if not is_disk_full(exc):
                raise
            _disk_full(self.spider, exc, request.url)
            return False

    def close(self, reason: str) -> Deferred[None] | None:
        try:
            return super().close(reason)
        except OSError as exc:
            if not is_disk_full(exc):
                raise
            _disk_full(self.spider, exc, "the JOBDIR queue")
            return None


class DiskFullSpiderState(SpiderState):
    def spider_closed(self, spider: Spider) -> None:
        try:
            super().spider_closed(spider)
        except OSError as exc:
            if not is_disk_full(exc):
                raise
            # The queue is saved already; only the list offsets are lost (lists are re-read).
            logger.error("disk_full: %s: spider state not saved (%s)", spider.name, exc.strerror)
