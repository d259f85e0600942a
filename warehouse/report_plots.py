"""Figures of the researchers' report: one drawing function per query of docs/queries/, each
taking the query's columns and rows and drawing on a fresh matplotlib figure.

Rendered offline with the Agg backend. Labels are Chinese (provinces, agencies): the first
installed Noto Sans CJK face draws them (Debian's fonts-noto-cjk), so no glyph is missing.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before pyplot: no display, no GUI toolkit

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

FALLBACK_FONT = "DejaVu Sans"


def cjk_font() -> str | None:
    """The family name of an installed Noto Sans CJK face (SC preferred), or None."""
    names = {f.name for f in font_manager.fontManager.ttflist if "Noto Sans CJK" in f.name}
    for preferred in ("Noto Sans CJK SC", "Noto Sans CJK JP"):
        if preferred in names:
            return preferred
    return min(names) if names else None


def _style() -> dict:
    font = cjk_font()
    return {"font.family": [font, FALLBACK_FONT] if font else [FALLBACK_FONT],
            "axes.unicode_minus": False, "figure.dpi": 100, "savefig.bbox": "tight"}


def rows_as_dicts(columns: list[str], rows: list[tuple]) -> list[dict]:
    return [dict(zip(columns, row, strict=True)) for row in rows]


def _number(value) -> float:
    """A plotted quantity: a blank (null) cell draws as nothing, never as a zero bar."""
    return math.nan if value is None else float(value)


def draw_coverage(fig: Figure, rows: list[dict]) -> None:
    provinces = sorted({r["province"] for r in rows})
    years = sorted({r["year"] for r in rows})
    grid = [[math.nan] * len(years) for _ in provinces]
    ax = fig.subplots()
    for r in rows:
        i, j = provinces.index(r["province"]), years.index(r["year"])
        grid[i][j] = _number(r["coverage_pct"])
        dark = (r["coverage_pct"] or 0) > 60  # the colour map's dark end: white text reads
        ax.text(j, i, f"{r['found']}/{r['expected']}", ha="center", va="center", fontsize=8,
                color="white" if dark else "black")
    image = ax.imshow(grid, cmap="YlGn", vmin=0, vmax=100, aspect="auto")
    ax.set_xticks(range(len(years)), [str(y) for y in years])
    ax.set_yticks(range(len(provinces)), provinces)
    ax.set_xlabel("report year")
    fig.colorbar(image, ax=ax, label="coverage % (found / expected)")
    fig.set_size_inches(max(5.0, 1.1 * len(years) + 3), max(2.5, 0.4 * len(provinces) + 1.5))


def draw_requests_by_year(fig: Figure, rows: list[dict]) -> None:
    ax = fig.subplots()
    years = [str(r["year"]) for r in rows]
    width = 0.4
    for offset, column in ((-width / 2, "received"), (width / 2, "answered")):
        ax.bar([i + offset for i in range(len(rows))], [_number(r[column]) for r in rows],
               width, label=column)
    ax.set_xticks(range(len(rows)), years)
    ax.set_xlabel("report year")
    ax.set_ylabel("applications")
    ax.legend()
    fig.set_size_inches(max(5.0, 0.9 * len(rows) + 2), 3.5)


def draw_outcome_shares(fig: Figure, rows: list[dict]) -> None:
    years = sorted({r["year"] for r in rows})
    outcomes = sorted({r["outcome"] for r in rows if (r["share_pct"] or 0) > 0})
    share = {(r["year"], r["outcome"]): _number(r["share_pct"]) for r in rows}
    ax = fig.subplots()
    bottom = [0.0] * len(years)
    colors = plt.get_cmap("tab20")
    for k, outcome in enumerate(outcomes):
        heights = [share.get((y, outcome), math.nan) for y in years]
        heights = [0.0 if math.isnan(h) else h for h in heights]  # absent from a stack: no bar
        ax.bar([str(y) for y in years], heights, bottom=bottom, label=outcome, color=colors(k))
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    ax.set_ylabel("share of applications answered (%)")
    ax.set_xlabel("report year")
    ax.set_ylim(0, 100)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    fig.set_size_inches(max(6.0, 0.9 * len(years) + 4), 4.0)


def draw_appeals_outcomes(fig: Figure, rows: list[dict]) -> None:
    appeals = sorted({r["appeal"] for r in rows})
    years = sorted({r["year"] for r in rows})
    outcomes = ["upheld", "corrected", "other", "pending"]
    cases = {(r["year"], r["appeal"], r["outcome"]): _number(r["cases"]) for r in rows}
    axes = fig.subplots(1, len(appeals), sharey=True, squeeze=False)[0]
    for ax, appeal in zip(axes, appeals, strict=True):
        bottom = [0.0] * len(years)
        for outcome in outcomes:
            heights = [cases.get((y, appeal, outcome), math.nan) for y in years]
            heights = [0.0 if math.isnan(h) else h for h in heights]
            ax.bar([str(y) for y in years], heights, bottom=bottom, label=outcome)
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
        ax.set_title(appeal, fontsize=9)
        ax.set_xlabel("report year")
    axes[0].set_ylabel("cases")
    axes[-1].legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    fig.set_size_inches(max(7.0, 3.0 * len(appeals) + 1.5), 3.5)


def draw_arithmetic_failure_rates(fig: Figure, rows: list[dict]) -> None:
    by_year = [r for r in rows if r["grouped_by"] == "year"]
    by_format = [r for r in rows if r["grouped_by"] == "format"]
    axes = fig.subplots(1, 2, sharey=True)
    for ax, group, key, label in ((axes[0], by_year, "year", "report year"),
                                  (axes[1], by_format, "format", "format")):
        names = [str(r[key]) for r in group]
        bars = ax.bar(names, [_number(r["failing_pct"]) for r in group], color="#c0504d")
        ax.bar_label(bars, [f"{r['failing']}/{r['reports']}" for r in group], fontsize=8)
        ax.set_xlabel(label)
    axes[0].set_ylabel("reports breaking their own arithmetic (%)")
    axes[0].set_ylim(0, 110)
    fig.set_size_inches(8.0, 3.5)


def render_png(draw, columns: list[str], rows: list[tuple], path: Path | None = None) -> bytes:
    """The figure ``draw`` makes of the rows, as PNG bytes (also written to ``path``)."""
    with plt.rc_context(_style()):
        fig = plt.figure()
        try:
            draw(fig, rows_as_dicts(columns, rows))
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png")
        finally:
            plt.close(fig)
    data = buffer.getvalue()
    if path is not None:
        path.write_bytes(data)
    return data
