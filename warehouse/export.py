"""Files for people who want files: a hive-partitioned Parquet snapshot of the canonical data, and
the data dictionary (``datapackage.json``, frictionless style) generated from ``schema.py``."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa

from extract.rules import rules_markdown
from warehouse.cell_keys import enums, markdown_section
from warehouse.schema import TABLES
from warehouse.views import connect
from warehouse.wide import WIDE_TABLES

_FRICTIONLESS_TYPES = {
    pa.string(): "string", pa.int64(): "integer", pa.float64(): "number", pa.bool_(): "boolean",
    pa.date32(): "date", pa.timestamp("us", tz="UTC"): "datetime",
}


def _field_type(dtype: pa.DataType) -> str:
    return "array" if pa.types.is_list(dtype) else _FRICTIONLESS_TYPES.get(dtype, "any")


def _constraints(table: str, column) -> dict:
    """Required, and for the cell key columns the values they take (``cell_keys.py``)."""
    found = {"required": not column.nullable}
    if table == "cells" and column.name in ("table", "row", "col"):
        found["enum"] = enums()[column.name]
    return found


def datapackage(paths: dict[str, str] | None = None) -> dict:
    """The data dictionary: every table and column, from the definitions the writer uses."""
    resources = []
    for table in TABLES.values():
        if paths is not None and table.name not in paths:  # (an export: the tables it wrote)
            continue
        path = (paths or {}).get(table.name, f"{table.name}/")
        resources.append({
            "name": table.name,
            "path": path,
            "format": "parquet",
            "description": table.description,
            "schema": {
                "fields": [{"name": c.name, "type": _field_type(c.type),
                            "description": c.description,
                            "constraints": _constraints(table.name, c)}
                           for c in (*table.columns, *table.view_columns)],
                "primaryKey": list(table.key),
            },
            **({"partitionedBy": list(table.partition_by)}
               if table.partition_by and path.endswith("/") else {}),
        })
    return {"name": "nianbao", "title": "nianbao: China's government information disclosure "
            "annual reports (政府信息公开工作年度报告) as data",
            "licenses": [{"name": "CC-BY-4.0"}], "resources": resources}


def _is_cell(table, column) -> bool:
    return bool(table.cell_table) and "__" in column.name


def rules_section() -> list[str]:
    """The values of ``quality.rule``: the rule registry (``extract/rules.py``)."""
    return ["## Quality rules", "",
            ("Every rule a finding of the `quality` table can name, from the rule registry "
             "`extract/rules.py`."), "", *rules_markdown(), ""]


def data_dictionary_markdown() -> str:
    """docs/data-dictionary.md, from the same definitions."""
    lines = ["# Data dictionary", "",
             "Generated from `warehouse/schema.py` (`nianbao datadict`); the same definitions "
             "write the tables and `datapackage.json`.", ""]
    for table in TABLES.values():
        lines += [f"## {table.name}", "", table.description, "",
                  f"Key: {', '.join(table.key)}."
                  + (f" Partitioned by {', '.join(table.partition_by)}."
                     if table.partition_by else ""),
                  "", "| column | type | description |", "|---|---|---|"]
        lines += [f"| {c.name} | {_field_type(c.type)}{'' if c.nullable else ', required'} | "
                  f"{c.description} |" for c in table.columns if not _is_cell(table, c)]
        if table.cell_table:
            count = sum(_is_cell(table, c) for c in table.columns)
            lines.append(f"| <row>__<col> | number | {count} columns, one per cell key "
                         f"`{table.cell_table}/<row>/<col>` (see Cell keys); null where the "
                         "report left the cell blank |")
        lines += [f"| {c.name} | {_field_type(c.type)}, view | {c.description} |"
                  for c in table.view_columns]
        lines.append("")
    return "\n".join(lines + markdown_section() + rules_section())


def export(data_dir: Path, out: Path) -> dict[str, int]:
    """Write the canonical reports, their cells (partitioned by year), the current quality
    findings, documents, runs, agencies and the wide tables as plain Parquet under ``out``;
    returns row counts."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    con = connect(data_dir)
    queries = {
        "reports": "SELECT * FROM reports WHERE canonical",
        "cells": "SELECT c.* FROM cells c JOIN reports r USING (report_id) WHERE r.canonical",
        "quality": "SELECT * FROM quality",
        "documents": "SELECT * FROM documents",
        "runs": "SELECT * FROM runs",
        "agencies": "SELECT * FROM agencies",
        **{name: f"SELECT * FROM {name} ORDER BY agency, year" for name in WIDE_TABLES},
    }
    counts = {}
    for name, sql in queries.items():
        target = out / name
        partition = TABLES[name].partition_by if name == "cells" else ()
        options = "FORMAT PARQUET, COMPRESSION ZSTD" + (
            f", PARTITION_BY ({', '.join(partition)}), OVERWRITE_OR_IGNORE" if partition else "")
        target_path = target if partition else target.with_suffix(".parquet")
        con.execute(f"COPY ({sql}) TO '{target_path}' ({options})")
        counts[name] = con.execute(f"SELECT count(*) FROM ({sql})").fetchone()[0]
    paths = {n: (f"{n}/" if n == "cells" else f"{n}.parquet") for n in queries}
    (out / "datapackage.json").write_text(json.dumps(datapackage(paths), ensure_ascii=False,
                                                     indent=2), encoding="utf-8")
    con.close()
    return counts
