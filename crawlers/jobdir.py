"""The JOBDIR's scheduler and request queues.

``DiskFullScheduler``: a full disk stops the crawl with one line instead of raising from every
enqueue (a traceback per request, and a crawl that never ends).

``IdleFirstPriorityQueue``: Scrapy's download-slot-aware priority queue (the broad-crawl one),
without its scan of every slot on every pop.

``SavedOnStopQueue``: the queue of one download slot and priority, held in memory and written to
the JOBDIR once, when the crawl stops. Scrapy's disk queues write every request as it is queued
(a pickle, a file per slot made and removed as the slot fills and empties: most of a broad
crawl's CPU after parsing), yet their index is saved only on a clean stop too, so they resume
nothing more after a ``kill -9``. The JOBDIR belongs to a crawler process (one for its set of
portals, crawlers/run.py); one left by a killed process is marked (``running``) and started
afresh.
"""

from __future__ import annotations

import logging
import pickle
from contextlib import suppress
from pathlib import Path
from typing import Any

from scrapy import Request, Spider
from scrapy.core.scheduler import Scheduler
from scrapy.crawler import Crawler
from scrapy.pqueues import DownloaderAwarePriorityQueue, _path_safe
from scrapy.utils.request import request_from_dict
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


class SavedOnStopQueue:
    """A LIFO request queue (as Scrapy's default disk queue) at ``key`` in the JOBDIR: read back
    when the crawl resumes, written when it stops."""

    def __init__(self, crawler: Crawler, key: str) -> None:
        self.spider = crawler.spider
        self.path = Path(key)
        self._requests: list[Request] = []
        if self.path.is_file():
            saved = pickle.loads(self.path.read_bytes())
            self._requests = [request_from_dict(d, spider=self.spider) for d in saved]
            self.path.unlink()

    @classmethod
    def from_crawler(cls, crawler: Crawler, key: str, *args: Any,
                     **kwargs: Any) -> SavedOnStopQueue:
        return cls(crawler, key)

    def push(self, request: Request) -> None:
        self._requests.append(request)

    def pop(self) -> Request | None:
        return self._requests.pop() if self._requests else None

    def peek(self) -> Request | None:
        return self._requests[-1] if self._requests else None

    def __len__(self) -> int:
        return len(self._requests)

    def close(self) -> None:
        if not self._requests:
            return
        saved = []
        for request in self._requests:
            try:
                saved.append(request.to_dict(spider=self.spider))
            except ValueError as exc:  # a callback that is not a spider method: cannot resume
                logger.warning("not kept in the JOBDIR: %s (%s)", request.url, exc)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_bytes(pickle.dumps(saved, protocol=pickle.HIGHEST_PROTOCOL))


class IdleFirstPriorityQueue(DownloaderAwarePriorityQueue):
    """Requests of a slot (host) with nothing in the downloader first, the first such slot met:
    Scrapy's version ranks every slot on every pop, O(hosts) a request (tens of thousands of
    hosts in a national crawl). Only when every slot is busy does it rank them as Scrapy does.
    A host thus gets its next request once the last one is done, and the rest wait here, where
    a stopped portal's requests are held instead of sent (crawlers/middlewares.py PortalGate)."""

    def pop(self) -> Request | None:
        downloader_slots = self._downloader_interface.downloader.slots
        for slot in self.pqueues:
            busy = downloader_slots.get(slot)
            if busy is None or not busy.active:
                return self._pop_slot(slot)
        return super().pop()

    def _pop_slot(self, slot: str) -> Request | None:
        queue = self.pqueues[slot]
        request = queue.pop()
        if len(queue) == 0:  # as Scrapy's pop: the slot's queue goes, and its folder
            del self.pqueues[slot]
            queue.close()
            if self.key:
                with suppress(OSError):
                    Path(self.key, _path_safe(slot)).rmdir()
        return request
