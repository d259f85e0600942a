"""The host outside every allow-list (a spam mirror that clones gov pages).

Other sites link or redirect here; a crawler must never follow. It answers anything with 200 and,
like every site, records each request, so ``portal.log.hits("offsite") == []`` proves it.
"""

from __future__ import annotations

from tests.portal.server import Request, Response, Route, SiteSpec, html

MIRROR = """<!DOCTYPE html><html><head><meta charset="utf-8">\
<title>政府信息公开工作年度报告</title></head>
<body><p>本站内容转载自互联网。</p><a href="/">返回首页</a></body></html>"""


def anything(req: Request, match) -> Response:
    return html(MIRROR)


SITE = SiteSpec(name="offsite", address="127.0.0.99", portal_id="", agency="",
                start="/", family="static",
                routes=(Route("/.*", anything, ("GET", "HEAD", "POST")),))
