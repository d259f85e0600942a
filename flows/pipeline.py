"""The pipeline's steps as plain functions (the Prefect flow and the CLI both call them):
raw store -> documents to extract -> reports -> warehouse."""

from __future__ import annotations

import os
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import parse_qs, urlsplit

from crawlers.rawstore import RawStore
from extract import Report
from extract.limits import ExtractionPool, Limits
from warehouse.load import DocumentMeta, LoadResult, load_reports
from warehouse.runs import RunRecord
from warehouse.store import Warehouse


@dataclass
class Candidate:
    """A document in the raw store, with what the crawl knows about it."""

    sha256: str
    path: Path
    suffix: str | None
    meta: DocumentMeta
    # An HTML page's report images fetched with it (kind "image"): image URL -> stored file.
    images: dict[str, Path] = field(default_factory=dict)


def _suffix(row) -> str | None:
    for name in (row.attachment_name, *parse_qs(urlsplit(row.url).query).get("filename", []),
                 urlsplit(row.url).path):
        suffix = PurePosixPath(name or "").suffix.lower()
        if suffix in (".pdf", ".doc", ".docx", ".wps", ".html", ".htm", ".shtml", ".ofd",
                      ".xls", ".xlsx"):
            return suffix
    return None


def candidates(data_dir: Path, *, only_new: bool = True,
               regions: dict[str, str] | None = None,
               portals: Collection[str] | None = None) -> list[Candidate]:
    """Documents of the raw store to extract: every distinct sha256, or only those the warehouse
    has not seen (an unchanged document is never extracted twice); ``portals``: only documents
    those portal ids fetched (a crawl shard's, as soon as it finished)."""
    store = RawStore(data_dir)
    seen: set[str] = set()
    if only_new:
        reports = Warehouse(data_dir).read("reports", columns=["document_sha256"])
        seen = set(reports["document_sha256"].to_pylist())
    found: dict[str, Candidate] = {}
    images: dict[str, dict[str, Path]] = {}  # page URL -> its images
    rows = list(store.rows())
    for row in rows:
        if row.kind == "image" and row.page_url and store.has(row.sha256):
            for url in {row.url, row.final_url}:
                images.setdefault(row.page_url, {})[url] = store.path_of(row.sha256)
    for row in rows:
        if (row.kind == "image" or row.sha256 in seen or row.sha256 in found
                or (portals is not None and row.portal_id not in portals)
                or not store.has(row.sha256)):
            continue
        found[row.sha256] = Candidate(row.sha256, store.path_of(row.sha256), _suffix(row),
                                      DocumentMeta(row.final_url or row.url, row.page_url,
                                                   row.publish_date, row.portal_id,
                                                   (regions or {}).get(row.portal_id)),
                                      images.get(row.url, {}) | images.get(row.final_url, {}))
    return list(found.values())


def extract_all(items: list[Candidate], workers: int | None = None,
                progress: Callable[[Report], None] | None = None) -> list[Report]:
    """Every document under the time and memory limits, in a pool of ``workers`` recycled
    extraction processes; one Report per item, in order."""
    workers = min(max(1, len(items)), workers or max(1, (os.cpu_count() or 2)))
    with ExtractionPool(workers, Limits.from_env()) as pool:
        return list(pool.map(((item.path, item.suffix, item.images, item.meta.source_url)
                              for item in items), progress))


def manifest_rows(data_dir: Path) -> list[dict]:
    return [asdict(row) for row in RawStore(data_dir).rows()]


def load_extracted(data_dir: Path, reports: list[Report], items: list[Candidate],
                   **options) -> LoadResult:
    """Load the reports of ``items`` with what the crawl knows of each, and the manifest rows;
    ``options`` go to ``load_reports`` (run_id, run, expected_agencies)."""
    metas = {item.sha256: item.meta for item in items}
    return load_reports(Warehouse(data_dir), reports, metas, documents=manifest_rows(data_dir),
                        **options)


def rebuild(data_dir: Path, workers: int | None = None,
            progress: Callable[[Report], None] | None = None,
            items: list[Candidate] | None = None, run_id: str | None = None) -> LoadResult:
    """Re-extract every document in the raw store (or ``items`` of it) and load it, without
    crawling: a new extractor version adds new report versions; an unchanged one adds nothing."""
    items = candidates(data_dir, only_new=False) if items is None else items
    return load_extracted(data_dir, extract_all(items, workers, progress), items,
                          run_id=run_id, run=RunRecord(kind="rebuild"))
