"""Portal configs (see crawlers/portals/README.md): small YAML files, validated with messages
naming the key.

Everything particular to one portal lives in its config, visibly: a quirk gets a key and, where
it overrides a safe default, a written reason.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from scrapy.utils.url import url_is_from_any_domain

PLATFORMS = ("auto", "trs", "hanweb", "gkmlpt", "static")
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{1,63}$")


class ConfigError(ValueError):
    """A portal config that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class PortalConfig:
    id: str
    agency: str
    start_urls: tuple[str, ...]
    platform: str = "auto"
    allowed_hosts: tuple[str, ...] = ()  # default: the start URLs' hosts
    delay: float = 2.0  # seconds between requests to one host (AutoThrottle's floor)
    encoding: str | None = None  # forced page encoding, for a portal whose labels lie
    include: tuple[str, ...] = ()  # extra title patterns that mark a report
    exclude: tuple[str, ...] = ()  # extra title patterns that mark a decoy
    list_selector: str | None = None  # CSS for the list's links, where the adapter's guess fails
    max_pages: int = 50  # list pages per start URL
    # Per portal per run: the request that reaches max_requests (or the document that reaches
    # max_documents) closes the crawl as list_truncated; the next run resumes where it stopped.
    # 5000 requests at the default 2 s delay fit the nightly flow's 3 h per portal.
    max_requests: int = 5000
    max_documents: int = 2000
    max_download_mb: int = 50
    timeout: float = 60.0  # seconds per request
    # Past this many minutes from the crawl's start the portal stops as partial (`deadline`);
    # what it had queued waits for its next run. The nightly flow gives a portal 3 h.
    deadline_minutes: float = 180.0
    # A document fetched fewer days ago is not requested again (its stored copy is read); older
    # ones get a conditional request. 0: always ask the server (If-None-Match/If-Modified-Since).
    recheck_days: float = 7.0
    obey_robots: bool = True
    robots_override_reason: str | None = None
    agencies: tuple[str, ...] = ()  # agencies expected to report here (for missing-report checks)
    region: str | None = None
    verified: bool = False  # false until a crawl from a network that reaches it succeeded
    notes: str | None = None
    source: Path | None = field(default=None, compare=False)

    @property
    def hosts(self) -> tuple[str, ...]:
        return self.allowed_hosts or tuple(dict.fromkeys(
            urlsplit(u).hostname or "" for u in self.start_urls))

    def allows(self, url: str) -> bool:
        """Whether the crawl may fetch ``url``: its host is one of ``hosts`` or a subdomain of
        one (the one rule for links and redirects alike)."""
        return on_hosts(url, self.hosts)


def on_hosts(url: str, hosts: tuple[str, ...]) -> bool:
    """``url``'s host is one of ``hosts`` or a subdomain of one: Scrapy's own domain matching."""
    host = urlsplit(url).hostname
    # Scrapy compares the netloc, port included: hand it the bare host name.
    return bool(host) and url_is_from_any_domain(f"http://{host}/", hosts)


_KEYS = {f.name for f in fields(PortalConfig)} - {"source"}


def _fail(source: str, key: str, problem: str) -> ConfigError:
    return ConfigError(f"{source}: {key}: {problem}")


def _url(source: str, value: Any) -> str:
    try:
        parts = urlsplit(str(value))
        parts.hostname  # noqa: B018 -- raises ValueError for a malformed host ("http://[x")
    except ValueError as exc:
        raise _fail(source, "start_urls", f"{value!r} is not an http(s) URL ({exc})") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _fail(source, "start_urls", f"{value!r} is not an http(s) URL")
    return str(value)


def _patterns(source: str, key: str, value: Any) -> tuple[str, ...]:
    items = (value,) if isinstance(value, str) else tuple(value or ())
    for pattern in items:
        try:
            re.compile(pattern)
        except (re.error, TypeError) as exc:  # TypeError: a bare number such as 2023
            raise _fail(source, key, f"{pattern!r} is not a regular expression ({exc})") from exc
    return items


def parse_config(data: Any, source: str = "<config>") -> PortalConfig:
    """A validated PortalConfig from parsed YAML, or ConfigError naming the offending key."""
    if not isinstance(data, dict):
        raise ConfigError(
            f"{source}: a portal config is a mapping of keys, got {type(data).__name__}")
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise _fail(source, unknown[0], f"unknown key (allowed: {', '.join(sorted(_KEYS))})")
    for key in ("id", "agency", "start_urls"):
        if not data.get(key):
            raise _fail(source, key, "missing (every portal config needs id, agency, start_urls)")
    if not _ID.match(str(data["id"])):
        raise _fail(source, "id", f"{data['id']!r} must be lower-case letters, digits, - or _")
    urls = data["start_urls"]
    if isinstance(urls, str) or not isinstance(urls, list):
        raise _fail(source, "start_urls", "must be a list of URLs")
    values = dict(data)
    values["id"] = str(data["id"])
    values["start_urls"] = tuple(_url(source, u) for u in urls)
    if values.get("platform", "auto") not in PLATFORMS:
        raise _fail(source, "platform",
                    f"{values['platform']!r} is not one of {', '.join(PLATFORMS)}")
    for key in ("include", "exclude"):
        values[key] = _patterns(source, key, values.get(key))
    for key in ("allowed_hosts", "agencies"):
        value = values.get(key) or ()
        values[key] = (value,) if isinstance(value, str) else tuple(value)
    for host in values["allowed_hosts"]:
        if not isinstance(host, str) or not re.fullmatch(r"[A-Za-z0-9.-]+", host):
            raise _fail(source, "allowed_hosts", f"{host!r} is not a host name (no scheme or path)")
    if values.get("encoding") is not None:
        try:
            codecs.lookup(str(values["encoding"]))
        except LookupError as exc:
            raise _fail(source, "encoding",
                        f"{values['encoding']!r} is not a known encoding") from exc
    for key in ("obey_robots", "verified"):
        if key in values and not isinstance(values[key], bool):
            raise _fail(source, key, f"{values[key]!r} must be true or false")
    for key, kind in (("delay", float), ("timeout", float), ("recheck_days", float),
                      ("deadline_minutes", float),
                      ("max_pages", int), ("max_requests", int), ("max_documents", int),
                      ("max_download_mb", int)):
        if key in values:
            try:
                values[key] = kind(values[key])
            except (TypeError, ValueError) as exc:
                raise _fail(source, key, f"{values[key]!r} is not a number") from exc
            if values[key] < 0:
                raise _fail(source, key, "must not be negative")
    for key in ("max_requests", "max_documents"):
        if key in values and values[key] < 1:
            raise _fail(source, key, "must be at least 1 (it caps one run; the next resumes)")
    if values.get("obey_robots") is False and not values.get("robots_override_reason"):
        raise _fail(source, "obey_robots", "false needs robots_override_reason (why ignore it?)")
    return PortalConfig(**values, source=Path(source) if source != "<config>" else None)


def load_config(path: Path) -> PortalConfig:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc})") from exc
    return parse_config(data, str(path))


def load_configs(path: Path) -> list[PortalConfig]:
    """A config file, or every *.yaml / *.yml in a folder (sorted); ids must be unique."""
    return load_config_paths([path])


def load_config_paths(paths: Sequence[Path]) -> list[PortalConfig]:
    """The configs of several files or folders (each folder sorted); ids must be unique."""
    files: list[Path] = []
    for path in map(Path, paths):
        found = sorted([*path.glob("*.yaml"), *path.glob("*.yml")]) if path.is_dir() else [path]
        if not found:
            raise ConfigError(f"{path}: no portal configs (*.yaml) found")
        files.extend(found)
    configs = [load_config(f) for f in files]
    seen: dict[str, Path | None] = {}
    for config in configs:
        if config.id in seen:
            raise ConfigError(
                f"{config.source}: id: {config.id!r} is also used by {seen[config.id]}")
        seen[config.id] = config.source
    return configs
