"""Raw table grids -> canonical cells, by the template's labels (never by position on the page).

All tables of a document are read as one stream of rows, so a table split across pages (or a
PDF table whose continuation has no header) is stitched by construction. Each row's last printed
label decides which template row it is; its values are the cells after that label, mapped in
order to the row's columns. The template of each table is decided from the labels found.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from extract.labels import best_match, exact_entry, normalise_label
from extract.model import Anomaly, Cell, RawTable
from extract.schema import (
    AMOUNT_COLUMNS,
    APPEALS,
    DISCLOSURE,
    ORGANISATION_COLUMNS,
    REQUEST_COLUMNS,
    REQUESTS,
    SCHEMA,
    TEMPLATED_TABLES,
    TEMPLATES,
    Table,
)
from extract.values import is_value_token, parse_value

# Bump when a change to the interpreter can change a reading (see extract/version.py).
VERSION = "2"

_APPEAL_WIDTH = len(APPEALS.rows) * len(APPEALS.columns)
# Headings that only one template prints, normalised: evidence for a table's template.
_TEMPLATE_HEADINGS = {table.name: {t: {normalise_label(h) for h in table.only_in(t)}
                                   for t in TEMPLATES} for table in SCHEMA.values()}
# Rows that only one template has: row key -> that template.
_ROW_TEMPLATE = {table.name: {r.key: r.templates[0] for r in table.rows if len(r.templates) == 1}
                 for table in SCHEMA.values()}
# Rows both templates have, printed with a different number of columns: row key -> width ->
# the template printing that many values.
_ROW_WIDTHS = {table.name: {key: widths for key in {r.key for r in table.rows}
                            if len(widths := {len(r.columns): r.templates[0] for r in table.rows
                                              if r.key == key and len(r.templates) == 1}) > 1}
               for table in SCHEMA.values()}
# A word this short after a row's label is a value cell's text, not the row's label.
_MAX_WORD_IN_VALUE_CELL = 4


@dataclass
class _Line:
    """One table row with a recognised label and the value cells printed after it."""

    table: str
    row: str
    printed: str
    matched: str
    values: list[str]
    page: int | None
    table_index: int


@dataclass
class Reading:
    cells: dict[str, Cell] = field(default_factory=dict)
    templates: dict[str, str] = field(default_factory=dict)
    extra_columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Rows it could not place as printed: structural doubt, which the PDF cascade acts on.
    anomalies: list[Anomaly] = field(default_factory=list)


@dataclass
class _Evidence:
    lines: list[_Line] = field(default_factory=list)
    template_votes: dict[str, Counter] = field(default_factory=lambda: {
        name: Counter() for name in TEMPLATED_TABLES})
    request_header: list[tuple[int, str]] = field(default_factory=list)
    anomalies: list[Anomaly] = field(default_factory=list)


def _is_label(text: str | None) -> bool:
    return text is not None and bool(text.strip()) and not is_value_token(text)


def _is_header(texts: list[str], values: list[str]) -> bool:
    """A row of column headings, or of table markers, with blank cells at its end (not a row of
    blank values): a grid without spans (a Markdown table) prints a merged heading's covered
    positions as blank cells."""
    if any(v.strip() for v in values):
        return False
    return _marker_table(texts) is not None or any(
        exact_entry(t, table.columns) for table in SCHEMA.values() for t in texts if _is_label(t))


def _marker_table(texts: list[str]) -> str | None:
    for table in SCHEMA.values():
        markers = {normalise_label(m) for m in table.markers}
        if any(normalise_label(t) in markers for t in texts):
            return table.name
    return None


def _match_row(label: str, context: str | None) -> tuple[Table, str, str] | None:
    """The (table, row key, schema label) a printed row label names, preferring the context."""
    exact = [(table, match) for table in SCHEMA.values()
             if (match := exact_entry(label, table.rows)) is not None]
    if exact:  # an exact label outranks every fuzzy one; the context breaks a tie
        table, match = max(exact, key=lambda found: found[0].name == context)
        return table, match.key, match.label
    best = None
    for table in SCHEMA.values():
        match = best_match(label, table.rows)
        if match is None:
            continue
        rank = (match.score, table.name == context)
        if best is None or rank > best[0]:
            best = (rank, table, match)
    if best is None:
        return None
    return best[1], best[2].key, best[2].label


def _vote_disclosure_row(label: str, values: list[str], votes: Counter) -> None:
    """Evidence for the disclosure template from a row: a heading only one template prints, and
    a row both print with different widths filled to exactly one template's width."""
    for template in TEMPLATES:
        match = best_match(label, DISCLOSURE.rows_for(template))
        if match and match.score == 1.0 and normalise_label(label) in _TEMPLATE_HEADINGS[
                "disclosure"][template]:
            votes[template] += 1
    filled = [v for v in values if v.strip()]
    key = best_match(label, DISCLOSURE.rows)
    widths = _ROW_WIDTHS["disclosure"].get(key.key, {}) if key else {}
    if len(filled) in widths:
        votes[widths[len(filled)]] += 1


def _row_score(label: str) -> float:
    """How well a printed label matches its best template row (0 when it matches none)."""
    found = [best_match(label, table.rows) for table in SCHEMA.values()]
    return max((m.score for m in found if m is not None), default=0.0)


def _join_split(a: RawTable, a_texts: list[str], b: RawTable, b_texts: list[str]
                ) -> list[str] | None:
    """The last row of table ``a`` and the first of table ``b`` (on a later page) as one row, when
    a page break cut one row in two: their labels together match a template row better than
    either part does. The parts' values are aligned from the right and joined."""
    if a.page is None or b.page is None or b.page <= a.page:
        return None
    a_labels = [n for n, t in enumerate(a_texts) if _is_label(t)]
    b_labels = [n for n, t in enumerate(b_texts) if _is_label(t)]
    if not a_labels:
        return None
    a_label, a_values = a_texts[a_labels[-1]], a_texts[a_labels[-1] + 1:]
    b_label = b_texts[b_labels[-1]] if b_labels else ""
    b_values = b_texts[b_labels[-1] + 1:] if b_labels else b_texts
    if not a_values or not b_values or (b_labels and _is_header(b_texts, b_values)):
        return None
    if any(exact_entry(part, table.rows) for part in (a_label, b_label) if part
           for table in SCHEMA.values()):
        return None  # a whole row on either side (the cheap test first: fuzzy scores are not)
    label = a_label.rstrip() + b_label.strip()
    joined = _row_score(label)
    if not joined or joined <= max(_row_score(a_label), _row_score(b_label) if b_label else 0.0):
        return None
    width = max(len(a_values), len(b_values))
    a_values = [""] * (width - len(a_values)) + a_values
    b_values = [""] * (width - len(b_values)) + b_values
    values = ["\n".join(p for p in (x, y) if p.strip()) or x for x, y in zip(a_values, b_values)]
    return [*a_texts[:a_labels[-1]], label, *values]


def _stream(tables: list[RawTable]) -> Iterator[tuple[RawTable, list[tuple[int, str]]]]:
    """Every printed row as (its table, [(grid position, text)]), a row cut in two by a page
    break given once (see ``_join_split``)."""
    held: tuple[RawTable, list[tuple[int, str]]] | None = None  # a table's last row
    for raw in tables:
        for n, grid_row in enumerate(raw.rows):
            indexed = [(i, c) for i, c in enumerate(grid_row) if c is not None]
            if held is not None:
                joined = _join_split(held[0], [t for _, t in held[1]], raw,
                                     [t for _, t in indexed]) if n == 0 else None
                if joined is not None:
                    yield held[0], list(enumerate(joined))
                    held = None
                    continue
                yield held
                held = None
            if n == len(raw.rows) - 1:
                held = (raw, indexed)
            else:
                yield raw, indexed
    if held is not None:
        yield held


def _label_before_words(texts: list[str], label_positions: list[int], context: str | None
                        ) -> tuple[int, tuple[Table, str, str] | None]:
    """When a row's last label matches no template row but only short words ("不详", "暂无")
    follow a label that does, those words are cells printed where numbers belong: the earlier
    label is the row's (when a number follows it too). Returns (its position, its match), or the
    last label's with None."""
    for n, position in reversed(list(enumerate(label_positions[:-1]))):
        if len("".join(texts[label_positions[n + 1]].split())) > _MAX_WORD_IN_VALUE_CELL:
            break
        if not any(t.strip() and is_value_token(t) for t in texts[position + 1:]):
            continue
        match = _match_row(texts[position], context)
        if match is not None:
            return position, match
    return label_positions[-1], None


def _collect(tables: list[RawTable]) -> _Evidence:
    evidence = _Evidence()
    context: str | None = None
    for raw, indexed in _stream(tables):
        texts = [c for _, c in indexed]
        if not any(t.strip() for t in texts):
            continue
        label_positions = [n for n, t in enumerate(texts) if _is_label(t)]
        if not label_positions:
            if context == "appeals" and len(texts) >= _APPEAL_WIDTH:
                evidence.lines.append(_Line("appeals", "*", "", "", texts, raw.page, raw.index))
            continue
        last = label_positions[-1]
        values = texts[last + 1:]
        if not values and not _is_header(texts, values):  # a row ending in "不详"?
            last = _label_before_words(texts, label_positions, context)[0]
            values = texts[last + 1:]
        if not values or _is_header(texts, values):
            # a header row: column labels, table markers, template evidence
            context = _marker_table(texts) or context
            _read_header(indexed, context, evidence)
            continue
        match = _match_row(texts[last], context)
        if match is None:
            last, match = _label_before_words(texts, label_positions, context)
            values = texts[last + 1:]
        if match is None:
            if any(v.strip() for v in values):
                evidence.anomalies.append(
                    Anomaly("layout", f"unmatched row label {texts[last]!r} with values"))
            continue
        table, row_key, schema_label = match
        context = table.name
        if table is DISCLOSURE:
            _vote_disclosure_row(texts[last], values, evidence.template_votes["disclosure"])
        if table is REQUESTS and row_key in _ROW_TEMPLATE["requests"]:
            evidence.template_votes["requests"][_ROW_TEMPLATE["requests"][row_key]] += 1
        evidence.lines.append(_Line(table.name, row_key, texts[last].strip(), schema_label,
                                    values, raw.page, raw.index))
    return evidence


def _read_header(indexed: list[tuple[int, str]], context: str | None, ev: _Evidence) -> None:
    for position, text in indexed:
        norm = normalise_label(text)
        for template, headings in _TEMPLATE_HEADINGS["disclosure"].items():
            if context == "disclosure" and norm in headings:
                ev.template_votes["disclosure"][template] += 1
        if context == "requests":
            match = exact_entry(text, REQUESTS.columns)
            if match:
                ev.request_header.append((position, match.key))


def _decide(votes: Counter) -> str | None:
    ranked = votes.most_common()
    if not ranked or (len(ranked) > 1 and ranked[0][1] == ranked[1][1]):
        return None
    return ranked[0][0]


def _request_columns(header: list[tuple[int, str]]) -> tuple[str, ...]:
    """The template's column order, with the optional subtotal (小计) column where the header
    prints one: after the organisation columns unless the header puts it before the first."""
    positions = dict((key, position) for position, key in reversed(header))
    printed = [c for c in REQUESTS.optional_columns if c in positions]
    if not printed:
        return REQUEST_COLUMNS
    (subtotal,) = printed
    orgs = ORGANISATION_COLUMNS
    start = REQUEST_COLUMNS.index(orgs[0])
    end = start + len(orgs)
    before = positions[subtotal] < positions.get(orgs[0], positions[subtotal] + 1)
    orgs = (subtotal, *orgs) if before else (*orgs, subtotal)
    return (*REQUEST_COLUMNS[:start], *orgs, *REQUEST_COLUMNS[end:])


def _fit(values: list[str], width: int, where: str, anomalies: list[Anomaly]
         ) -> list[str | None]:
    """The row's values for ``width`` columns: surplus leading blanks (label-area cells) dropped,
    and, while printed values would be cut off at the front, surplus trailing blanks (a merged
    last cell that a grid without spans, a Markdown table, prints as blank positions)."""
    end = len(values)
    while end > width and not values[end - 1].strip() and any(
            v.strip() for v in values[: end - width]):
        end -= 1
    values = values[:end]
    if len(values) > width:
        surplus = values[: len(values) - width]
        if any(v.strip() for v in surplus):
            anomalies.append(Anomaly("layout", f"{where}: {len(values)} values for {width} "
                                               f"columns; kept the last {width}"))
        return list(values[-width:])
    if len(values) < width:
        anomalies.append(Anomaly("layout", f"{where}: {len(values)} values for {width} columns"))
    return list(values) + [None] * (width - len(values))


def interpret(tables: list[RawTable]) -> Reading:
    """Read the report's canonical cells from its raw tables."""
    evidence = _collect(tables)
    reading = Reading(anomalies=list(evidence.anomalies))
    for name in ("disclosure", "requests"):
        template = _decide(evidence.template_votes[name])
        if template:
            reading.templates[name] = template
    request_columns = _request_columns(evidence.request_header)
    printed_optional = tuple(c for c in REQUESTS.optional_columns if c in request_columns)
    if printed_optional:
        reading.extra_columns["requests"] = printed_optional

    for line in evidence.lines:
        if line.table == "appeals" and line.row == "*":
            _store_wide_appeals(line, reading)
            continue
        columns = _columns_for(line, reading.templates, request_columns)
        if columns is None:
            continue
        where = f"{line.table}/{line.row}"
        for col, raw in zip(columns, _fit(line.values, len(columns), where, reading.anomalies)):
            if raw is None:
                continue
            _store(reading, Cell(f"{line.table}/{line.row}/{col}",
                                 parse_value(raw, amount=col in AMOUNT_COLUMNS), raw,
                                 line.page, line.table_index, line.printed, line.matched))
    return reading


def _columns_for(line: _Line, templates: dict[str, str], request_columns: tuple[str, ...]
                 ) -> tuple[str, ...] | None:
    if line.table == "requests":
        template = templates.get("requests")
        if template and _ROW_TEMPLATE["requests"].get(line.row, template) != template:
            return None  # a row of the other template
        return request_columns
    if line.table == "appeals":
        return tuple(c.key for c in APPEALS.columns)
    template = templates.get("disclosure")
    rows = DISCLOSURE.rows_for(template) if template else ()
    row = next((r for r in rows if r.key == line.row), None)
    return row.columns if row else None


def _store_wide_appeals(line: _Line, reading: Reading) -> None:
    values = _fit(line.values, _APPEAL_WIDTH, "appeals", reading.anomalies)
    columns = [c.key for c in APPEALS.columns]
    for n, row in enumerate(APPEALS.rows):
        for m, col in enumerate(columns):
            raw = values[n * len(columns) + m]
            if raw is not None:
                _store(reading, Cell(f"appeals/{row.key}/{col}", parse_value(raw), raw,
                                     line.page, line.table_index, row.label, row.label))


def _store(reading: Reading, cell: Cell) -> None:
    if cell.key in reading.cells:  # the first reading wins; a repeat is worth knowing about
        if reading.cells[cell.key].value != cell.value:
            reading.anomalies.append(Anomaly(
                "layout", f"{cell.key} printed twice: kept {reading.cells[cell.key].raw!r}, "
                          f"ignored {cell.raw!r}"))
        return
    reading.cells[cell.key] = cell
