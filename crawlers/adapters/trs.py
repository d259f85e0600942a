"""TRS WCM static publishing: ``createPageHTML(...)`` paging, ``tYYYYMMDD_id`` articles.

Paging call forms seen on real portals:
  createPageHTML(25, 0, "index", "shtml")                0-based: index, index_1 … index_24
  createPageHTML('paging', 25, 1, 'index', 'html', 500)  Hunan, 1-based: index, index_2 … index_25
  var countPage = 2; (with currentPage = 0)              0-based, stem index, the page's extension
  pageControl(4, 2, "index", "shtml", 10, 'pages-nav')   0-based
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

from scrapy.http import TextResponse

from crawlers.adapters.base import ListPage, link_entries, page_of
from crawlers.article import attachment_extension
from crawlers.config import PortalConfig
from crawlers.selectors import LayoutChanged, select

_CALL = re.compile(r"(?:createPageHTML|pageControl)\s*\(([^)]*)\)")
_COUNT_PAGE = re.compile(r"var\s+countPage\s*=\s*(\d+)")
_ARTICLE = re.compile(r"t\d{8}_\d+(?:_\d+)?(?:_wap)?\.s?html?$")
_LINE_COMMENT = re.compile(r"(?m)(^|[^:\\])//.*$")


def _args(call: str) -> list[str]:
    return [a.strip().strip("'\"") for a in call.split(",")]


def _paging(text: str, extension: str) -> tuple[int, str, str, bool] | None:
    """(total pages, stem, extension, 1-based) of the first paging *call* (not the function's
    own definition, whose arguments are names)."""
    for call in _CALL.finditer(text):
        args = _args(call.group(1))
        one_based = bool(args) and not args[0].isdigit()  # container id first: the Hunan form
        if one_based:
            args = args[1:]
        if len(args) >= 2 and args[0].isdigit() and args[1].isdigit():
            stem = args[2] if len(args) > 2 and args[2] else "index"
            return int(args[0]), stem, args[3] if len(args) > 3 and args[3] else extension, \
                one_based
    count = _COUNT_PAGE.search(text)
    return (int(count.group(1)), "index", extension, False) if count else None


def page_urls(script_text: str, url: str) -> list[str]:
    """Every list page the paging script announces, including the current one."""
    text = _LINE_COMMENT.sub(r"\1", script_text)  # a commented-out call is not the live one
    extension = url.rsplit(".", 1)[-1] if "." in url.rsplit("/", 1)[-1] else "html"
    paging = _paging(text, extension)
    if paging is None:
        return [url]
    total, stem, extension, one_based = paging
    numbers = range(2, total + 1) if one_based else range(1, total)
    return [urljoin(url, f"{stem}.{extension}"),
            *(urljoin(url, f"{stem}_{n}.{extension}") for n in numbers)]


def parse_list(response: TextResponse, config: PortalConfig) -> ListPage:
    page = page_of(response.text)
    links = select(page, config.list_selector or "a[href]", at_least=1, where=response.url)
    entries = [e for e in link_entries(links, response.url)
               if _ARTICLE.search(e.url.split("?")[0]) or attachment_extension(e.url)]
    if not entries:
        raise LayoutChanged(f"{response.url}: no article (tYYYYMMDD_id) or attachment links")
    pages = page_urls("\n".join(page.css("script::text").getall()), response.url)
    return ListPage(entries, next_pages=pages[: config.max_pages])
