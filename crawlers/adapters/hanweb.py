"""Hanweb 大汉 JCMS: ``/col/col{id}/index.html`` with records in ``<datastore>`` CDATA, the rest
through ``/module/web/jpage/dataproxy.jsp``.

The first page carries the first records and the paging facts: ``jpage({totalRecord, perPage})``
and a ``nextgroup`` link with the columnid/unitid/webid the proxy needs. The proxy honours
``page`` and ignores ``startrecord``, and caps ``perpage`` (we ask for at most 100).
"""

from __future__ import annotations

import math
import re
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

from scrapy.http import TextResponse

from crawlers.adapters.base import ListPage, link_entries, page_of
from crawlers.config import PortalConfig
from crawlers.selectors import LayoutChanged

PROXY_PAGE_SIZE_CAP = 100
_RECORD = re.compile(r"<record>\s*<!\[CDATA\[(.*?)\]\]>\s*</record>", re.S)
_NEXTGROUP = re.compile(r"<nextgroup>\s*<!\[CDATA\[(.*?)\]\]>\s*</nextgroup>", re.S)
_TOTAL = re.compile(r"totalRecord\s*:\s*(\d+)")
_PER_PAGE = re.compile(r"perPage\s*:\s*(\d+)")
_PROXY_PARAMS = ("appid", "webid", "path", "columnid", "unitid", "webname", "permissiontype")


def _proxy_url(response: TextResponse, records_html: str) -> str | None:
    nextgroup = _NEXTGROUP.search(records_html)
    if not nextgroup:
        return None
    href = page_of(nextgroup.group(1)).css("a::attr(href)").get()
    return urljoin(response.url, href) if href else None


def proxy_pages(proxy: str, total: int, per_page: int) -> list[str]:
    """dataproxy.jsp URLs for pages 2..n (page 1 is the column page itself)."""
    parts = urlsplit(proxy)
    query = {k: v[0] for k, v in parse_qs(parts.query).items() if k in _PROXY_PARAMS}
    size = min(per_page, PROXY_PAGE_SIZE_CAP)
    pages = math.ceil(total / size)
    base = f"{parts.scheme}://{parts.netloc}{parts.path}"
    return [f"{base}?{urlencode({'page': n, 'perpage': size, **query})}"
            for n in range(2 if size == per_page else 1, pages + 1)]


def parse_list(response: TextResponse, config: PortalConfig) -> ListPage:
    text = response.text
    records = _RECORD.findall(text)
    if not records and "dataproxy.jsp" not in response.url:
        raise LayoutChanged(f"{response.url}: no <datastore> records")
    links = page_of("\n".join(records)).css(config.list_selector or "a[href]")
    entries = link_entries(links, response.url)
    next_pages: list[str] = []
    if "dataproxy.jsp" not in response.url:  # the column page: announce every proxy page
        proxy = _proxy_url(response, text)
        total, per_page = _TOTAL.search(text), _PER_PAGE.search(text)
        if proxy and total and per_page:
            next_pages = proxy_pages(proxy, int(total.group(1)), int(per_page.group(1)))
        elif len(records) and proxy:
            raise LayoutChanged(f"{response.url}: nextgroup without jpage totalRecord/perPage")
    return ListPage(entries, next_pages=next_pages[: config.max_pages])
