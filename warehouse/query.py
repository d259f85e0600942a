"""``nianbao query``: read-only SQL over the warehouse views.

Three fences, each enough on its own for what it guards: every statement must be a read (DuckDB's
own parser gives its type; ``COPY``, ``ATTACH``, ``CREATE``, ``SET``, ``INSTALL``/``LOAD``,
``CALL`` … are refused before anything runs); DuckDB may touch no file outside the warehouse
(``allowed_directories`` + ``enable_external_access = false``); and the configuration is then
locked, so a query cannot turn either back on. ``nianbao export`` is how data leaves as files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from warehouse.store import Warehouse
from warehouse.views import VIEW_TABLES, DamagedTable, connect, damaged_file

_READS = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN,
          duckdb.StatementType.PRAGMA}
# PRAGMAs that only describe (the others set options or write profiles and files)
HARMLESS_PRAGMAS = {"table_info", "show", "show_tables", "show_tables_expanded",
                    "show_databases", "database_list", "version", "platform", "functions",
                    "collations", "user_agent", "database_size", "storage_info"}
# errors in the SQL itself: no need to look for a damaged file behind them
_MISTAKES = (duckdb.ParserException, duckdb.BinderException, duckdb.CatalogException,
             duckdb.ConversionException)
_LEADING_COMMENTS = re.compile(r"(\s+|--[^\n]*(\n|$)|/\*.*?\*/)*", re.DOTALL)
_PRAGMA_NAME = re.compile(r"PRAGMA\s+(\w+)", re.IGNORECASE)
_VIEW_NAME = re.compile(r"\b(" + "|".join(sorted(VIEW_TABLES, key=len, reverse=True))
                        + r")\b")
_EXPLAIN = re.compile(r"EXPLAIN\s*(\([^)]*\))?\s*(ANALY[SZ]E\b)?", re.IGNORECASE)


class QueryRefused(ValueError):
    """The SQL would write, configure, attach, install or read outside the warehouse."""

    kind = "query_refused"


class QueryFailed(RuntimeError):
    """DuckDB could not run the SQL (a syntax error, an unknown column …)."""

    kind = "query_error"


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[tuple]


def check_read_only(sql: str) -> list[duckdb.Statement]:
    """The statements of ``sql``, each checked to be a read; refuses with ``QueryRefused``."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryFailed(str(exc)) from exc
    except ValueError as exc:  # a statement type this duckdb's Python API does not know
        raise QueryRefused(f"query is read-only; this statement is not a read ({exc})") from exc
    if not statements:
        raise QueryFailed("no SQL statement given")
    for statement in statements:
        _check_statement(statement)
    return statements


def _check_statement(statement: duckdb.Statement) -> None:
    text = statement.query
    text = text[_LEADING_COMMENTS.match(text).end():]
    if statement.type == duckdb.StatementType.EXPLAIN:
        # EXPLAIN ANALYZE runs what it explains: the explained statement must be a read too
        explain = _EXPLAIN.match(text)
        if explain is None:
            raise QueryRefused("query is read-only; this EXPLAIN could not be checked")
        check_read_only(text[explain.end():])
        return
    if statement.type == duckdb.StatementType.PRAGMA:
        name = _PRAGMA_NAME.match(text)
        if name is None or name.group(1).lower() not in HARMLESS_PRAGMAS:
            raise QueryRefused(f"query is read-only; PRAGMA {name and name.group(1)} is not "
                               f"allowed (allowed: {', '.join(sorted(HARMLESS_PRAGMAS))})")
        return
    if statement.type not in _READS:
        kind = "INSTALL/LOAD" if statement.type == duckdb.StatementType.LOAD else (
            statement.type.name)
        hint = " (use nianbao export to write files)" if kind in ("COPY", "EXPORT") else ""
        raise QueryRefused(f"query is read-only; {kind} statements are not allowed{hint}")


def read_only_connection(data_dir: Path) -> tuple[duckdb.DuckDBPyConnection,
                                                  dict[str, DamagedTable]]:
    """The warehouse views on a connection that can read only the warehouse's own files, and
    the tables found damaged (their views fail when read; the others answer)."""
    damaged: dict[str, DamagedTable] = {}
    con = connect(data_dir, damaged)
    root = str(Warehouse(data_dir).root.resolve()) + "/"
    con.execute(f"SET allowed_directories = ['{root.replace(chr(39), chr(39) * 2)}']")
    con.execute("SET enable_external_access = false")
    con.execute("SET allow_community_extensions = false")
    con.execute("SET lock_configuration = true")
    return con, damaged


def _tables_read(sql: str) -> set[str]:
    """The warehouse tables ``sql`` reads, through whichever views."""
    try:
        names = duckdb.get_table_names(sql, qualified=False)
    except duckdb.Error:
        # DuckDB binds some SQL it runs fine only against the catalog (JOIN … USING, UNPIVOT):
        # every view the text names outside strings and comments counts as read (a PRAGMA
        # naming a table as a string reads the schema only)
        code = re.sub(r"'(?:[^']|'')*'|--[^\n]*|/\*.*?\*/", " ", sql, flags=re.DOTALL)
        names = set(_VIEW_NAME.findall(code.lower()))
    return set().union(*(VIEW_TABLES.get(name.lower(), set()) for name in names))


def run_query(data_dir: Path, sql: str) -> QueryResult:
    """Run read-only ``sql``; the result of its last statement.

    Raises ``QueryRefused`` (not a read, or a file outside the warehouse), ``DamagedTable``
    (the SQL reads a damaged table) or ``QueryFailed``."""
    statements = check_read_only(sql)
    con, damaged = read_only_connection(data_dir)
    try:
        result = None
        for statement in statements:
            for table in sorted(_tables_read(statement.query)):
                if table in damaged:
                    raise damaged[table]
            try:
                result = con.sql(statement.query)
                rows = result.fetchall() if result is not None else []
            except duckdb.PermissionException as exc:
                raise QueryRefused(f"query is read-only and reads only the warehouse: "
                                   f"{exc}") from exc
            except _MISTAKES as exc:
                raise QueryFailed(str(exc)) from exc
            except duckdb.Error as exc:
                raise _damage_behind(data_dir, statement.query) or QueryFailed(str(exc)) from exc
        columns = result.columns if result is not None else []
        return QueryResult(list(columns), rows)
    finally:
        con.close()


def _damage_behind(data_dir: Path, sql: str) -> DamagedTable | None:
    """After a failed read: a table the SQL reads whose files do not all read in full (the
    footer was fine, a page is not)."""
    warehouse = Warehouse(data_dir)
    for table in sorted(_tables_read(sql)):
        files = warehouse.files(table) or []
        problem = damaged_file(table, [path for path, _ in files], full=True)
        if problem:
            return problem
    return None
