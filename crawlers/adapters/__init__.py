"""Platform adapters: one small module per CMS family, each turning a list page into entries
(article or attachment links with their titles) and the further list pages to fetch.

``sniff`` picks the family for ``platform: auto`` from the first list page.
"""

from __future__ import annotations

import re

from scrapy.http import TextResponse

from crawlers.adapters import gkmlpt, hanweb, static, trs
from crawlers.adapters.base import Entry, ListPage

ADAPTERS = {"trs": trs, "hanweb": hanweb, "gkmlpt": gkmlpt, "static": static}

_TRS = re.compile(r"createPageHTML\s*\(|var\s+countPage\s*=|pageControl\s*\(|/t\d{8}_\d+")


def sniff(response: TextResponse) -> str:
    """The platform family a list page belongs to."""
    if "/gkmlpt/" in response.url:
        return "gkmlpt"
    text = response.text[:200000]
    if "<datastore>" in text or "dataproxy.jsp" in text:
        return "hanweb"
    if _TRS.search(text):
        return "trs"
    return "static"


__all__ = ["ADAPTERS", "Entry", "ListPage", "sniff"]
