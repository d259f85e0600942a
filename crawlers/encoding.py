"""How a page's bytes are read: one rule for the crawl and for discover/try.

GB-family labels are read as their superset gb18030, and a page whose declared charset (or
utf-8, when none is declared) fails is read as gb18030 (the common mislabelling). A portal's
config may force an encoding instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # extract reads GB_FAMILY too, and need not import Scrapy for it
    from scrapy.http import TextResponse

# Labels of GB 2312/GBK text, read as their superset gb18030 (HZ is 7-bit and is not one).
GB_FAMILY = frozenset({"gb2312", "gbk", "gb18030", "x-gbk", "cp936", "euc-cn"})


def decoded(response: TextResponse, forced: str | None = None) -> tuple[TextResponse, bool]:
    """``response`` in the encoding the crawler reads it in, and whether its declared charset
    was wrong (it is gb18030 bytes)."""
    if forced:
        return response.replace(encoding=forced), False
    declared = (response.encoding or "").lower()
    if declared in GB_FAMILY:
        return response.replace(encoding="gb18030"), False
    try:
        response.body.decode(declared or "utf-8")
    except (UnicodeDecodeError, LookupError):
        try:
            response.body.decode("gb18030")
        except UnicodeDecodeError:
            return response, False
        return response.replace(encoding="gb18030"), True
    return response, False
