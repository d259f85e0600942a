"""A damaged Parquet file: the query that reads its table names the table and the file; the
other tables still answer."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from extract import extract_document
from warehouse.load import load_reports
from warehouse.query import run_query
from warehouse.store import Warehouse
from warehouse.views import DamagedTable

DATA = Path(__file__).parents[1] / "data"
REPO = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    data_dir = tmp_path_factory.mktemp("pristine")
    load_reports(Warehouse(data_dir), [extract_document(DATA / "weihai_2020.docx"),
                                       extract_document(DATA / "shanghai_gov_office_2019.html")])
    return data_dir


@pytest.fixture
def copy(pristine: Path, tmp_path: Path) -> Path:
    shutil.copytree(pristine, tmp_path / "data")
    return tmp_path / "data"


def cells_file(data_dir: Path, year: int) -> Path:
    return next((data_dir / "warehouse" / "cells" / f"year={year}").glob("*.parquet"))


def nianbao(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flows.cli", *args], capture_output=True,
                          text=True, timeout=120, cwd=REPO)


def test_truncated_file_names_its_table_and_file_while_other_tables_answer(copy: Path) -> None:
    damaged = cells_file(copy, 2020)
    damaged.write_bytes(damaged.read_bytes()[:2000])  # a write cut short: no footer
    done = nianbao("query", "--data-dir", str(copy), "SELECT count(*) FROM cells")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"damaged_table: table cells is damaged: file {damaged} ")
    # the other tables answer, through the CLI and from Python
    answer = nianbao("query", "--data-dir", str(copy), "--format", "csv",
                     "SELECT count(*) AS n FROM reports")
    assert answer.returncode == 0 and answer.stdout.splitlines() == ["n", "2"]
    assert run_query(copy, "SELECT count(*) FROM runs").rows == [(1,)]
    assert run_query(copy, "SELECT count(*) FROM quality_history").rows[0][0] > 0
    # the view over the damaged table names it too, never answers from what is left
    with pytest.raises(DamagedTable) as caught:
        run_query(copy, "SELECT * FROM cells")
    assert caught.value.table == "cells" and caught.value.file == str(damaged)
    # the wide tables are their own (materialized at load): they still answer
    assert run_query(copy, "SELECT count(*) FROM requests_wide").rows == [(2,)]


def test_damaged_page_behind_a_good_footer_is_named_when_read(copy: Path) -> None:
    damaged = cells_file(copy, 2020)
    content = bytearray(damaged.read_bytes())
    content[1100:1200] = b"\xff" * 100  # inside the column chunks; the footer is intact
    damaged.write_bytes(bytes(content))
    with pytest.raises(DamagedTable) as caught:
        run_query(copy, "SELECT sum(value) FROM cells")
    assert caught.value.table == "cells" and caught.value.file == str(damaged)
    assert caught.value.kind == "damaged_table"
    # the other year's file and the other tables still read
    assert run_query(copy, "SELECT count(*) FROM reports WHERE canonical").rows == [(2,)]


def test_export_of_a_damaged_warehouse_names_the_table(copy: Path, tmp_path: Path) -> None:
    damaged = cells_file(copy, 2019)
    damaged.write_bytes(b"not parquet at all")
    done = nianbao("export", str(tmp_path / "out"), "--data-dir", str(copy))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"damaged_table: table cells is damaged: file {damaged} ")
