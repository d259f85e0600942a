"""What the spider hands the raw-store pipeline: a fetched document, and where documents go.

``FetchedDocument`` is the item the spider yields for a report page, attachment or image (Scrapy
takes dataclass items as they are); ``DocumentSink`` is what the spider hands the pipeline once,
so that the pipeline reads fields and calls what it was given instead of reaching into the
spider's state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from scrapy.http import Response

from crawlers.config import PortalConfig
from crawlers.detect import TitleVerdict
from crawlers.rawstore import ManifestRow, RawStore
from crawlers.state import CrawlState, Validators


@dataclass
class FetchedDocument:
    portal_id: str
    url: str  # as requested
    final_url: str  # after redirects
    page_url: str | None  # the article page an attachment was linked from (None for a page)
    title: str | None
    publish_date: str | None
    publisher: str | None
    index_number: str | None
    content_type: str | None
    etag: str | None
    last_modified: str | None
    http_status: int  # 304 when the stored copy answered for the server
    requested: bool  # False: read from the store, seen lately, no request made
    kind: str  # "page", "attachment" or "image"
    agency: str | None
    year: int | None
    attachment_name: str | None
    variant: str | None
    # Not in the repr: Scrapy logs items, and a document's bytes have no place in a log.
    body: bytes = field(default=b"", repr=False)
    sha256: str | None = None  # set by the pipeline once the bytes are stored

    @classmethod
    def of_response(cls, response: Response, config: PortalConfig, kind: str,
                    page: dict[str, Any], verdict: TitleVerdict,
                    name: str | None = None) -> FetchedDocument:
        """The document a response brought: ``page`` is the report page's metadata (url, title,
        date, publisher, index_number), ``verdict`` what its title says (crawlers/detect.py)."""
        year = verdict.year
        if year is None and page.get("date") and int(page["date"][5:7]) <= 6:
            year = int(page["date"][:4]) - 1  # reports appear Jan-Mar for the year before
        headers = response.headers
        return cls(
            portal_id=config.id,
            url=response.request.url if response.request else response.url,
            final_url=response.url,
            page_url=page["url"] if kind != "page" else None,
            title=page.get("title"),
            publish_date=page.get("date"),
            publisher=page.get("publisher"),
            index_number=page.get("index_number"),
            content_type=headers.get(b"Content-Type", b"").decode("latin-1") or None,
            etag=headers.get(b"ETag", b"").decode("latin-1") or None,
            last_modified=headers.get(b"Last-Modified", b"").decode("latin-1") or None,
            http_status=304 if response.meta.get("unchanged") else response.status,
            requested=not response.meta.get("not_requested"),
            kind=kind,
            agency=verdict.agency or page.get("publisher") or config.agency,
            year=year,
            attachment_name=name,
            variant=verdict.variant,
            body=response.body,
        )

    def manifest_row(self, sha256: str, fetched_at: str, new: bool) -> ManifestRow:
        return ManifestRow(
            portal_id=self.portal_id, url=self.url, final_url=self.final_url,
            page_url=self.page_url, title=self.title, publish_date=self.publish_date,
            publisher=self.publisher, index_number=self.index_number,
            content_type=self.content_type, size=len(self.body), sha256=sha256,
            fetched_at=fetched_at, http_status=self.http_status, kind=self.kind,
            agency=self.agency, year=self.year, attachment_name=self.attachment_name,
            variant=self.variant, new=new)

    def validators(self, sha256: str) -> Validators | None:
        """The HTTP validators to ask with next time; None when the server sent none."""
        if not (self.etag or self.last_modified):
            return None
        return Validators(self.etag, self.last_modified, sha256, self.content_type)


@dataclass
class DocumentSink:
    """The pipeline's collaborators, handed over by the spider."""

    store: RawStore
    crawl_state: CrawlState
    # (exception, url, portal id): records the document as lost and stops the whole crawl.
    disk_full: Callable[[BaseException, str, str], None]
    # Whether the crawl already stopped on a full disk (then nothing more is written).
    stopped_by_full_disk: Callable[[], bool]
