"""Every site of the test portal, one module each; ``SITES`` is the order they start in."""

from __future__ import annotations

from tests.portal.server import SiteSpec
from tests.portal.sites import blocked, errors, gbk, gkmlpt, hanweb, offsite, static, trs

SITES: tuple[SiteSpec, ...] = (trs.SITE, gbk.SITE, hanweb.SITE, gkmlpt.SITE, static.SITE,
                               errors.SITE, *blocked.SITES, offsite.SITE)
# The sites a crawler is configured for (offsite is the host nobody may visit).
PORTAL_SITES = tuple(s for s in SITES if s.portal_id)

assert len({s.address for s in SITES}) == len(SITES), "each site needs its own address"
