"""The report's HTML page: one section per query (title, what it shows, the figure or a "no
data" note, the exact SQL and the rows it returned). Self-contained: inline CSS, images as
files next to index.html, no script and nothing fetched from the network."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the sections are made by warehouse.report, which imports this module
    from warehouse.report import Section

_CSS = """
body { font-family: "Noto Sans CJK SC", "Noto Sans CJK JP", sans-serif; margin: 2em auto;
       max-width: 1100px; padding: 0 1em; color: #222; }
section { margin-bottom: 3em; }
img { max-width: 100%; height: auto; border: 1px solid #ddd; }
pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
table { border-collapse: collapse; font-size: 0.85em; }
td, th { border: 1px solid #ccc; padding: 0.2em 0.6em; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
td.blank { color: #999; }
.note { background: #fff6d5; padding: 0.6em; border-left: 4px solid #e0b000; }
"""


def format_value(value) -> str:
    """A value as printed: whole numbers without a decimal point; a blank (null) as "—"."""
    if value is None:
        return "—"
    if isinstance(value, float):
        if math.isnan(value):
            return "—"
        return str(int(value)) if value.is_integer() else f"{value:g}"
    return str(value)


def _cell(column: str, value) -> str:
    kind = "blank" if value is None else "number" if isinstance(value, (int, float)) else "text"
    return (f'<td class="{kind}" data-column="{escape(column)}">'
            f"{escape(format_value(value))}</td>")


def _rows_table(section: Section) -> str:
    result = section.result
    if result is None or not result.rows:
        return ""
    head = "".join(f"<th>{escape(c)}</th>" for c in result.columns)
    body = "\n".join("<tr>" + "".join(_cell(c, v) for c, v in zip(result.columns, row,
                                                                    strict=True)) + "</tr>"
                     for row in result.rows)
    return (f'<details><summary>the rows ({len(result.rows)})</summary>'
            f'<table id="rows-{section.plot.name}"><thead><tr>{head}</tr></thead>'
            f"<tbody>\n{body}\n</tbody></table></details>")


def _section(section: Section) -> str:
    plot = section.plot
    if section.image:
        figure = (f'<img src="{escape(section.image)}" alt="{escape(plot.title)}" '
                  f'id="img-{plot.name}">')
    else:
        figure = f'<p class="note" id="note-{plot.name}">{escape(section.note or "no data")}</p>'
    return f"""<section id="{plot.name}">
<h2>{escape(plot.title)}</h2>
<p>{escape(plot.explanation)}</p>
{figure}
<p>The SQL that made it (<code>docs/queries/{plot.name}.sql</code>, run read-only through
DuckDB on the warehouse):</p>
<pre class="sql">{escape(section.sql.strip())}</pre>
{_rows_table(section)}
</section>"""


def write_page(out: Path, sections: list[Section], data_dir: Path) -> Path:
    """``out/index.html`` for ``sections``; returns its path."""
    made = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    contents = "\n".join(f'<li><a href="#{s.plot.name}">{escape(s.plot.title)}</a></li>'
                         for s in sections)
    page = f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>nianbao: 政府信息公开工作年度报告 — report</title>
<style>{_CSS}</style></head>
<body>
<h1>政府信息公开工作年度报告: what the warehouse holds</h1>
<p>Made {made} from the warehouse at <code>{escape(str(data_dir))}</code>. Every figure counts
the canonical report of each agency-year unless it says otherwise; a blank cell is null and
never counted as zero.</p>
<ul>{contents}</ul>
{"".join(_section(s) for s in sections)}
</body></html>
"""
    path = out / "index.html"
    path.write_text(page, encoding="utf-8")
    return path
