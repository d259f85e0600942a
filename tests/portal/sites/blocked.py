"""Portals that answer every request, robots.txt included, with an anti-bot challenge.

The crawler must classify them (``blocked:<vendor>``), never solve them, never retry the challenged
URL, and move on. One portal per challenge so each classification is tested alone:

* ``ruishu``: 瑞数 HTTP 412, the nmpa.gov.cn body (``$_ts``, ``r='m'``), a cookie ending in ``S``;
* ``ruishu202``: 瑞数 HTTP 202, the older cnipa.gov.cn body (``r='m'`` scripts, no ``$_ts=window``);
* ``jiasule``: 加速乐 HTTP 521, ``X-Via-JSL`` and ``Set-Cookie: __jsluid_s``, a
  ``document.cookie`` script;
* ``safedog``: 安全狗 HTTP 403, ``Server: Safedog``, cookie ``safedog-flow-item``.
"""

from __future__ import annotations

from tests.portal.content import realpage
from tests.portal.server import Request, Response, Route, SiteSpec

START = "/zwgk/zfxxgknb/index.html"

SAFEDOG_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>网站防火墙</title></head>
<body><div class="main"><h2>网站防火墙</h2>
<p>您的请求带有不合法参数，已被网站管理员设置拦截！</p>
<p>可能原因：您提交的内容包含危险的攻击请求</p>
<p>如何解决：1）检查提交内容；2）如网站托管，请联系空间提供商；3）普通网站访客，请联系网站管理员</p>
<p class="foot">网站防火墙 - 安全狗 safedog.cn</p></div></body></html>"""


def _challenge(status: int, body: bytes, headers: list[tuple[str, str]]):
    def handler(req: Request, match) -> Response:
        return Response(status, body, "text/html; charset=utf-8", list(headers))
    return (Route("/.*", handler, ("GET", "HEAD", "POST")),)


_RUISHU_COOKIE = ("Set-Cookie", "NOh8RTWx6K2dS=60bRqW0mBpmZq3sZx5xq0wYJvM9a; Path=/; HttpOnly")


def _site(name: str, address: str, agency: str, vendor: str, routes, server: str = "nginx"):
    return SiteSpec(name=name, address=address, portal_id=f"fixture-blocked-{name}", agency=agency,
                    start=START, family="trs", routes=routes, blocked=vendor, server=server)


SITES = (
    _site("ruishu", "127.0.0.16", "示例省市场监督管理局", "ruishu",
          _challenge(412, realpage("ruishu_nmpa_412.html"), [_RUISHU_COOKIE])),
    _site("ruishu202", "127.0.0.20", "示例省卫生健康委员会", "ruishu",
          _challenge(202, realpage("ruishu_cnipa_2020.html"), [_RUISHU_COOKIE])),
    _site("jiasule", "127.0.0.18", "示例市公安局", "jiasule",
          _challenge(521, realpage("jiasule_mps_521.html"), [
              ("X-Via-JSL", "d8c5e31,-"),
              ("Set-Cookie", ("__jsluid_s=5f2a7c1e9b3d4a6f8e0c2b4d6f8a0c1e; max-age=31536000; "
                              "path=/; HttpOnly"))]), server="jiasule-WAF"),
    _site("safedog", "127.0.0.19", "示例县发展和改革局", "safedog",
          _challenge(403, SAFEDOG_PAGE.encode("utf-8"), [
              ("X-Powered-By", "WAF/2.0"),
              ("Set-Cookie", "safedog-flow-item=3A1F0E5D2B7A4C93A6E1D0F4B2C9E7A1; path=/")]),
          server="Safedog"),
)
