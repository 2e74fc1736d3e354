"""Which SQL is read-only: SELECT, or a plain EXPLAIN of one SELECT."""

from __future__ import annotations

import re

import duckdb

from plugyard_readonly_sql.errors import QueryFailed, QueryRefused

_EXPLAIN = re.compile(r"\s*EXPLAIN\s+(?P<explained>.*)", re.IGNORECASE | re.DOTALL)
_ANALYZE = re.compile(r"ANALY[SZ]E\b", re.IGNORECASE)


def read_only_statements(cursor: duckdb.DuckDBPyConnection, sql: str, *, label: str = "audit sql") -> list[duckdb.Statement]:
    """The statements of `sql`, each a SELECT or a plain EXPLAIN of one SELECT.

    Raises QueryFailed when DuckDB cannot parse `sql` or it holds no statement, QueryRefused (worded
    "`label` is read-only: …", naming the statement type) when any statement is anything else."""
    try:
        statements = cursor.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryFailed(str(exc)) from exc
    if not statements:
        raise QueryFailed("no SQL statement given")
    for statement in statements:
        if statement.type == duckdb.StatementType.SELECT:
            continue
        if statement.type == duckdb.StatementType.EXPLAIN:
            if _explains_a_select(cursor, statement.query):
                continue
            raise QueryRefused(f"{label} is read-only: EXPLAIN is allowed only of a SELECT, without ANALYZE")
        raise QueryRefused(f"{label} is read-only: {statement.type.name} statements are refused")
    return statements


def _explains_a_select(cursor: duckdb.DuckDBPyConnection, text: str) -> bool:
    # EXPLAIN ANALYZE runs the statement it explains, so only a plain EXPLAIN of one SELECT passes.
    match = _EXPLAIN.fullmatch(text)
    if match is None or _ANALYZE.match(match["explained"]):
        return False
    try:
        explained = cursor.extract_statements(match["explained"])
    except duckdb.Error:
        return False
    return len(explained) == 1 and explained[0].type == duckdb.StatementType.SELECT
