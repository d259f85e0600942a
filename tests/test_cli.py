"""`nianbao extract` as docs/design.md promises it: JSON for machines, a summary for people."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

NIANBAO = [sys.executable, "-m", "flows.cli"]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*NIANBAO, *args], capture_output=True, text=True, timeout=300)


def test_json_lines_one_object_per_document(data_dir: Path) -> None:
    done = run("extract", "--json", str(data_dir / "huaian_city_2024.pdf"),
               str(data_dir / "shanghai_gov_office_2019.html"))
    assert done.returncode == 0, done.stderr
    objects = [json.loads(line) for line in done.stdout.splitlines()]
    assert [Path(o["file"]).name for o in objects] == ["huaian_city_2024.pdf",
                                                        "shanghai_gov_office_2019.html"]
    for field in ("file", "sha256", "format", "agency", "year", "template", "cells", "checks",
                  "error"):
        assert all(field in o for o in objects), field
    huaian = objects[0]
    assert huaian["template"] == {"disclosure": "2021", "requests": "2021"}
    assert huaian["cells"]["disclosure/penalty/decisions"] == 3985758
    assert objects[1]["cells"]["requests/new/research"] is None
    assert {c["status"] for c in huaian["checks"]} == {"PASS"}


def test_quality_failures_are_not_errors(data_dir: Path) -> None:
    done = run("extract", str(data_dir / "hongze_district_2023.pdf"))
    assert done.returncode == 0
    assert "洪泽区人民政府" in done.stdout and "2023" in done.stdout
    assert "R4 FAIL" in done.stdout and "R1 PASS" in done.stdout


def test_unreadable_file_exits_2_but_still_gets_its_object(data_dir: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    done = run("extract", "--json", str(empty), str(data_dir / "weihai_2020.docx"))
    assert done.returncode == 2
    first, second = (json.loads(line) for line in done.stdout.splitlines())
    assert first["error"].startswith("empty_file") and first["cells"] == {}
    assert second["error"] is None and len(second["cells"]) == 198
