"""Format adapters: charset handling, merged cells, sniffing."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from extract import extract_document
from extract.errors import ExtractionError
from extract.formats.docx import read_docx
from extract.formats.html import decode, read_html
from extract.formats.sniff import sniff
from extract.formats.text import read_text
from tests.conftest import fake_bold_pdf, load_key

REPORT_TABLE = """<table>
<tr><td colspan="3" rowspan="2">\
（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）</td>
<td colspan="7">申请人情况</td></tr>
<tr><td rowspan="2">自然人</td><td colspan="5">法人或其他组织</td><td rowspan="2">总计</td></tr>
<tr><td colspan="3"></td><td>商业<br/>企业</td><td>科研机构</td><td>社会公益组织</td>\
<td>法律服务机构</td>
<td>其他</td></tr>
<tr><td colspan="3"><p>一、本年新收</p><p>政府信息公开申请数量</p></td><td>1</td><td>2</td>
<td>0</td><td>0</td><td>0</td><td>0</td><td>3</td></tr>
</table>"""


def page(charset: str) -> str:
    return (f'<html><head><meta http-equiv="Content-Type" content="text/html; charset={charset}">'
            f"<title>某某县人民政府2023年政府信息公开工作年度报告</title></head><body>{REPORT_TABLE}"
            "</body></html>")


def test_gbk_page_is_decoded_as_gb18030() -> None:
    content = read_html(page("gb2312").encode("gb18030"))
    assert "某某县人民政府" in content.text


def test_page_declared_utf8_but_gbk_falls_back_to_gb18030() -> None:
    data = page("utf-8").encode("gb18030")
    assert "申请人情况" in decode(data)


def test_html_spans_paragraphs_and_breaks(tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    path.write_bytes(page("gbk").encode("gbk"))
    report = extract_document(path)
    assert report.agency == "某某县人民政府" and report.year == 2023
    assert report.cells["requests/new/commercial"].value == 2
    assert report.cells["requests/new/total"].value == 3
    assert report.cells["requests/new/natural_person"].row_label.startswith("一、本年新收")


@pytest.mark.parametrize("head,name,fmt", [
    (b"%PDF-1.7\n", "a.bin", "pdf"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 8, "a.doc", "doc"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 8, "a.wps", "wps"),
    (b"<!DOCTYPE html><html>", "a.pdf", "html"),
])
def test_sniff_reads_bytes_not_names(tmp_path: Path, head: bytes, name: str, fmt: str) -> None:
    path = tmp_path / name
    path.write_bytes(head)
    assert sniff(path, head) == fmt


def test_sniff_names_an_ofd_archive(tmp_path: Path) -> None:
    path = tmp_path / "report.ofd"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("OFD.xml", "<ofd:OFD/>")
    with pytest.raises(ExtractionError, match="OFD"):
        sniff(path, path.read_bytes()[:8192])


@pytest.mark.slow
def test_wps_goes_through_libreoffice(tmp_path: Path, data_dir: Path) -> None:
    """Kingsoft WPS files are Word-97 compatible binaries; read through the DOC path."""
    wps = tmp_path / "report.wps"
    wps.write_bytes((data_dir / "weihai_2020.doc").read_bytes())
    report = extract_document(wps)
    assert report.error is None and report.format == "wps"
    assert report.extractor.startswith("libreoffice") and len(report.cells) == 198


def test_pdf_fake_bold_duplicated_characters_are_removed(tmp_path: Path, data_dir: Path) -> None:
    """Producers fake bold by printing every glyph twice, shifted a fraction of a point."""
    fake_bold_pdf(data_dir / "weihai_2020.pdf", tmp_path / "bold.pdf")
    report = extract_document(tmp_path / "bold.pdf")
    assert report.error is None and report.agency == "威海经济技术开发区"
    assert report.values() == load_key("weihai_2020")["cells"]


def _pipe_table(rows: list[list[str | None]]) -> str:
    """A grid as a Markdown pipe table the way converters write one: every row as wide as the
    grid, a merged cell's covered positions empty, bars escaped, line breaks as <br>."""
    width = max(len(r) for r in rows)

    def line(cells: list[str | None]) -> str:
        texts = [(c or "").replace("|", "\\|").replace("\n", "<br>") for c in cells]
        return "| " + " | ".join(texts + [""] * (width - len(texts))) + " |"

    return "\n".join([line(rows[0]), "|" + "---|" * width, *(line(r) for r in rows[1:])])


def test_markdown_pipe_tables_are_read(tmp_path: Path, data_dir: Path) -> None:
    """The weihai 2020 report transcribed to Markdown: its DOCX tables as pipe tables under the
    report's opening paragraphs reads every cell of the answer key."""
    content = read_docx(data_dir / "weihai_2020.docx")
    opening = "\n\n".join(content.text.split("\n")[:4])
    tables = "\n\n正文一段。\n\n".join(_pipe_table(t.rows) for t in content.tables)
    path = tmp_path / "weihai_2020.md"
    path.write_text(f"# {opening}\n\n{tables}\n\n五、存在的主要问题及改进情况\n", encoding="utf-8")
    report = extract_document(path)
    assert report.error is None and report.format == "text" and report.extractor == "text-tsv"
    assert report.agency == "威海经济技术开发区" and report.year == 2020
    assert report.values() == load_key("weihai_2020")["cells"]


def test_pipe_rows_cells_breaks_escapes_and_table_ends() -> None:
    text = ("报告\n| **信息内容** | 本年新<br>制作数量 | 备注 |\n|:---|---:|:---:|\n"
            "| 规章 | 0 | a \\| b |\n说明文字\n| 行政许可 | 4 |  |\n")
    content = read_text(text.encode())
    assert [t.rows for t in content.tables] == [
        [["信息内容", "本年新\n制作数量", "备注"], ["规章", "0", "a | b"]],
        [["行政许可", "4", ""]]]


def test_tab_cell_lines_still_read_beside_pipe_rows() -> None:
    text = "\t规章\n\t0\n\n| 行政许可 | 4 |\n\t规范性文件\n\t2\n"
    assert [t.rows for t in read_text(text.encode()).tables] == [
        [["规章", "0"]], [["行政许可", "4"]], [["规范性文件", "2"]]]
