"""The scheduler of the JOBDIR (queue, seen requests), with a full disk stopping the crawl with
one line instead of raising from every enqueue: a traceback per request, and a crawl that never
ends. The JOBDIR belongs to a crawler process (one for its set of portals, crawlers/run.py);
Scrapy writes its queue's index only when the crawl stops cleanly, so a JOBDIR left by a killed
process is marked (``running``) and started afresh."""

from __future__ import annotations

import logging

from scrapy import Request, Spider
from scrapy.core.scheduler import Scheduler
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
