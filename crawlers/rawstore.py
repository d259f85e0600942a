"""The raw store: every fetched document, unedited, named by its sha256, plus a manifest row per
fetch.

``DATA_DIR/raw/objects/ab/<sha256>`` holds the bytes (written once, atomically; a name that came
from a portal never becomes a path). ``DATA_DIR/raw/manifest.jsonl`` gets one JSON line per fetch,
appended and flushed, so a killed crawl loses at most the line it was writing.

Every read checks the bytes against the name. An object whose bytes no longer hash to its name
(a flipped bit on disk, a hand edit) is moved aside to ``DATA_DIR/raw/quarantine/`` (never
deleted), logged in ``DATA_DIR/raw/quarantine.jsonl`` and from then on counts as absent: it is
not extracted, and the next crawl fetches the document again (the crawler asks ``has`` before
answering from the store).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path


class CorruptObject(Exception):
    """A stored object's bytes do not hash to its name; it has been quarantined."""

    kind = "corrupt_store"

    def __init__(self, quarantine: Quarantined) -> None:
        super().__init__(quarantine.describe())
        self.quarantine = quarantine


@dataclass
class Quarantined:
    """One object moved aside because its bytes did not match its name."""

    sha256: str  # the name it was stored under
    actual_sha256: str  # what its bytes hash to now
    size: int
    moved_to: str  # relative to the data dir
    at: str  # ISO 8601, UTC

    def describe(self) -> str:
        return (f"raw object {self.sha256[:16]}… does not match its name (its {self.size} bytes "
                f"hash to {self.actual_sha256[:16]}…); moved to {self.moved_to}; the next crawl "
                "fetches the document again")


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
        self.quarantine_dir = self.root / "quarantine"
        self.quarantine_log = self.root / "quarantine.jsonl"
        self.objects.mkdir(parents=True, exist_ok=True)

    def path_of(self, sha256: str) -> Path:
        return self.objects / sha256[:2] / sha256

    def has(self, sha256: str) -> bool:
        """Whether the store holds these bytes intact; a damaged copy is quarantined and does
        not count (so the crawler fetches the document again instead of answering from it)."""
        try:
            self.verify(sha256)
        except (FileNotFoundError, CorruptObject):
            return False
        return True

    def read(self, sha256: str) -> bytes:
        """The object's bytes; ``CorruptObject`` (after quarantining it) when they do not hash to
        its name, ``FileNotFoundError`` when it is absent."""
        data = self.path_of(sha256).read_bytes()
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha256:
            raise CorruptObject(self._quarantine(sha256, actual, len(data)))
        return data

    def verify(self, sha256: str) -> None:
        """Hash the object (streamed); quarantine it and raise ``CorruptObject`` on a mismatch."""
        path = self.path_of(sha256)
        with path.open("rb") as handle:
            actual = hashlib.file_digest(handle, "sha256").hexdigest()
            size = handle.tell()
        if actual != sha256:
            raise CorruptObject(self._quarantine(sha256, actual, size))

    def object_names(self) -> Iterator[str]:
        """Names of every stored object (temporary files of unfinished writes left out)."""
        for path in sorted(self.objects.glob("??/*")):
            if not path.name.startswith("."):
                yield path.name

    def quarantined(self, since: datetime | None = None) -> list[Quarantined]:
        """Quarantine log entries, oldest first; ``since``: only those at or after this time."""
        if not self.quarantine_log.exists():
            return []
        found = []
        for line in self.quarantine_log.read_text(encoding="utf-8").splitlines():
            try:
                entry = Quarantined(**json.loads(line))
            except (json.JSONDecodeError, TypeError):
                continue  # a torn line of a killed process
            if since is None or datetime.fromisoformat(entry.at) >= since:
                found.append(entry)
        return found

    def _quarantine(self, sha256: str, actual: str, size: int) -> Quarantined:
        now = datetime.now(UTC)
        self.quarantine_dir.mkdir(parents=True, exist_ok=True)
        target = self.quarantine_dir / f"{sha256}.{now.strftime('%Y%m%dT%H%M%S.%fZ')}"
        entry = Quarantined(sha256, actual, size, str(target.relative_to(self.root.parent)),
                            now.isoformat())
        try:
            os.replace(self.path_of(sha256), target)
        except FileNotFoundError:
            return entry  # another reader moved it aside first and logged it
        with self.quarantine_log.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(asdict(entry)) + "\n")
            handle.flush()
        return entry

    def put(self, data: bytes) -> tuple[str, bool]:
        """Store ``data``; returns (sha256, whether it was new). A damaged copy already under
        that name is quarantined and replaced by these bytes."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path_of(digest)
        if target.exists() and self.has(digest):
            return digest, False
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            # No fsync per object (a crawl stores thousands): the name is given by rename, and a
            # copy a power cut left short no longer hashes to its name - every read checks,
            # quarantines it, and the next crawl fetches the document again.
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
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
