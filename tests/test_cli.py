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


def test_query_format_is_a_choice_of_the_enum() -> None:
    import os

    done = subprocess.run([*NIANBAO, "query", "--format", "xml", "SELECT 1"], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "COLUMNS": "200"},
                          check=False)
    assert done.returncode == 2
    assert "'xml' is not one of 'table', 'csv', 'json'" in done.stderr, done.stderr


def test_prefect_env_is_set_for_a_command_and_keeps_what_is_set(tmp_path: Path) -> None:
    import os

    env = {k: v for k, v in os.environ.items()
           if k not in ("DO_NOT_TRACK", "PREFECT_SERVER_ANALYTICS_ENABLED",
                        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS")}
    env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "kept"
    show = ("import os; print(os.environ['DO_NOT_TRACK'], "
            "os.environ['PREFECT_SERVER_ANALYTICS_ENABLED'], "
            "os.environ['PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS'])")
    done = subprocess.run([sys.executable, "-m", "flows.prefect_env", sys.executable, "-c", show],
                          capture_output=True, text=True, timeout=60, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "kept", "120"]


def test_crawl_reports_table_reads_the_reports_attributes() -> None:
    from rich.console import Console

    from crawlers.report import CrawlReport
    from flows.cli_crawl import print_crawl_reports

    ok = CrawlReport("p-ok", "某县", pages_fetched=4, reports_found=2, documents_new=3,
                     errors={"timeout": ["u1", "u2"]})
    ok.finish("finished", previous_best=0)
    failed = CrawlReport.failed("p-gone", "某市", "crawler of shard 0 exited -9: killed")
    out = Console(record=True, width=200)
    print_crawl_reports([ok, failed], out)
    text = out.export_text()
    assert "p-ok" in text and "partial" in text and "timeout 2" in text
    assert "p-gone: crawler of shard 0 exited -9: killed" in text
