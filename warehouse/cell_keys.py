"""Every cell key researchers meet in ``cells`` and the wide views, with the Chinese labels the
reports print, the templates that have it and its unit: generated from ``extract/schema.py`` for
the data dictionary (``nianbao datadict``)."""

from __future__ import annotations

from dataclasses import dataclass

from extract.schema import AMOUNT_COLUMNS, SCHEMA, SIGNED_COLUMNS, TABLES, TEMPLATES


@dataclass(frozen=True)
class CellKey:
    table: str
    row: str
    col: str
    row_labels: dict[str, str]  # template -> row label as the template prints it
    col_label: str  # the template's label, then variants reports print ("; ")
    templates: tuple[str, ...]
    unit: str
    optional: bool = False  # not prescribed by the template, printed by some reports

    @property
    def key(self) -> str:
        return f"{self.table}/{self.row}/{self.col}"


def _unit(col: str) -> str:
    if col in AMOUNT_COLUMNS:
        return "万元"
    return "count (may be negative)" if col in SIGNED_COLUMNS else "count"


def cell_keys() -> list[CellKey]:
    """Every key of both templates, in schema order (a key the templates share once)."""
    found: dict[str, dict] = {}
    for name in TABLES:
        table = SCHEMA[name]
        headings: dict[str, list[str]] = {}
        for column in table.columns:  # a key printed under two headings has two entries
            headings.setdefault(column.key, []).extend(column.labels)
        col_labels = {key: "; ".join(labels) for key, labels in headings.items()}
        for template in TEMPLATES:
            for row in table.rows_for(template):
                optional = tuple(c for c in table.optional_columns if c not in row.columns)
                for col in (*row.columns, *optional):
                    entry = found.setdefault(f"{name}/{row.key}/{col}", {
                        "table": name, "row": row.key, "col": col, "row_labels": {},
                        "col_label": col_labels[col], "templates": (), "unit": _unit(col),
                        "optional": col in optional})
                    entry["row_labels"][template] = row.label
                    entry["templates"] += (template,)
    return [CellKey(**entry) for entry in found.values()]


def wide_keys(table: str) -> list[tuple[str, str]]:
    """(row, col) pairs of a table over both templates, in schema order, without repeats: the
    ``row__col`` columns of its wide table."""
    return [(k.row, k.col) for k in cell_keys() if k.table == table]


def enums() -> dict[str, list[str]]:
    """The values the ``cells`` columns table, row and col take."""
    keys = cell_keys()
    return {field: list(dict.fromkeys(getattr(k, field) for k in keys))
            for field in ("table", "row", "col")}


def markdown_section() -> list[str]:
    """The data dictionary's table of cell keys."""
    lines = ["## Cell keys", "",
             "Every `table/row/col` of `cells` (and `row__col` of the wide views), generated from "
             "`extract/schema.py`: the labels the national templates print, the templates that "
             "have the cell, and its unit. Amounts are in 万元 (a report printing 元 is "
             "converted). A blank cell is null, never 0. Optional cells (小计) are printed by "
             "some reports only.", "",
             "| key | row label | column label | templates | unit |", "|---|---|---|---|---|"]
    for k in cell_keys():
        labels = set(k.row_labels.values())
        row_label = (next(iter(labels)) if len(labels) == 1 else
                     "; ".join(f"{label} ({t})" for t, label in k.row_labels.items()))
        templates = ", ".join(k.templates) + (" (optional)" if k.optional else "")
        lines.append(f"| {k.key} | {row_label} | {k.col_label} | {templates} | {k.unit} |")
    lines.append("")
    return lines
