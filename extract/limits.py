"""Extraction with a time limit: each document is read in a child process that is killed when it
runs over, with its scratch files in a temporary directory removed afterwards."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import signal
import tempfile
from pathlib import Path

from extract.formats.office import PGID_FILE
from extract.model import Report

DOCUMENT_TIMEOUT = 180.0  # seconds per document, LibreOffice conversion included

# fork: the child starts at once with the parent's modules (no re-import of ``__main__``).
_context = multiprocessing.get_context("fork")


def _child(path: str, workdir: str, suffix: str | None, conn,
           images: dict[str, Path] | None = None, url: str | None = None) -> None:
    # Libraries that write temporary files (camelot, LibreOffice) write them here.
    os.environ["TMPDIR"] = workdir
    tempfile.tempdir = workdir
    from extract.document import extract_document

    conn.send(extract_document(Path(path), Path(workdir), suffix, images, url))
    conn.close()


def _failed(path: Path, message: str) -> Report:
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        digest = ""
    return Report(file=str(path), sha256=digest, format="unknown", error=message,
                  extractor="none")


def extract_with_limit(path: Path, timeout: float = DOCUMENT_TIMEOUT,
                       suffix: str | None = None, images: dict[str, Path] | None = None,
                       url: str | None = None) -> Report:
    """``extract_document`` in a child process, killed after ``timeout`` seconds (``images``
    and ``url``: an HTML page's report images, see ``extract_document``)."""
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="nianbao-extract-") as workdir:
        receiver, sender = _context.Pipe(duplex=False)
        process = _context.Process(target=_child,
                                   args=(str(path), workdir, suffix, sender, images, url),
                                   daemon=True)
        process.start()
        sender.close()
        try:
            if receiver.poll(timeout):
                return receiver.recv()
            return _failed(path, f"timeout: extraction took over {timeout:g} s")
        except EOFError:
            return _failed(path, f"crashed: the extractor process died (exit {process.exitcode})")
        finally:
            if process.is_alive():
                process.kill()
            process.join()
            receiver.close()
            _kill_converters(Path(workdir))


def _kill_converters(workdir: Path) -> None:
    """Kill LibreOffice process groups a killed extraction left running (they would write into
    the temporary directory after its removal)."""
    for pgid_file in workdir.rglob(PGID_FILE):
        try:
            os.killpg(int(pgid_file.read_text()), signal.SIGKILL)
        except (ValueError, ProcessLookupError, PermissionError, OSError):
            pass
