"""The raw store: every fetched document, unedited, named by its sha256, plus a manifest row per fetch.

``DATA_DIR/raw/objects/ab/<sha256>`` holds the bytes (written once, atomically; a name that came
from a portal never becomes a path). ``DATA_DIR/raw/manifest.jsonl`` gets one JSON line per fetch,
appended and flushed, so a killed crawl loses at most the line it was writing.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass
class ManifestRow:
    portal_id: str
    url: str  # as requested
    final_url: str  # after redirects
    page_url: str | None  # the article page an attachment was linked from
    title: str | None
    publish_date: str | None
    publisher: str | None
    index_number: str | None
    content_type: str | None
    size: int
    sha256: str
    fetched_at: str  # ISO 8601, UTC
    http_status: int  # 200, or 304 when the stored copy was still current
    kind: str  # "page" (a report's HTML page) or "attachment"
    agency: str | None = None
    year: int | None = None
    attachment_name: str | None = None  # the human name (link text), never used as a path
    variant: str | None = None  # 图片版 / 超链版 …
    new: bool = True  # False when these bytes were already in the store


class RawStore:
    def __init__(self, data_dir: Path) -> None:
        self.root = Path(data_dir) / "raw"
        self.objects = self.root / "objects"
        self.manifest = self.root / "manifest.jsonl"
        self.objects.mkdir(parents=True, exist_ok=True)

    def path_of(self, sha256: str) -> Path:
        return self.objects / sha256[:2] / sha256

    def has(self, sha256: str) -> bool:
        return self.path_of(sha256).exists()

    def read(self, sha256: str) -> bytes:
        return self.path_of(sha256).read_bytes()

    def put(self, data: bytes) -> tuple[str, bool]:
        """Store ``data``; returns (sha256, whether it was new)."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path_of(digest)
        if target.exists():
            return digest, False
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o444)
            os.replace(tmp, target)
        except BaseException:  # a full disk, say: no half-written temp file is left behind
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest, True

    def record(self, row: ManifestRow) -> None:
        with self.manifest.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(asdict(row), ensure_ascii=False) + "\n")
            handle.flush()

    def rows(self) -> Iterator[ManifestRow]:
        """Every manifest row; a torn last line (a crawl killed mid-write) is skipped."""
        if not self.manifest.exists():
            return
        with self.manifest.open(encoding="utf-8") as handle:
            for line in handle:
                try:
                    yield ManifestRow(**json.loads(line))
                except (json.JSONDecodeError, TypeError):
                    continue
