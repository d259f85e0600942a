"""An article page: its title, dates, publisher, index number and attachments.

Metadata comes from the national meta set (ArticleTitle / PubDate / ContentSource) first, then the
信息公开 table (索引号 / 发布机构 / 发布日期, labels often spaced), then the URL (``tYYYYMMDD_``).
Attachments are links, links written by ``document.write`` scripts, and Hanweb ``downfile.jsp``
links whose readable name is only the link text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urljoin, urlsplit

from lxml import etree
from parsel import Selector
from parsel.csstranslator import css2xpath

ATTACHMENT_EXTENSIONS = ("pdf", "doc", "docx", "wps", "ofd", "xls", "xlsx")
# The pictures of a 图片版 report: fetched with the page, read by OCR as its tables.
IMAGE_EXTENSIONS = ("png", "jpg", "jpeg", "gif", "bmp")
_IMAGE_PATH = re.compile(rf"\.({'|'.join(IMAGE_EXTENSIONS)})$", re.I)
_EXT = "|".join(ATTACHMENT_EXTENSIONS)
_ATTACHMENT_PATH = re.compile(rf"\.({_EXT})$", re.I)
_SCRIPT_HREF = re.compile(rf"""href\s*=\s*\\?["']([^"'\\<>]+?\.(?:{_EXT}))"""
                          r"""\\?["'][^>]*>([^<]*)""", re.I)
_URL_DATE = re.compile(r"/t(20\d{2})(\d{2})(\d{2})_\d+")
_DATE = re.compile(r"((?:19|20)\d{2})\s*[-年/.]\s*(\d{1,2})\s*[-月/.]\s*(\d{1,2})")
_TITLE_SUFFIX = re.compile(r"\s*[-_|—]+\s*[^-_|—]{2,30}$")

LABELS = {
    "index_number": ("索引号",),
    "publisher": ("发布机构", "发文机关", "发文单位", "信息来源", "来源", "所属机构"),
    "publish_date": ("发布日期", "发布时间", "发文日期", "信息时间", "公开日期", "日期", "时间"),
}


_SPACES = re.compile(r"\s+")
_INNER_SPACE = re.compile(r"(?<=\S) (?=\S)")  # the spaces of a spaced label (发 布 日 期)
_INLINE_FIELD = {name: re.compile(rf"^\s*({'|'.join(labels)})\s*[:：]\s*(\S[^\n]{{0,60}})")
                 for name, labels in LABELS.items()}
_ALL_LABELS = tuple(label for labels in LABELS.values() for label in labels)
_FIELD_CELLS = etree.XPath(css2xpath("td, th, span, li, p, div.xxgk-info *"))
_TEXTS = etree.XPath("descendant-or-self::text()")
_NEXT_SIBLING_TEXTS = etree.XPath("following-sibling::*[1]//text()")


@dataclass
class Attachment:
    url: str
    name: str  # the human name: link text, title or download attribute (never a file path)


@dataclass
class Article:
    url: str
    title: str | None
    publish_date: str | None
    publisher: str | None
    index_number: str | None
    attachments: list[Attachment] = field(default_factory=list)
    images: list[Attachment] = field(default_factory=list)  # <img> of the article's body


def attachment_extension(url: str) -> str | None:
    """The document extension a URL names, in its path or in a ``filename=`` parameter."""
    parts = urlsplit(url)
    for candidate in (parts.path, *parse_qs(parts.query).get("filename", [])):
        match = _ATTACHMENT_PATH.search(candidate)
        if match:
            return match.group(1).lower()
    return None


def _clean(text: str) -> str:
    return _SPACES.sub("", text or "").rstrip(":：")


def iso_date(text: str | None) -> str | None:
    match = _DATE.search(text or "")
    if not match:
        return None
    year, month, day = (int(g) for g in match.groups())
    return f"{year:04d}-{month:02d}-{day:02d}"


def _table_fields(page: Selector) -> dict[str, str]:
    """索引号 / 发布机构 / 发布日期 from label cells (spaced labels allowed) or "label：value"
    text."""
    found: dict[str, str] = {}
    # lxml with queries compiled once: parsel's per-cell .css()/.xpath() recompile each query,
    # tens of milliseconds an article page (most of a crawl's CPU).
    for cell in _FIELD_CELLS(page.root):
        text = " ".join(_TEXTS(cell))
        label = _clean(text)
        if not label.startswith(_ALL_LABELS):  # neither a label cell nor "label：value"
            continue
        joined = _INNER_SPACE.sub("", text.strip())
        for name, labels in LABELS.items():
            if name in found:
                continue
            if label in labels:
                value = " ".join(_NEXT_SIBLING_TEXTS(cell)).strip()
                if value:
                    found[name] = value
            else:
                inline = _INLINE_FIELD[name].match(joined)
                if inline:
                    found[name] = inline.group(2).strip()
        if len(found) == len(LABELS):
            break
    return found


def _title(page: Selector) -> str | None:
    meta = page.css('meta[name="ArticleTitle"]::attr(content)').get()
    if meta and meta.strip():
        return meta.strip()
    heading = " ".join(page.css("h1 ::text").getall()).strip()
    if heading:
        return heading
    title = (page.css("title::text").get() or "").strip()
    return _TITLE_SUFFIX.sub("", title) or None


def attachments(page: Selector, base_url: str) -> list[Attachment]:
    found: dict[str, Attachment] = {}
    for link in page.css("a[href]"):
        url = urljoin(base_url, link.attrib["href"].strip())
        if not attachment_extension(url):
            continue
        name = " ".join(link.css("::text").getall()).strip() or link.attrib.get("title") or \
            link.attrib.get("download") or url.rsplit("/", 1)[-1]
        found.setdefault(url, Attachment(url, name))
    for script in page.css("script::text").getall():
        for href, text in _SCRIPT_HREF.findall(script):
            url = urljoin(base_url, href)
            found.setdefault(url, Attachment(url, text.strip() or url.rsplit("/", 1)[-1]))
    return list(found.values())


def report_images(page: Selector, base_url: str) -> list[Attachment]:
    """The pictures in the page's body (``<img>`` with an image file name), each once: a 图片版
    report's tables. Site chrome (logos, QR codes) comes along; the extractor finds no table
    in it. Only asked for on a page without attachments (see ``parse_article``)."""
    found: dict[str, Attachment] = {}
    for img in page.css("body img[src]"):
        url = urljoin(base_url, img.attrib["src"].strip())
        if url.startswith("http") and _IMAGE_PATH.search(urlsplit(url).path):
            name = img.attrib.get("alt") or url.rsplit("/", 1)[-1]
            found.setdefault(url, Attachment(url, name))
    return list(found.values())


def parse_article(html: str, url: str) -> Article:
    page = Selector(text=html)
    fields_ = _table_fields(page)
    url_date = _URL_DATE.search(url)
    publish_date = (iso_date(page.css('meta[name="PubDate"]::attr(content)').get())
                    or iso_date(fields_.get("publish_date"))
                    or ("-".join(url_date.groups()) if url_date else None))
    publisher = (page.css('meta[name="ContentSource"]::attr(content)').get() or "").strip() or \
        fields_.get("publisher")
    # A page whose report is in attachments shows no report images (its icons are not fetched).
    found = attachments(page, url)
    return Article(url=url, title=_title(page), publish_date=publish_date, publisher=publisher,
                   index_number=fields_.get("index_number"),
                   attachments=found, images=[] if found else report_images(page, url))
