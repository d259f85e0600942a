"""AutoThrottle per download slot, with the delay of the slot's portal as its floor.

Scrapy 2.19's AutoThrottle takes its floor from the global DOWNLOAD_DELAY alone, and one crawl
now holds many portals with delays of their own (crawlers/spiders/portal.py gives each host a
download slot with its portal's delay): each slot adapts to its server's latency, never below
its portal's delay. A portal with politeness off (delay 0) is not throttled at all.
"""

from __future__ import annotations

from scrapy import Request, Spider
from scrapy.extensions.throttle import AutoThrottle
from scrapy.http import Response

from crawlers.portal_crawl import MIN_DELAY


class PortalAutoThrottle(AutoThrottle):
    def _spider_opened(self, spider: Spider) -> None:
        super()._spider_opened(spider)
        self._global_floor = self.mindelay

    def _response_downloaded(self, response: Response, request: Request, spider: Spider) -> None:
        slot_settings = self.crawler.engine.downloader.per_slot_settings.get(
            request.meta.get("download_slot"), {})
        floor = slot_settings.get("delay", self._global_floor)
        if floor <= MIN_DELAY:  # politeness off for this portal: keep it off
            return
        self.mindelay = floor  # read by _adjust_delay, called right below
        super()._response_downloaded(response, request, spider)
