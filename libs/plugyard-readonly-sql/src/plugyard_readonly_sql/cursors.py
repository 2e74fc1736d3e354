"""Ending a cursor's work without caring whether there was any left to end."""

from __future__ import annotations

import duckdb


def interrupt_quietly(cursor: duckdb.DuckDBPyConnection) -> None:
    try:
        cursor.interrupt()
    except duckdb.Error:
        pass  # the query ended and its cursor closed as the time ran out


def rollback_quietly(cursor: duckdb.DuckDBPyConnection) -> None:
    try:
        cursor.rollback()
    except duckdb.Error:
        pass  # no transaction left to roll back (DuckDB ended it on the error)
