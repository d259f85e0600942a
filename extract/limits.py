"""Extraction with time and memory limits, in a pool of long-lived worker processes.

Each worker is a forked child that reads documents one after another under an address-space
limit (RLIMIT_AS: what it had when it started, inherited from the parent, plus
``Limits.memory``); the parent gives each document a time limit. A worker that runs over its
time, dies (killed by the memory limit, or a crash in a C library) or has read
``documents_per_worker`` documents is replaced by a fresh one, so one bad document costs one
worker, never the documents after it, and no per-document process start is paid.

Scratch files (camelot, LibreOffice) go to a temporary directory per worker, removed with it;
LibreOffice process groups a killed worker left running are killed first.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import multiprocessing
import os
import queue
import resource
import shutil
import signal
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from extract.formats.office import PGID_FILE
from extract.model import Report

DOCUMENT_TIMEOUT = 180.0  # seconds per document, LibreOffice conversion included
MEMORY_LIMIT = 4 * 1024 ** 3  # bytes of address space per worker
DOCUMENTS_PER_WORKER = 200  # then the worker is replaced (what leaks in C libraries goes)
ORPHAN_CHECK_SECONDS = 1.0  # how often a worker checks that its parent is alive
MEMORY_ENV = "NIANBAO_EXTRACT_MEMORY_MB"  # overrides MEMORY_LIMIT (the nightly flow's workers)
DEBUG_LOG_ENV = "NIANBAO_DEBUG_LOG"  # a file for library warnings (else they are dropped)

# fork: a worker starts at once with the parent's modules (no re-import of ``__main__``).
_context = multiprocessing.get_context("fork")


@dataclass(frozen=True)
class Limits:
    """What one document may cost: seconds, and bytes of address space its worker may add to
    what it started with (a parent that maps gigabytes would otherwise leave it nothing)."""

    timeout: float = DOCUMENT_TIMEOUT
    memory: int = MEMORY_LIMIT
    documents_per_worker: int = DOCUMENTS_PER_WORKER

    @classmethod
    def from_env(cls, timeout: float = DOCUMENT_TIMEOUT) -> Limits:
        megabytes = os.environ.get(MEMORY_ENV)
        return cls(timeout, int(megabytes) * 1024 ** 2 if megabytes else MEMORY_LIMIT)


def _quiet_third_parties(debug_log: Path | None) -> None:
    """Library warnings (pdfminer's "Could not get FontBBox ..." dozens of times a document,
    camelot's, Python warnings) go to ``debug_log``, or nowhere: never to the terminal."""
    warnings.simplefilter("default")
    logging.captureWarnings(True)
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    if debug_log is not None:
        handler = logging.FileHandler(debug_log, encoding="utf-8")
        handler.setFormatter(logging.Formatter(
            f"%(asctime)s worker {os.getpid()} %(name)s %(levelname)s %(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.DEBUG)
    else:
        root.addHandler(logging.NullHandler())  # else logging.lastResort prints to stderr
    for name in ("pdfminer", "camelot", "pdfplumber", "py.warnings"):
        named = logging.getLogger(name)
        named.handlers.clear()
        named.propagate = True


def _exit_with_parent(parent: int, workdir: Path) -> None:
    """Watch the parent; once it is gone (a kill -9 closes no pipe: other workers hold copies of
    its ends), kill this worker's LibreOffice, remove its scratch files and exit."""
    while os.getppid() == parent:
        time.sleep(ORPHAN_CHECK_SECONDS)
    _orphaned(workdir)


def _orphaned(workdir: Path) -> None:
    """The parent is gone: nobody else will clean up after this worker."""
    _kill_converters(workdir)
    shutil.rmtree(workdir, ignore_errors=True)
    os._exit(1)


def _serve(conn, parent_end, workdir: str, memory: int, debug_log: Path | None) -> None:
    """A worker: (path, suffix, images, url) in, Report out, until None or the pipe closes."""
    # The parent's objects came with the fork as shared pages; a collection that walked them
    # would write to each and copy them all (the flow's reports: hundreds of MB per worker).
    gc.freeze()
    parent_end.close()
    threading.Thread(target=_exit_with_parent, args=(os.getppid(), Path(workdir)),
                     daemon=True).start()
    ceiling = _address_space() + memory
    resource.setrlimit(resource.RLIMIT_AS, (ceiling, ceiling))
    # Libraries that write temporary files (camelot, LibreOffice) write them here.
    os.environ["TMPDIR"] = workdir
    tempfile.tempdir = workdir
    _quiet_third_parties(debug_log)
    from extract.document import extract_document

    while True:
        try:
            job = conn.recv()
        except EOFError:  # the parent's end closed without a goodbye: it died
            _orphaned(Path(workdir))
        if job is None:
            return
        path, suffix, images, url = job
        try:
            report = extract_document(Path(path), Path(workdir), suffix, images, url)
        except MemoryError:  # outside extract_document's own handler (while building a report)
            report = _failed(Path(path), "too_large", "reading it ran out of memory")
        conn.send(report)


def _address_space() -> int:
    """Bytes of virtual memory this process has mapped now."""
    pages = int(Path("/proc/self/statm").read_text().split()[0])
    return pages * os.sysconf("SC_PAGE_SIZE")


def _failed(path: Path, code: str, detail: str) -> Report:
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except (OSError, MemoryError):
        digest = ""
    return Report(file=str(path), sha256=digest, format="unknown").fail(code, detail)


_OUT_OF_MEMORY_SIGNALS = (signal.SIGABRT, signal.SIGTRAP, signal.SIGILL)


class _Worker:
    """The parent's handle on one worker process and its scratch directory."""

    def __init__(self, limits: Limits, debug_log: Path | None) -> None:
        self.limits = limits
        self.workdir = Path(tempfile.mkdtemp(prefix="nianbao-extract-"))
        self.conn, child = _context.Pipe(duplex=True)
        self.process = _context.Process(target=_serve, daemon=True, args=(
            child, self.conn, str(self.workdir), limits.memory, debug_log))
        self.process.start()
        child.close()
        self.documents = 0

    def extract(self, path: Path, suffix: str | None, images: dict[str, Path] | None = None,
                url: str | None = None) -> tuple[Report, bool]:
        """(the Report, whether this worker can take another document)."""
        self.documents += 1
        try:
            self.conn.send((str(path), suffix, images, url))
            if not self.conn.poll(self.limits.timeout):
                return _failed(path, "timeout",
                               f"extraction took over {self.limits.timeout:g} s"), False
            report = self.conn.recv()
        except (EOFError, OSError):
            self.process.join(1)
            return _failed(path, *self._death()), False
        reusable = (report.error_code != "too_large"
                    and self.documents < self.limits.documents_per_worker)
        return report, reusable

    def _death(self) -> tuple[str, str]:
        """Why the worker died. Under RLIMIT_AS a failed allocation ends C++ code (PDFium) in an
        abort or a trap, so those signals are the memory limit's doing; anything else (a
        segmentation fault, an exit) is a crash."""
        code = self.process.exitcode
        if code is not None and -code in _OUT_OF_MEMORY_SIGNALS:
            return "too_large", (f"the extraction worker died of {signal.Signals(-code).name} "
                                 f"while reading it, under a memory limit of "
                                 f"{self.limits.memory // 1024 ** 2} MiB")
        return "crashed", f"the extraction worker died (exit {code})"

    def close(self, kill: bool = False) -> None:
        if not kill and self.process.is_alive():
            try:
                self.conn.send(None)
            except OSError:
                pass
            self.process.join(2)
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.conn.close()
        _kill_converters(self.workdir)
        shutil.rmtree(self.workdir, ignore_errors=True)


class ExtractionPool:
    """``workers`` long-lived extraction processes; ``extract`` is safe to call from threads
    (each call takes an idle worker, or waits for one)."""

    def __init__(self, workers: int = 1, limits: Limits | None = None,
                 debug_log: Path | None = None) -> None:
        self.limits = limits or Limits()
        self.debug_log = debug_log
        self.workers = max(1, workers)
        self._idle: queue.LifoQueue[_Worker | None] = queue.LifoQueue()
        for _ in range(self.workers):
            self._idle.put(None)  # a slot: its worker starts on first use
        self._lock = threading.Lock()
        self._closed = False
        self.replaced = 0  # workers replaced after a timeout, a death or a memory error

    def extract(self, path: Path, suffix: str | None = None,
                images: dict[str, Path] | None = None, url: str | None = None) -> Report:
        path = Path(path)
        worker = self._idle.get()
        try:
            if worker is not None and not worker.process.is_alive():  # died idle: not this
                worker.close(kill=True)                                # document's doing
                worker = None
            if worker is None:
                worker = _Worker(self.limits, self.debug_log)
            report, reusable = worker.extract(path, suffix, images, url)
            if not reusable:
                self.replaced += worker.documents < self.limits.documents_per_worker
                worker.close(kill=True)
                worker = None
            return report
        except BaseException:
            if worker is not None:
                worker.close(kill=True)
            worker = None
            raise
        finally:
            self._idle.put(worker)

    def worker_pids(self) -> list[int]:
        """Process ids of the workers now idle and alive (to watch them: /proc/<pid>/status)."""
        with self._idle.mutex:
            return [w.process.pid for w in self._idle.queue
                    if w is not None and w.process.is_alive()]

    def map(self, items: Iterable[tuple],
            progress: Callable[[Report], None] | None = None) -> Iterator[Report]:
        """Reports of ``(path, suffix[, images, url])`` items in their order, as many at a time
        as workers."""
        from concurrent.futures import ThreadPoolExecutor

        def one(item: tuple) -> Report:
            report = self.extract(*item)
            if progress:
                progress(report)
            return report

        with ThreadPoolExecutor(max_workers=self.workers) as threads:
            yield from threads.map(one, items)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        while not self._idle.empty():
            worker = self._idle.get_nowait()
            if worker is not None:
                worker.close()

    def __enter__(self) -> ExtractionPool:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def extract_with_limit(path: Path, timeout: float = DOCUMENT_TIMEOUT,
                       suffix: str | None = None, images: dict[str, Path] | None = None,
                       url: str | None = None) -> Report:
    """One document in a worker of its own, killed after ``timeout`` seconds (for many
    documents, an ``ExtractionPool`` pays the process start once; ``images`` and ``url``: an
    HTML page's report images, see ``extract_document``)."""
    with ExtractionPool(1, Limits.from_env(timeout)) as pool:
        return pool.extract(path, suffix, images, url)


_shared: ExtractionPool | None = None
_shared_lock = threading.Lock()


def shared_pool(workers: int | None = None) -> ExtractionPool:
    """This process's pool (created on first use, closed at exit): for callers that extract one
    document per call from many threads, such as the nightly flow's tasks."""
    global _shared
    with _shared_lock:
        if _shared is None or _shared._closed:
            import atexit

            debug_log = os.environ.get(DEBUG_LOG_ENV)
            _shared = ExtractionPool(workers or os.cpu_count() or 2, Limits.from_env(),
                                     Path(debug_log) if debug_log else None)
            atexit.register(_shared.close)
        return _shared


def close_shared_pool() -> None:
    """Stop this process's pool, if it has one (the next ``shared_pool()`` starts another)."""
    with _shared_lock:
        if _shared is not None:
            _shared.close()


def _kill_converters(workdir: Path) -> None:
    """Kill LibreOffice process groups a killed extraction left running (they would write into
    the temporary directory after its removal)."""
    for pgid_file in workdir.rglob(PGID_FILE):
        try:
            os.killpg(int(pgid_file.read_text()), signal.SIGKILL)
        except (ValueError, ProcessLookupError, PermissionError, OSError):
            pass
