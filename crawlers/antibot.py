"""Anti-bot challenge pages, recognised by status, headers, cookies and body; never solved.

A challenge is recorded as ``blocked:<vendor>`` for the portal and the host gets no further
requests in that crawl (no retry storm).
"""

from __future__ import annotations

import re

from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response

_RUISHU_BODY = re.compile(rb"\$_ts\s*=\s*window\[|\$_ts\.(?:nsd|cd)\s*="
                          rb"|<(?:meta|script)[^>]*\sr=['\"]m['\"]", re.I)
# The clearance cookie is assembled from fragments ('_')+('_')+('j')…, so its name is not literal.
_JIASULE_BODY = re.compile(rb"__jsl_clearance|document\.cookie\s*=.{0,5000}?location\.href",
                           re.I | re.S)


class ChallengeBlocked(IgnoreRequest):
    """A challenge page answered instead of the content; ``vendor`` names the WAF."""

    def __init__(self, vendor: str, url: str) -> None:
        super().__init__(f"blocked:{vendor} at {url}")
        self.vendor = vendor


def _header(response: Response, name: str) -> str:
    return b", ".join(response.headers.getlist(name)).decode("latin-1").lower()


def challenge_vendor(response: Response) -> str | None:
    """The WAF vendor whose challenge this response is, or None for an ordinary response."""
    head = response.body[:20000]
    cookies = _header(response, "Set-Cookie")
    server = _header(response, "Server")
    if response.status in (412, 202, 200, 400) and _RUISHU_BODY.search(head):
        return "ruishu"
    if (response.status in (521, 403, 503, 200) and (
            _header(response, "X-Via-JSL") or "__jsluid" in cookies or "jiasule" in server
            or (_JIASULE_BODY.search(head) and len(response.body) < 20000))):
        return "jiasule"
    if "safedog" in server or "safedog-flow-item" in cookies:
        return "safedog"
    if "yunsuo_session_verify" in cookies:
        return "yunsuo"
    if _header(response, "WZWS-Ray") or "wzws_cid" in cookies:
        return "360wzws"
    return None
