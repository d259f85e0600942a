"""What every adapter returns, and the link reading they share."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urljoin

from parsel import Selector, SelectorList

from crawlers.article import iso_date


@dataclass
class Entry:
    """A list row: a link to an article page or straight to an attachment."""

    url: str
    title: str | None
    date: str | None = None


@dataclass
class ListPage:
    entries: list[Entry]
    next_pages: list[str] = field(default_factory=list)  # further list pages (GET)


_JUNK_TAGS = re.compile(r"</?TRS_[A-Z_]+>", re.I)  # leaked template tags inside anchors


def link_entries(links: SelectorList, base_url: str) -> list[Entry]:
    """Entries from <a> elements: title from @title or the text, date from the enclosing row."""
    entries: dict[str, Entry] = {}
    for link in links:
        href = (link.attrib.get("href") or "").strip()
        if not href or href.startswith(("javascript:", "#", "mailto:")):
            continue
        text = " ".join(t.strip() for t in link.css("::text").getall() if t.strip())
        title = _JUNK_TAGS.sub("", link.attrib.get("title") or text).strip() or None
        row = link.xpath("ancestor-or-self::*[self::li or self::tr or self::dd][1]")
        date = iso_date(" ".join(row.css("::text").getall())) if row else None
        url = urljoin(base_url, href)
        entries.setdefault(url, Entry(url, title, date))
    return list(entries.values())


def page_of(html: str) -> Selector:
    return Selector(text=html)
