"""Bad input: every document nianbao cannot read gets a clear, stable error code (or a FAIL
result), never a crash, a hang or a file left behind.

Each fixture is built in pytest's tmp_path at test time from the real documents in tests/data/;
no generated binary is committed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
import zipfile
from pathlib import Path

import pikepdf
import pypdfium2
import pytest
from lxml import etree
from PIL import Image

from extract import Report, Status, extract_document, extract_with_limit

DATA = Path(__file__).parent / "data"
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
MINIMAL_DOCUMENT_XML = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
    b"<w:body><w:p><w:r><w:t>x</w:t></w:r></w:p></w:body></w:document>"
)
NOTICE_HTML = """<!DOCTYPE html>
<html><head><meta charset="utf-8">
<title>关于做好2023年政府信息公开工作年度报告编制发布工作的通知</title></head>
<body>
<h1>关于做好2023年政府信息公开工作年度报告编制发布工作的通知</h1>
<p>各区人民政府，市政府各部门：</p>
<p>根据《中华人民共和国政府信息公开条例》，各行政机关应于2024年1月31日前公布本机关2023年政府信息
公开工作年度报告。年度报告格式按照《中华人民共和国政府信息公开工作年度报告格式》执行，
“主动公开政府信息情况”“收到和处理政府信息公开申请情况”“政府信息公开行政复议、行政诉讼情况”
等表格的统计口径应与年度报告格式一致。</p>
<p>各单位联系人如下：</p>
<table border="1">
<tr><th>单位</th><th>联系人</th><th>电话</th></tr>
<tr><td>市政府办公室</td><td>张三</td><td>12345678</td></tr>
<tr><td>市政务服务管理局</td><td>李四</td><td>87654321</td></tr>
</table>
<p>市政府办公室</p><p>2023年12月1日</p>
</body></html>
"""


# --- helpers -----------------------------------------------------------------------------------

def error_code(report: Report) -> str | None:
    """The stable code of an unreadable report (its ``error`` says why, for people)."""
    return report.error_code


def assert_refused(report: Report, code: str) -> None:
    """``report`` is an error with exactly ``code``, a detail, and no cells or checks."""
    assert error_code(report) == code, report.error
    assert report.error.split(":", 1)[1].strip(), "the error must say why"
    assert report.cells == {} and report.checks == []


def results(report: Report, rule: str, status: Status) -> set[str]:
    """Subjects of ``rule`` results with ``status``."""
    return {c.subject for c in report.checks if c.rule == rule and c.status is status}


def rewrite_docx(source: Path, target: Path, document_xml: bytes) -> Path:
    """A copy of the DOCX ``source`` whose word/document.xml is ``document_xml``."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            data = document_xml if info.filename == "word/document.xml" else old.read(info)
            new.writestr(info, data)
    return target


def run_cli(files: list[Path], root: Path) -> subprocess.CompletedProcess:
    """``nianbao extract --json FILES`` with TMPDIR, HOME and cwd in new empty dirs of ``root``."""
    for name in ("tmp", "home", "cwd"):
        (root / name).mkdir(parents=True)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("XDG_") and k != "MPLCONFIGDIR"}  # HOME is where caches would go
    env.update(TMPDIR=str(root / "tmp"), HOME=str(root / "home"))
    script = Path(sys.executable).with_name("nianbao")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "flows.cli"]
    return subprocess.run([*command, "extract", "--json", *map(str, files)], cwd=root / "cwd",
                          env=env, capture_output=True, text=True, timeout=300)


# --- fixture builders (each writes one bad file into ``directory``) ---------------------------

def make_empty(directory: Path) -> Path:
    path = directory / "empty.pdf"
    path.write_bytes(b"")
    return path


def make_truncated_pdf(directory: Path) -> Path:
    data = (DATA / "huaian_city_2024.pdf").read_bytes()
    path = directory / "truncated.pdf"
    path.write_bytes(data[: len(data) * 4 // 10])
    return path


def make_encrypted_pdf(directory: Path) -> Path:
    path = directory / "encrypted.pdf"
    with pikepdf.open(DATA / "weihai_2020.pdf") as pdf:
        pdf.save(path, encryption=pikepdf.Encryption(owner="o", user="secret"))
    return path


def make_scanned_pdf(directory: Path) -> Path:
    """hongze 2024 with each page replaced by its picture: a PDF without a text layer."""
    document = pypdfium2.PdfDocument(str(DATA / "hongze_district_2024.pdf"))
    try:
        images = [document[n].render(scale=1).to_pil().convert("RGB")
                  for n in range(len(document))]
    finally:
        document.close()
    path = directory / "scanned.pdf"
    images[0].save(path, save_all=True, append_images=images[1:])
    return path


def make_zip_bomb(directory: Path) -> Path:
    """A DOCX of ~1 MB whose second member inflates to 1 GiB of zeros (written in chunks)."""
    path = directory / "bomb.docx"
    chunk = bytes(1 << 20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", MINIMAL_DOCUMENT_XML)
        with archive.open("word/media/zeros.bin", "w", force_zip64=True) as member:
            for _ in range(1024):
                member.write(chunk)
    return path


def make_xxe_docx(directory: Path) -> tuple[Path, str]:
    """weihai 2020 whose document.xml pulls a local secret file in as an external entity."""
    marker = f"SECRET-{os.urandom(8).hex()}"
    secret = directory / "secret.txt"
    secret.write_text(marker)
    xml = zipfile.ZipFile(DATA / "weihai_2020.docx").read("word/document.xml").decode("utf-8")
    declaration, body = xml.split("?>", 1)
    doctype = f'<!DOCTYPE w:document [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>'
    assert body.count("<w:t>") > 0
    body = body.replace("<w:t>", "<w:t>&xxe;", 1)  # the first w:t is in the first paragraph
    path = rewrite_docx(DATA / "weihai_2020.docx", directory / "xxe.docx",
                        f"{declaration}?>{doctype}{body}".encode())
    return path, marker


def make_notice_html(directory: Path) -> Path:
    path = directory / "notice.html"
    path.write_text(NOTICE_HTML, encoding="utf-8")
    return path


def make_missing_requests(directory: Path) -> Path:
    """weihai 2020 DOCX without its table 三 (the w:tbl holding 申请人情况)."""
    root = etree.fromstring(
        zipfile.ZipFile(DATA / "weihai_2020.docx").read("word/document.xml"))
    found = [t for t in root.iter(f"{W}tbl") if "申请人情况" in "".join(t.itertext())]
    assert len(found) == 1
    found[0].getparent().remove(found[0])
    xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    return rewrite_docx(DATA / "weihai_2020.docx", directory / "missing_requests.docx", xml)


def make_png_named_pdf(directory: Path) -> Path:
    path = directory / "report.pdf"
    Image.new("RGB", (64, 64), "white").save(path, format="PNG")
    return path


def make_random_blob(directory: Path) -> Path:
    """Random bytes after two NULs; '<' is blanked so no chance '<p>' makes it look like HTML."""
    path = directory / "download.bin"
    path.write_bytes(b"\x00\x00" + os.urandom(4094).replace(b"<", b"\x00"))
    return path


# --- one test per bad input --------------------------------------------------------------------

def test_empty_file_is_refused_as_empty(tmp_path):
    """A 0-byte download is 'empty_file', whatever its name says."""
    assert_refused(extract_document(make_empty(tmp_path)), "empty_file")


def test_truncated_pdf_is_corrupt(tmp_path):
    """A PDF cut at 40% (no xref, no trailer) is refused by pdfium as 'corrupt'."""
    report = extract_document(make_truncated_pdf(tmp_path))
    assert_refused(report, "corrupt")
    assert report.format == "pdf"


def test_password_protected_pdf_is_encrypted(tmp_path):
    """A PDF with a user password is 'encrypted', not 'corrupt'."""
    assert_refused(extract_document(make_encrypted_pdf(tmp_path)), "encrypted")


def test_scanned_pdf_without_an_ocr_engine_is_ocr_missing(tmp_path, monkeypatch):
    """Page images without text go to OCR; with no OCR language data they are 'ocr_missing'
    (skipped and retried), not 'not_a_report'."""
    monkeypatch.setenv("TESSDATA_PREFIX", str(tmp_path))  # an empty directory: no models
    assert_refused(extract_document(make_scanned_pdf(tmp_path)), "ocr_missing")


@pytest.mark.slow  # writing 1 GiB through deflate takes ~3 s; the refusal itself is instant
def test_docx_zip_bomb_is_refused_before_decompression(tmp_path):
    """A member that would inflate ~1000x is 'decompression_bomb', decided from the zip
    directory alone."""
    path = make_zip_bomb(tmp_path)
    assert path.stat().st_size < 2 * 1024 * 1024
    tracemalloc.start()
    started = time.monotonic()
    try:
        report = extract_document(path)
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert_refused(report, "decompression_bomb")
    assert elapsed < 1.0
    assert peak < 64 * 1024 * 1024  # nothing near 1 GiB was inflated


def test_docx_external_entity_is_neither_resolved_nor_trusted(tmp_path):
    """A document.xml with a DOCTYPE (XXE) is 'corrupt' and the secret file never leaks out."""
    path, marker = make_xxe_docx(tmp_path)
    in_process = extract_document(path)
    assert_refused(in_process, "corrupt")
    result = run_cli([path], tmp_path / "run")
    assert result.returncode == 2, result.stderr
    assert marker not in result.stdout and marker not in result.stderr
    (line,) = result.stdout.splitlines()
    assert json.loads(line)["error"] == in_process.error


def test_notice_about_the_format_is_not_a_report(tmp_path):
    """An HTML notice that talks about 年度报告格式 but has no report table is 'not_a_report'."""
    report = extract_document(make_notice_html(tmp_path))
    assert_refused(report, "not_a_report")
    assert report.format == "html"


def test_report_missing_table_three_is_read_with_fail_results(tmp_path):
    """A report without its requests table is still read: R5/R6 FAIL it, other tables stay."""
    report = extract_document(make_missing_requests(tmp_path))
    assert report.error is None
    assert "requests" in results(report, "R5", Status.FAIL)
    assert "requests/template" in results(report, "R6", Status.FAIL)
    assert not any(key.startswith("requests/") for key in report.cells)
    key = json.loads((DATA / "keys" / "weihai_2020.json").read_text(encoding="utf-8"))
    for table in ("disclosure", "appeals"):
        expected = {k: v for k, v in key["cells"].items() if k.startswith(f"{table}/")}
        assert expected
        assert {k: report.cells[k].value for k in expected if k in report.cells} == expected
        assert table in results(report, "R5", Status.PASS)


def test_png_named_pdf_is_unknown_format(tmp_path):
    """The bytes decide the format, not the name: a PNG called report.pdf is 'unknown_format'."""
    assert_refused(extract_document(make_png_named_pdf(tmp_path)), "unknown_format")


def test_random_binary_is_unknown_format(tmp_path):
    """Binary noise (with NUL bytes) is neither text nor a document: 'unknown_format'."""
    assert_refused(extract_document(make_random_blob(tmp_path)), "unknown_format")


def test_blank_template_is_not_a_report():
    """The 2021 template with empty cells has every label but no number: 'not_a_report'."""
    report = extract_document(DATA / "template_2021_blank.docx")
    assert_refused(report, "not_a_report")
    assert report.format == "docx"


def test_time_limit_kills_extraction_and_cleans_up(tmp_path, monkeypatch):
    """A document over its time limit is 'timeout' at once, its scratch directory removed."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    started = time.monotonic()
    report = extract_with_limit(DATA / "huaian_city_2024.pdf", timeout=0.01)
    assert time.monotonic() - started < 5.0
    assert error_code(report) == "timeout", report.error
    assert "0.01 s" in report.error  # the limit as given, not rounded to "0 s"
    assert report.cells == {} and report.checks == []
    assert list(scratch.iterdir()) == []


@pytest.mark.slow
def test_time_limit_during_libreoffice_conversion_kills_it(tmp_path, monkeypatch):
    """LibreOffice runs in its own process group; a timeout must kill it too, or it would keep
    writing its profile into the removed temporary directory."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    report = extract_with_limit(DATA / "weihai_2020.doc", timeout=0.8)
    assert error_code(report) == "timeout", report.error
    time.sleep(2)  # what a surviving soffice would write, it would have written by now
    assert list(scratch.iterdir()) == []


@pytest.mark.slow  # builds every bad file (the zip bomb ~3 s) and converts a DOC with LibreOffice
def test_cli_reports_every_bad_file_and_leaves_nothing_behind(tmp_path):
    """One JSON line per file with its error, exit 2, and no file left in TMPDIR, HOME or cwd."""
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    xxe, marker = make_xxe_docx(inputs)
    expected = {
        make_empty(inputs): "empty_file",
        make_truncated_pdf(inputs): "corrupt",
        make_encrypted_pdf(inputs): "encrypted",
        make_scanned_pdf(inputs): None,  # read by OCR (a 72 dpi scan: R5 finds cells missing)
        make_zip_bomb(inputs): "decompression_bomb",
        xxe: "corrupt",
        make_notice_html(inputs): "not_a_report",
        make_missing_requests(inputs): None,
        make_png_named_pdf(inputs): "unknown_format",
        make_random_blob(inputs): "unknown_format",
        DATA / "template_2021_blank.docx": "not_a_report",
        DATA / "weihai_2020.doc": None,
    }
    result = run_cli(list(expected), tmp_path / "run")

    assert result.returncode == 2, result.stderr
    assert marker not in result.stdout and marker not in result.stderr
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["file"] for o in objects] == [str(p) for p in expected]
    for obj, code in zip(objects, expected.values()):
        assert obj["error_code"] == code, (obj["file"], obj["error"])
    by_name = {Path(o["file"]).name: o for o in objects}
    assert by_name["missing_requests.docx"]["summary"]["R5"] == "FAIL"
    assert by_name["weihai_2020.doc"]["format"] == "doc"
    assert len(by_name["weihai_2020.doc"]["cells"]) == 198
    for name in ("tmp", "home", "cwd"):
        assert list((tmp_path / "run" / name).iterdir()) == [], name
