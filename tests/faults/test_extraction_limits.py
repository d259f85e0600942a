"""Extraction limits: bombs, the memory and time limits of the worker pool, error codes as
fields, the PDF cascade's decision, and library warnings kept off the terminal.

Every bomb is generated at test time (a deflate stream of a repeated block is written once and
its compressed bytes repeated, so a 1 GiB bomb costs milliseconds); nothing binary is committed.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import time
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import pikepdf
import pytest

from extract import Report, Status, extract_document
from extract.formats.pdfium_grid import NAME as FAST_NAME
from extract.limits import ExtractionPool, Limits
from tests.conftest import DATA, load_key

GIB = 1024 ** 3
BLOCK = 16 * 1024 * 1024


def deflate_bomb(size: int, fill: bytes = b" ", raw: bool = False) -> bytes:
    """A zlib (or raw deflate) stream that inflates to ``size`` bytes of ``fill``: one block
    compressed after a full flush (which resets the window) compresses the same every time."""
    block = fill * (BLOCK // len(fill))
    assert size % BLOCK == 0
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS if raw else zlib.MAX_WBITS)
    first = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    repeated = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    end = compressor.flush(zlib.Z_FINISH)
    body = first + repeated * (size // BLOCK - 1)
    if raw:
        return body + end
    checksum = 1
    for _ in range(size // BLOCK):
        checksum = zlib.adler32(block, checksum)
    return body + end[:-4] + struct.pack(">I", checksum)


def pdf_bomb(target: Path, size: int, hex_first: bool = False) -> Path:
    """weihai 2020 with one more content stream on page 1 inflating to ``size`` spaces. With
    ``hex_first`` the Flate data is also ASCIIHex-encoded, so only a reader that decodes the
    filter chain (PDFium) meets the bomb."""
    data = deflate_bomb(size)
    with pikepdf.open(DATA / "weihai_2020.pdf") as pdf:
        # the stream's bytes as given, declared encoded by /Filter (already compressed)
        stream = pikepdf.Stream(pdf, data.hex().encode() + b">" if hex_first else data)
        stream.Filter = (pikepdf.Array([pikepdf.Name.ASCIIHexDecode, pikepdf.Name.FlateDecode])
                         if hex_first else pikepdf.Name.FlateDecode)
        pdf.pages[0].contents_add(stream, prepend=True)
        # qpdf would decode ASCIIHex on save and store plain Flate: keep the filters as written
        pdf.save(target, stream_decode_level=pikepdf.StreamDecodeLevel.none,
                 compress_streams=False)
    return target


def forged_docx(target: Path, inflated: int) -> Path:
    """weihai 2020's DOCX whose word/document.xml inflates to ``inflated`` bytes (its XML with
    spaces after it) while both of its headers declare the real XML's small size and CRC."""
    with zipfile.ZipFile(DATA / "weihai_2020.docx") as source:
        members = [(info.filename, source.read(info)) for info in source.infolist()]
    entries, central, out = [], b"", bytearray()
    for name, data in members:
        declared, crc = len(data), zlib.crc32(data)
        if name == "word/document.xml":
            compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
            head = compressor.compress(data) + compressor.flush(zlib.Z_FULL_FLUSH)
            padding = inflated - len(data)
            bomb = deflate_bomb(padding - padding % BLOCK, raw=True)
            compressed = head + bomb  # raw deflate: no checksum to fix
        else:
            compressed = zlib.compress(data, 9)[2:-4]
        encoded = name.encode()
        entries.append((encoded, len(out), crc, len(compressed), declared))
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(compressed),
                           declared, len(encoded), 0) + encoded + compressed
    start = len(out)
    for encoded, offset, crc, size, declared in entries:
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, crc, size,
                               declared, len(encoded), 0, 0, 0, 0, 0, offset) + encoded
    out += central + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries),
                                 len(central), start, 0)
    target.write_bytes(bytes(out))
    return target


def worker_peak_rss(pool: ExtractionPool) -> int:
    """The highest resident set of the pool's idle worker so far, in bytes (VmHWM)."""
    [pid] = pool.worker_pids()
    status = Path(f"/proc/{pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


def test_deflate_bomb_helper_inflates_to_its_size() -> None:
    data = deflate_bomb(4 * BLOCK)
    assert len(data) < 100 * 1024
    inflater = zlib.decompressobj()
    total = 0
    while data:
        total += len(inflater.decompress(data, BLOCK))
        data = inflater.unconsumed_tail
    assert total == 4 * BLOCK and inflater.eof


def test_hongze_2023_is_read_by_the_fast_path_alone() -> None:
    """洪泽 2023 prints sums that do not add up (R4 fails in print); the fast reading has no
    structural doubt, so pdfplumber and camelot never run, and every key cell is exact."""
    key = load_key("hongze_district_2023")
    report = extract_document(DATA / "hongze_district_2023.pdf")
    assert report.error is None and report.error_code is None
    assert report.readers == [FAST_NAME]
    assert report.extractor == FAST_NAME
    assert report.anomalies == []
    assert report.values() == key["cells"]
    assert report.templates == key["templates"]
    assert any(c.rule == "R4" and c.status is Status.FAIL for c in report.checks)


def cut_pdf(target: Path, bad_font_boxes: bool = False) -> Path:
    """weihai 2020 without its last page (the appeals table's rows are missing); with
    ``bad_font_boxes`` every font descriptor's FontBBox is 3 numbers, which pdfminer warns about
    ("Could not get FontBBox ...") each time it loads the font."""
    with pikepdf.open(DATA / "weihai_2020.pdf") as pdf:
        del pdf.pages[3:]
        if bad_font_boxes:
            for obj in pdf.objects:
                if isinstance(obj, pikepdf.Dictionary) and obj.get("/Type") == "/FontDescriptor":
                    obj.FontBBox = pikepdf.Array([0, 0, 0])
        pdf.save(target)
    return target


def test_structural_doubt_still_asks_pdfplumber(tmp_path: Path) -> None:
    """A fast reading missing rows is doubted: pdfplumber reads the file too, then camelot."""
    report = extract_document(cut_pdf(tmp_path / "cut.pdf"))
    assert report.error is None
    assert report.readers == [FAST_NAME, "pdfplumber", "camelot-lattice"]
    assert "missing_cells" in {a.kind for a in report.anomalies}


def test_pdf_decompression_bomb_is_refused_before_any_reader(tmp_path: Path) -> None:
    """A 1 GiB Flate content stream is 'decompression_bomb' (never 'no_text_layer'), and the
    worker that met it stayed far below the bomb's size."""
    bomb = pdf_bomb(tmp_path / "bomb.pdf", GIB)
    assert bomb.stat().st_size < 4 * 1024 * 1024
    with ExtractionPool(1, Limits(timeout=120, memory=GIB)) as pool:
        report = pool.extract(bomb)
        assert report.error_code == "decompression_bomb", report.error
        assert report.cells == {} and report.checks == []
        assert worker_peak_rss(pool) < 600 * 1024 ** 2
        assert pool.replaced == 0


@pytest.mark.slow  # PDFium inflates the bomb until the memory limit stops it (a few seconds)
def test_worker_killed_by_the_memory_limit_is_replaced(tmp_path: Path) -> None:
    """A bomb behind an ASCIIHex filter escapes the stream scan; the worker's memory limit stops
    it as 'too_large', a fresh worker takes its place and the next document is read exactly."""
    bomb = pdf_bomb(tmp_path / "hex_bomb.pdf", 2 * GIB, hex_first=True)
    key = load_key("weihai_2020")
    with ExtractionPool(1, Limits(timeout=120, memory=GIB)) as pool:
        report = pool.extract(bomb)
        assert report.error_code == "too_large", report.error
        assert pool.replaced == 1
        after = pool.extract(DATA / "weihai_2020.pdf")
    assert after.error is None
    assert after.values() == key["cells"]


def test_worker_over_its_time_limit_is_replaced_and_the_next_document_extracts() -> None:
    key = load_key("weihai_2020")
    with ExtractionPool(1, Limits(timeout=0.05)) as pool:
        late = pool.extract(DATA / "huaian_city_2024.pdf")
        assert late.error_code == "timeout" and "0.05 s" in late.error
        assert pool.replaced == 1 and pool.worker_pids() == []  # killed, not kept
        pool.limits = Limits(timeout=120)
        after = pool.extract(DATA / "weihai_2020.pdf")
        [pid] = pool.worker_pids()
        again = pool.extract(DATA / "weihai_2020.docx")
        assert pool.worker_pids() == [pid]  # the fresh worker lives on: no process per document
    assert after.values() == key["cells"]
    assert again.error is None and again.values() == key["cells"]


def test_workers_are_recycled_after_n_documents() -> None:
    with ExtractionPool(1, Limits(documents_per_worker=2)) as pool:
        reports = [pool.extract(DATA / "weihai_2020.txt")]
        [first] = pool.worker_pids()
        reports.append(pool.extract(DATA / "weihai_2020.txt"))
        assert pool.worker_pids() == []  # its second document ended it
        reports.append(pool.extract(DATA / "weihai_2020.txt"))
        [second] = pool.worker_pids()
        assert second != first and pool.replaced == 0
    assert all(r.error is None and r.values() == reports[0].values() for r in reports)


def test_docx_bomb_with_forged_sizes_is_refused_with_bounded_memory(tmp_path: Path) -> None:
    """document.xml declares its real small size but inflates to 1 GiB: refused as
    'decompression_bomb' while inflating, never more than the limit in memory."""
    bomb = forged_docx(tmp_path / "forged.docx", GIB + 64 * 1024)
    assert bomb.stat().st_size < 4 * 1024 * 1024
    with zipfile.ZipFile(bomb) as archive:
        assert archive.getinfo("word/document.xml").file_size < 1024 * 1024  # the forgery
    tracemalloc.start()
    try:
        report = extract_document(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.error_code == "decompression_bomb", report.error
    assert report.cells == {}
    assert peak < 200 * 1024 ** 2


def test_error_code_is_a_field_and_the_message_stays_human(tmp_path: Path) -> None:
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    report = extract_document(empty)
    assert report.error_code == "empty_file"
    assert report.to_dict()["error_code"] == "empty_file"
    assert "empty" in report.error.split(":", 1)[1]


def _run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("nianbao")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "flows.cli"]
    return subprocess.run([*command, "extract", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "TMPDIR": str(cwd)})


def test_cli_keeps_library_warnings_off_the_terminal(tmp_path: Path) -> None:
    """pdfminer warns 'Could not get FontBBox' on these PDFs when pdfplumber reads them (here
    forced by a page missing, a structural doubt); the warnings go to --debug-log only."""
    target = cut_pdf(tmp_path / "cut.pdf", bad_font_boxes=True)
    log = tmp_path / "debug.log"
    result = _run_cli("--json", "--debug-log", str(log), str(target), cwd=tmp_path)
    obj = json.loads(result.stdout)
    assert "pdfplumber" in obj["readers"]
    assert "FontBBox" not in result.stderr and "WARNING" not in result.stderr, result.stderr
    assert "FontBBox" in log.read_text(encoding="utf-8")


def test_cli_reads_many_files_in_order_with_codes(tmp_path: Path) -> None:
    bomb = pdf_bomb(tmp_path / "bomb.pdf", GIB)
    files = [DATA / "weihai_2020.pdf", bomb, DATA / "hongze_district_2023.pdf",
             DATA / "weihai_2020.pdf"]
    result = _run_cli("--json", "--workers", "2", *map(str, files), cwd=tmp_path)
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["file"] for o in objects] == [str(f) for f in files]
    assert [o["error_code"] for o in objects] == [None, "decompression_bomb", None, None]
    assert objects[2]["readers"] == [FAST_NAME]
    assert objects[0]["cells"] == objects[3]["cells"] == load_key("weihai_2020")["cells"]
    assert result.returncode == 2


def test_report_fail_clears_what_was_read() -> None:
    report = Report(file="x", sha256="", format="pdf", cells={}, templates={"requests": "2021"})
    report.fail("timeout", "over 1 s")
    assert (report.error_code, report.error, report.templates) == ("timeout", "timeout: over 1 s",
                                                                    {})


def test_file_over_the_size_cap_is_too_large_without_being_read(tmp_path: Path) -> None:
    """A 101 MiB file (sparse: no disk used) is 'too_large' from its size alone."""
    big = tmp_path / "big.pdf"
    with open(big, "wb") as handle:
        handle.write(b"%PDF-1.7\n")
        handle.truncate(101 * 1024 * 1024)
    tracemalloc.start()
    try:
        report = extract_document(big)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.error_code == "too_large" and report.sha256 == ""
    assert peak < 10 * 1024 * 1024


POOL_THEN_WAIT = """
import sys, time
from pathlib import Path
from extract.limits import ExtractionPool
pool = ExtractionPool(2)
list(pool.map([(Path(sys.argv[1]), None), (Path(sys.argv[1]), None)]))
print(*pool.worker_pids(), flush=True)
time.sleep(300)
"""


def running(pid: int) -> bool:
    """The process exists and is not a zombie (dead, waiting to be reaped)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def test_workers_do_not_outlive_a_kill_9_of_their_parent(tmp_path: Path) -> None:
    """kill -9 of the process that owns the pool: its workers notice within seconds, remove
    their scratch directories and exit."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    parent = subprocess.Popen([sys.executable, "-c", POOL_THEN_WAIT, str(DATA / "weihai_2020.txt")],
                              stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2],
                              env={**os.environ, "TMPDIR": str(scratch)})
    try:
        pids = [int(pid) for pid in parent.stdout.readline().split()]
        assert len(pids) == 2 and len(list(scratch.iterdir())) == 2
    finally:
        parent.kill()
        parent.wait()
    for _ in range(100):  # bounded: 10 s
        alive = [pid for pid in pids if running(pid)]
        if not alive:
            break
        time.sleep(0.1)
    assert alive == []
    assert list(scratch.iterdir()) == []


@pytest.mark.slow  # a LibreOffice conversion is under way when the worker is killed
def test_worker_killed_mid_document_is_crashed_and_replaced(tmp_path: Path, monkeypatch) -> None:
    """kill -9 of a worker converting a DOC: that document is 'crashed', LibreOffice's group
    and the scratch files go with it, and the next document is read by a fresh worker."""
    import tempfile
    import threading

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    key = load_key("weihai_2020")
    with ExtractionPool(1, Limits(timeout=120)) as pool:
        assert pool.extract(DATA / "weihai_2020.txt").error is None
        [pid] = pool.worker_pids()
        result: list[Report] = []
        reading = threading.Thread(target=lambda: result.append(
            pool.extract(DATA / "weihai_2020.doc")))
        reading.start()
        for _ in range(100):  # bounded: until LibreOffice has started (its group id is left)
            # os.walk, not rglob: LibreOffice removes folders of its profile while it is walked
            if any("soffice.pgid" in files for _, _, files in os.walk(scratch)):
                break
            time.sleep(0.1)
        os.kill(pid, 9)
        reading.join(60)
        assert result and result[0].error_code == "crashed", result
        assert pool.replaced == 1
        after = pool.extract(DATA / "weihai_2020.pdf")
        assert after.values() == key["cells"]
    time.sleep(1)
    assert list(scratch.iterdir()) == []
    assert [pid for pid in commands_mentioning(str(scratch)) if running(pid)] == []


def commands_mentioning(text: str) -> list[int]:
    """Processes whose command line contains ``text`` (a LibreOffice left running)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and text in (entry / "cmdline").read_bytes().decode(
                    "utf-8", "replace"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found
