"""Guangdong's gkmlpt 信息公开目录平台: ``/gkmlpt/api/all/{col}?page=N&sid=`` JSON.

Start URLs may be the API itself or the hash-routed shell (``/gkmlpt/annualreport#2629``): the
column is the fragment (kept by the spider, browsers never send it) and ``sid`` is read from
the shell's script. The API's ``total`` is often smaller than the column's ``post_count``, so
paging goes on while a page comes back full.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlencode, urlsplit

from scrapy.http import TextResponse

from crawlers.adapters.base import Entry, ListPage
from crawlers.config import PortalConfig
from crawlers.selectors import LayoutChanged

PAGE_SIZE = 100
_SID = re.compile(r"""\bsid['"]?\s*[:=]\s*['"]?(\d+)""", re.I)
_CHINA = timezone(timedelta(hours=8))


def api_url(base: str, column: str, sid: str, page: int) -> str:
    parts = urlsplit(base)
    prefix = parts.path.split("/gkmlpt/")[0]
    return f"{parts.scheme}://{parts.netloc}{prefix}/gkmlpt/api/all/{column}?" + \
        urlencode({"page": page, "sid": sid})


def _shell(response: TextResponse, column: str | None) -> ListPage:
    sid = _SID.search(response.text)
    if not (sid and column):
        raise LayoutChanged(f"{response.url}: gkmlpt shell without sid or column "
                            "(give the column as the start URL's #fragment)")
    return ListPage([], next_pages=[api_url(response.url, column, sid.group(1), 1)])


def parse_list(response: TextResponse, config: PortalConfig) -> ListPage:
    if "/gkmlpt/api/" not in response.url:
        return _shell(response, response.meta.get("fragment"))
    try:
        data = json.loads(response.text)
        articles = data["articles"]
    except (ValueError, KeyError, TypeError) as exc:
        raise LayoutChanged(f"{response.url}: not the gkmlpt articles JSON ({exc})") from exc
    entries = []
    for article in articles:
        url = str(article.get("url") or "")
        if url.startswith("//"):
            url = f"{urlsplit(response.url).scheme}:{url}"
        created = article.get("create_time")
        date = (datetime.fromtimestamp(int(created), _CHINA).date().isoformat()
                if str(created or "").isdigit() else None)
        entries.append(Entry(url, article.get("title"), date))
    next_pages = []
    if len(articles) >= PAGE_SIZE:
        query = {k: v[0] for k, v in parse_qs(urlsplit(response.url).query).items()}
        column = urlsplit(response.url).path.rstrip("/").rsplit("/", 1)[-1]
        next_pages.append(api_url(response.url, column, query.get("sid", ""),
                                  int(query.get("page", 1)) + 1))
    return ListPage(entries, next_pages=next_pages)
