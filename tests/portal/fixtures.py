"""pytest fixtures for the test portal, and the portal configs a crawler reads.

Use from a test module (conftest.py is not needed)::

    from tests.portal import fixtures
    from tests.portal.fixtures import write_configs

    portal = fixtures.portal  # pytest finds fixtures among the module's names

    def test_crawl(portal, tmp_path):
        configs = write_configs(portal, tmp_path)
        ...
        assert portal.log.hits("offsite") == []
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.portal.server import Portal
from tests.portal.sites import PORTAL_SITES, SITES


def start_portal(port: int = 0) -> Portal:
    """Every site, started on one port (0: the first free on all their addresses)."""
    return Portal(list(SITES)).start(port)


@pytest.fixture(scope="session")
def portal() -> Iterator[Portal]:
    """The running portal for the whole session; call ``portal.reset()`` for a fresh log."""
    running = start_portal()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def fresh_portal(portal: Portal) -> Portal:
    """The session's portal with an empty log and the stateful pages failing again."""
    portal.reset()
    return portal


def write_configs(portal: Portal, directory: Path) -> list[Path]:
    """One portal YAML per configured site (crawlers/portals/README.md), named ``<id>.yaml``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for site in PORTAL_SITES:
        start = portal.base_url(site.name) + site.start
        text = (f"id: {site.portal_id}\n"
                f"agency: {site.agency}\n"
                f"start_urls: {json.dumps([start], ensure_ascii=False)}\n"
                f"platform: auto\n")
        path = directory / f"{site.portal_id}.yaml"
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
