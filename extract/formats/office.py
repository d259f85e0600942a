"""DOC and WPS reports: converted to DOCX by LibreOffice headless, then read as DOCX.

Each conversion gets its own LibreOffice profile directory (parallel conversions do not share a
lock) and a time limit; everything it writes stays in the caller's temporary directory.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

from extract.errors import ExtractionError
from extract.formats.docx import read_docx
from extract.model import Content

NAME = "libreoffice+docx-lxml"
VERSION = "1"
CONVERSION_TIMEOUT = 90  # seconds
PGID_FILE = "soffice.pgid"


def find_soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def convert_to_docx(source: Path, workdir: Path, timeout: float = CONVERSION_TIMEOUT) -> Path:
    """The DOCX LibreOffice makes of ``source`` (a Word 97 / WPS binary), inside ``workdir``."""
    soffice = find_soffice()
    if soffice is None:
        raise ExtractionError("libreoffice_missing",
                              "LibreOffice (soffice) is not installed; DOC/WPS cannot be read")
    # Kingsoft WPS files are Word-97 compatible; named .wps, LibreOffice would try MS Works.
    staged = workdir / "input.doc"
    shutil.copyfile(source, staged)
    outdir = workdir / "out"
    command = [soffice, f"-env:UserInstallation={(workdir / 'profile').as_uri()}", "--headless",
               "--norestore", "--nolockcheck", "--nodefault", "--convert-to", "docx",
               "--outdir", str(outdir), str(staged)]
    env = {**os.environ, "HOME": str(workdir), "TMPDIR": str(workdir)}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                               start_new_session=True)
    # LibreOffice forks (oosplash -> soffice.bin) in its own session; whoever kills this
    # extraction (extract.limits) kills that whole group by the id left here.
    (workdir / PGID_FILE).write_text(str(process.pid))
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise ExtractionError("timeout",
                              f"LibreOffice conversion took over {timeout:.0f} s") from exc
    converted = outdir / "input.docx"
    if process.returncode != 0 or not converted.exists():
        detail = output.decode("utf-8", "replace").strip()[-300:]
        raise ExtractionError("conversion_failed",
                              f"LibreOffice could not convert the file: {detail}")
    return converted


def read_office(path: Path, workdir: Path) -> Content:
    content = read_docx(convert_to_docx(path, workdir))
    content.extractor, content.extractor_version = NAME, VERSION
    return content
