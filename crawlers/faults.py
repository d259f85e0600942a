"""The crawl's error kinds: one vocabulary, as constants and as exceptions with a ``.kind``.

A crawl report's ``errors`` maps each kind to the URLs it struck. The kinds and what they mean
are listed in crawlers/portals/README.md ("Error kinds"). Kinds in ``LOST_DOCUMENT_KINDS`` mean
a document the portal lists was not fetched: a portal with reports and such a loss is
``partial``, not ``ok``.
"""

from __future__ import annotations

import errno
import sqlite3

from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from twisted.internet.error import (
    ConnectionRefusedError,
    DNSLookupError,
    TCPTimedOutError,
    TimeoutError,
)

TIMEOUT = "timeout"  # no complete answer within the portal's `timeout`
TOO_LARGE = "too_large"  # a body over `max_download_mb` (declared, or received so far)
DECOMPRESSION_BOMB = "decompression_bomb"  # a compressed body that inflates over the cap
REDIRECT_LOOP = "redirect_loop"  # a redirect back to a URL of its own chain, or too many hops
CONNECTION = "connection"  # refused, unresolvable, or dropped mid-answer
OFFSITE_REDIRECT = "offsite_redirect"  # a redirect to a host outside the allowed hosts
OFFSITE_LINK = "offsite_link"  # a link to a host outside the allowed hosts (not requested)
ROBOTS_DISALLOWED = "robots_disallowed"
RETRY_AFTER_TOO_LONG = "retry_after_too_long"  # a 503 asking to wait over the cap
LIST_TRUNCATED = "list_truncated"  # `max_requests` / `max_documents` cut the crawl short
DEADLINE = "deadline"  # the portal's `deadline_minutes` passed: it stopped, the others went on
DISK_FULL = "disk_full"  # the data folder's disk is full: the crawl stopped
SOFT_404 = "soft_404"
NOT_A_LIST_PAGE = "not_a_list_page"
LAYOUT_CHANGED = "layout_changed"
IGNORED = "ignored"  # refused by a Scrapy component for another reason (logged)
# Also: ``http_<status>`` for an error status, ``blocked:<vendor>`` for a challenge page and
# ``spider_error:<Exception>`` for a parser bug on one page.

# A document (or list page) the portal has but this crawl did not get.
LOST_DOCUMENT_KINDS = frozenset({TIMEOUT, TOO_LARGE, DECOMPRESSION_BOMB, CONNECTION, DISK_FULL})


class CrawlFault(IgnoreRequest):
    """A request given up for a reason with a kind (raised by the crawl's own middlewares)."""

    kind = IGNORED


class RedirectLoop(CrawlFault):
    kind = REDIRECT_LOOP


class DecompressionBomb(CrawlFault):
    kind = DECOMPRESSION_BOMB


class OffsiteRedirect(CrawlFault):
    """A redirect to a host outside the portal's allowed hosts: not followed, recorded."""

    kind = OFFSITE_REDIRECT


class RetryAfterTooLong(CrawlFault):
    kind = RETRY_AFTER_TOO_LONG


class RobotsDisallowed(CrawlFault):
    kind = ROBOTS_DISALLOWED


# Download failures from Scrapy and Twisted, by class. DownloadCancelledError: Scrapy's HTTP/1.1
# handler cancels a download only for DOWNLOAD_MAXSIZE (declared or received), so it is too_large.
_DOWNLOAD_FAILURES: tuple[tuple[tuple[type[BaseException], ...], str], ...] = (
    ((DownloadTimeoutError, TimeoutError, TCPTimedOutError), TIMEOUT),
    ((DownloadCancelledError,), TOO_LARGE),
    ((DownloadConnectionRefusedError, CannotResolveHostError, DownloadFailedError,
      ResponseDataLossError, ConnectionRefusedError, DNSLookupError), CONNECTION),
)


def kind_of(exc: BaseException) -> str | None:
    """The kind of a download failure or crawl fault; None when it has none here."""
    if isinstance(exc, CrawlFault):
        return exc.kind
    for classes, kind in _DOWNLOAD_FAILURES:
        if isinstance(exc, classes):
            return kind
    return None


def is_disk_full(exc: BaseException) -> bool:
    """An OSError (ENOSPC / EDQUOT) or an SQLite 'database or disk is full'."""
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    if isinstance(exc, sqlite3.Error):
        return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
    return False
