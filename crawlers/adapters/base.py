"""What every adapter returns, and the link reading they share."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urljoin

from lxml import etree
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


# Compiled once and run on the lxml elements: the same queries through parsel's Selector
# wrappers cost ~0.5 ms a link, minutes for a list of 100,000 links.
texts_of = etree.XPath("descendant-or-self::text()")  # an lxml element's text nodes
_ROW = etree.XPath("ancestor-or-self::*[self::li or self::tr or self::dd][1]")


def link_entries(links: SelectorList, base_url: str) -> list[Entry]:
    """Entries from <a> elements: title from @title or the text, date from the enclosing row."""
    entries: dict[str, Entry] = {}
    for link in links:
        element = link.root
        href = (element.get("href") or "").strip()
        if not href or href.startswith(("javascript:", "#", "mailto:")):
            continue
        text = " ".join(t.strip() for t in texts_of(element) if t.strip())
        title = _JUNK_TAGS.sub("", element.get("title") or text).strip() or None
        row = _ROW(element)
        date = iso_date(" ".join(texts_of(row[0]))) if row else None
        url = urljoin(base_url, href)
        entries.setdefault(url, Entry(url, title, date))
    return list(entries.values())


def page_of(html: str) -> Selector:
    return Selector(text=html)
