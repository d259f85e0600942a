"""What a failed load leaves behind, removed; and a full disk told apart from other failures.

A load writes Parquet files and Delta commits that only ``_published.json`` makes visible, and
it replaces that pointer last. When it fails (a full disk, a bug, Ctrl-C) every file it created
under the warehouse is removed, so the tables are back where the published snapshot says and the
space is free again; the few files a load rewrites in place (Delta's ``_last_checkpoint``) get
their old bytes back.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

_DISK_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
# delta-rs (Rust) and DuckDB (C++) raise their own exception classes and keep the errno only in
# the text: Rust's io::Error prints "(os error 28)", the C library's strerror "No space left on
# device". These are the OS's words, not ours.
_DISK_FULL_TEXTS = (f"(os error {errno.ENOSPC})", os.strerror(errno.ENOSPC),
                    f"(os error {errno.EDQUOT})", os.strerror(errno.EDQUOT))


class DiskFull(OSError):
    """The disk under the warehouse is full (or over quota)."""

    kind = "disk_full"

    def __init__(self, root: Path, what: str) -> None:
        self.root = Path(root)
        try:
            free = shutil.disk_usage(self.root).free
        except OSError:
            free = None
        room = "" if free is None else f" ({free} bytes free)"
        super().__init__(errno.ENOSPC, f"no space left on the disk of {self.root}{room}: {what}")

    def __str__(self) -> str:
        return self.strerror


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` or anything that caused it is the OS saying the disk is full."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, DiskFull):
            return True
        if isinstance(exc, OSError) and exc.errno in _DISK_FULL_ERRNOS:
            return True
        if any(text in str(exc) for text in _DISK_FULL_TEXTS):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


class FilesBefore:
    """The files under a warehouse before a load, to remove what the load added if it fails."""

    REWRITTEN = "_last_checkpoint"

    def __init__(self, root: Path) -> None:
        # (strings, not Path objects: a warehouse of 10M reports holds thousands of files)
        self.root = str(root)
        self.files: set[str] = set()
        self.dirs: set[str] = {self.root}
        self.rewritten: dict[str, bytes] = {}
        for folder, dirs, files in os.walk(self.root):
            self.dirs.update(os.path.join(folder, d) for d in dirs)
            for name in files:
                path = os.path.join(folder, name)
                self.files.add(path)
                if name == self.REWRITTEN:
                    self.rewritten[path] = Path(path).read_bytes()

    def remove_new(self, keep: tuple[str, ...] = ()) -> list[Path]:
        """Remove every file and folder created since, but those named in ``keep``; put
        rewritten files back. Returns the removed files."""
        removed = []
        for folder, _dirs, files in os.walk(self.root, topdown=False):
            for name in files:
                path = os.path.join(folder, name)
                if path not in self.files and name not in keep:
                    Path(path).unlink(missing_ok=True)
                    removed.append(Path(path))
            if folder not in self.dirs and not os.listdir(folder):
                os.rmdir(folder)
        for path, content in self.rewritten.items():
            if not os.path.exists(path) or Path(path).read_bytes() != content:
                Path(path).write_bytes(content)
        return removed
