"""Scrapy's scheduler, with a full disk under the JOBDIR stopping the crawl instead of raising
from every enqueue (a traceback per request, and a crawl that never ends)."""

from __future__ import annotations

from scrapy import Request
from scrapy.core.scheduler import Scheduler
from twisted.internet.defer import Deferred

from crawlers.faults import is_disk_full


class DiskFullScheduler(Scheduler):
    def enqueue_request(self, request: Request) -> bool:
        try:
            return super().enqueue_request(request)
        except OSError as exc:
            if not is_disk_full(exc):
                raise
            self._disk_full(exc, request.url)
            return False

    def close(self, reason: str) -> Deferred[None] | None:
        try:
            return super().close(reason)
        except OSError as exc:
            if not is_disk_full(exc):
                raise
            self._disk_full(exc, "the JOBDIR queue state")
            return None

    def _disk_full(self, exc: BaseException, where: str) -> None:
        stop = getattr(self.spider, "disk_full", None)  # PortalSpider's; any other spider: raise
        if stop is None:
            raise exc
        stop(exc, where)
