"""`nianbao rebuild`: every document of the raw store re-extracted into the warehouse, no crawl."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from extract import interpret
from extract.formats import docx, html
from extract.version import extractor_version
from flows.pipeline import candidates, rebuild
from tests.conftest import store_two_reports
from warehouse.views import connect


@pytest.fixture
def stored(tmp_path: Path) -> Path:
    """A raw store holding two real reports, as a crawl would have left it."""
    store_two_reports(tmp_path)
    return tmp_path


def test_rebuild_loads_every_stored_document(stored: Path) -> None:
    result = rebuild(stored, workers=2)
    assert result.reports_loaded == 2 and result.cells_loaded == 198 * 2
    con = connect(stored)
    assert con.execute("SELECT count(*) FROM reports WHERE canonical").fetchone()[0] == 2
    assert con.execute("SELECT count(*) FROM documents").fetchone()[0] == 2
    assert candidates(stored, only_new=True) == []  # nothing left for the nightly run


def test_rebuild_again_adds_nothing_and_a_new_extractor_version_adds_versions(
        stored: Path, monkeypatch) -> None:
    rebuild(stored, workers=1)
    again = rebuild(stored, workers=1)
    assert again.reports_loaded == 0 and again.reports_unchanged == 2
    # a new DOCX reader: its reports are new versions
    monkeypatch.setattr(docx, "VERSION", str(int(docx.VERSION) + 1))
    bumped = rebuild(stored, workers=1)
    assert bumped.reports_loaded == 1 and bumped.reports_unchanged == 1
    con = connect(stored)
    versions = con.execute("SELECT extractor_version, canonical FROM reports "
                           "WHERE extractor = 'docx-lxml' ORDER BY extractor_version").fetchall()
    assert len(versions) == 2 and [c for _, c in versions].count(True) == 1
    html_readings = con.execute("SELECT extractor_version FROM reports "
                                "WHERE extractor = 'html-lxml'").fetchall()
    assert html_readings == [(extractor_version(html.VERSION),)]  # the HTML report untouched


def test_a_change_to_the_interpreter_re_extracts_every_document(stored: Path,
                                                               monkeypatch) -> None:
    """The interpreter reads every format: bumping its VERSION gives every document a new
    reading on the next rebuild (a new report version, now canonical), and only once."""
    first = rebuild(stored, workers=1)
    assert first.reports_loaded == 2
    monkeypatch.setattr(interpret, "VERSION", str(int(interpret.VERSION) + 1))
    bumped = rebuild(stored, workers=1)
    assert bumped.reports_loaded == 2 and bumped.reports_unchanged == 0
    assert bumped.cells_loaded == 198 * 2
    again = rebuild(stored, workers=1)
    assert again.reports_loaded == 0 and again.reports_unchanged == 2
    con = connect(stored)
    assert con.execute("SELECT count(*) FROM reports").fetchone()[0] == 4
    canonical = con.execute("SELECT extractor, extractor_version FROM reports WHERE canonical "
                            "ORDER BY extractor").fetchall()
    assert canonical == [("docx-lxml", extractor_version(docx.VERSION)),
                         ("html-lxml", extractor_version(html.VERSION))]
    older = con.execute("SELECT extractor, extractor_version FROM reports WHERE NOT canonical "
                        "ORDER BY extractor").fetchall()  # each document's first reading
    assert [e for e, _ in older] == ["docx-lxml", "html-lxml"]
    assert all(old != new for (_, old), (_, new) in zip(older, canonical, strict=True))


def test_rebuild_command(stored: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "flows.cli", "rebuild", "--data-dir", str(stored)],
                          check=False, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "2 reports loaded" in done.stdout
