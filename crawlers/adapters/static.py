"""Plain static lists: report-titled links, and next-page links followed by their text."""

from __future__ import annotations

from urllib.parse import urljoin

from scrapy.http import TextResponse

from crawlers.adapters.base import ListPage, link_entries, page_of, texts_of
from crawlers.config import PortalConfig
from crawlers.selectors import select

NEXT_TEXTS = ("下一页", "下页", "后一页", "next", "Next", "›", "»", ">")


def parse_list(response: TextResponse, config: PortalConfig) -> ListPage:
    page = page_of(response.text)
    links = select(page, config.list_selector or "a[href]", at_least=1, where=response.url)
    next_pages = []
    for link in page.css("a[href]"):
        element = link.root  # lxml directly: a list may hold 100,000 links
        text = "".join(texts_of(element)).strip()
        if text in NEXT_TEXTS or element.get("rel") == "next":
            next_pages.append(urljoin(response.url, element.get("href")))
    return ListPage(link_entries(links, response.url), next_pages=next_pages)
