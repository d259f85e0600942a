"""Every site of the test portal, one module each; ``SITES`` is the order they start in."""

from __future__ import annotations

from dataclasses import replace

from tests.portal.server import SiteSpec
from tests.portal.sites import (
    blocked,
    errors,
    gbk,
    gkmlpt,
    hanweb,
    homes,  # noqa: I001 - after the sites whose home pages it makes
    offsite,
    static,
    trs,
)


def _with_home(site: SiteSpec) -> SiteSpec:
    """The site with its home and 政府信息公开 pages (homes.py) in front of its own routes."""
    return replace(site, routes=(*homes.ROUTES.get(site.name, ()), *site.routes))


SITES: tuple[SiteSpec, ...] = tuple(_with_home(s) for s in (
    trs.SITE, gbk.SITE, hanweb.SITE, gkmlpt.SITE, static.SITE, errors.SITE, *blocked.SITES,
    offsite.SITE))
# The sites a crawler is configured for (offsite is the host nobody may visit).
PORTAL_SITES = tuple(s for s in SITES if s.portal_id)

assert len({s.address for s in SITES}) == len(SITES), "each site needs its own address"
