"""Shared fixtures: the real reports in tests/data and their hand-checked answer keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from extract import extract_document
from extract.model import Report
from flows.prefect_env import apply_prefect_env

# Before any test module imports Prefect (flows/prefect_env.py says why).
apply_prefect_env()

DATA = Path(__file__).parent / "data"


def load_key(name: str) -> dict:
    return json.loads((DATA / "keys" / f"{name}.json").read_text(encoding="utf-8"))


def corpus_cases() -> list[tuple[Path, dict]]:
    """(document, answer key) for every document a key applies to."""
    cases = []
    for key_file in sorted((DATA / "keys").glob("*.json")):
        key = json.loads(key_file.read_text(encoding="utf-8"))
        documents = [{"file": key["file"], "sha256": key["sha256"]},
                     *key.get("also_applies_to", [])]
        for document in documents:
            cases.append((DATA / document["file"], {**key, "sha256": document["sha256"]}))
    return cases


@pytest.fixture
def data_dir() -> Path:
    return DATA


def fake_bold_pdf(source: Path, target: Path) -> Path:
    """``source`` with every glyph printed twice, 0.3 pt apart: how producers fake bold."""
    import pikepdf

    with pikepdf.open(source) as pdf:
        for page in pdf.pages:
            page.contents_coalesce()
            stream = page.Contents.read_bytes()
            page.Contents.write(stream + b"\nq 1 0 0 1 0.3 0 cm\n" + stream + b"\nQ\n")
        pdf.save(target)
    return target


def store_two_reports(data_dir: Path) -> Path:
    """A raw store holding the weihai DOCX and the Shanghai page, as a crawl would leave it."""
    from crawlers.rawstore import ManifestRow, RawStore

    store = RawStore(data_dir)
    for name, kind in (("weihai_2020.docx", "attachment"),
                       ("shanghai_gov_office_2019.html", "page")):
        sha, _ = store.put((DATA / name).read_bytes())
        store.record(ManifestRow(
            portal_id="p", url=f"http://x.gov.cn/{sha[:8]}", final_url=f"http://x.gov.cn/{sha[:8]}",
            page_url=None, title=name, publish_date="2021-01-20", publisher=None,
            index_number=None, content_type=None, size=0, sha256=sha,
            fetched_at="2021-01-21T00:00:00+00:00", http_status=200, kind=kind,
            attachment_name=name if kind == "attachment" else None))
    return data_dir


@pytest.fixture
def hongze_correction(tmp_path: Path) -> Path:
    """A corrections registry with one entry: 洪泽区 2023's reconsideration total, printed 0,
    is 11."""
    registry = tmp_path / "corrections.yaml"
    registry.write_text("""\
- agency: 洪泽区人民政府
  year: 2023
  cell: appeals/reconsideration/total
  value: 11
  who: data team
  why: printed 0; upheld 10 + corrected 1 = 11 and the narrative says 11
  source: the report's own narrative
""", encoding="utf-8")
    return registry


@pytest.fixture(scope="module")
def corpus_reports() -> dict[str, Report]:
    """Five corpus documents, read once per test module: one report as DOCX and as PDF (weihai),
    a 2019-template HTML page and two PDFs of 淮安 bodies (2023, 2024)."""
    names = ["weihai_2020.docx", "weihai_2020.pdf", "shanghai_gov_office_2019.html",
             "hongze_district_2023.pdf", "huaian_city_2024.pdf"]
    return {name: extract_document(DATA / name) for name in names}
