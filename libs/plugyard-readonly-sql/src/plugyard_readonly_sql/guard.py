"""A watcher that stops one query at its time or memory limit."""

from __future__ import annotations

import os
import threading
from time import monotonic

import duckdb

from plugyard_readonly_sql.cursors import interrupt_quietly
from plugyard_readonly_sql.limits import MEMORY_ENV, TIMEOUT_ENV, SqlLimits

CHECK_S = 0.05  # how often a running query's time and memory are looked at
MIB = 1024 * 1024
# DuckDB's memory tags for query intermediates; a writer's rows and indexes are BASE_TABLE, IN_MEMORY_TABLE, ART_INDEX.
_QUERY_MEMORY = (
    "SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory() "
    "WHERE tag IN ('HASH_TABLE', 'ORDER_BY', 'WINDOW', 'COLUMN_DATA', 'ALLOCATOR')"
)


class QueryGuard:
    """Watches one query from a thread of its own and interrupts its cursor when the query runs past the time
    limit or grows DuckDB's working memory past the memory limit; `stopped_because()` then tells which.

    Why not DuckDB's own `memory_limit`: it is one limit for the whole database, a writer's included, and a
    commit that meets it invalidates the database until the process restarts. DuckDB accounts memory per
    database, not per connection, so a query is charged with what grew since it started: DuckDB's memory for
    query intermediates, or the process's resident memory for what DuckDB does not account (large strings),
    whichever grew more. A query running beside a heavier one may be charged with some of the other's growth.
    """

    def __init__(
        self, db: duckdb.DuckDBPyConnection, cursor: duckdb.DuckDBPyConnection, limits: SqlLimits,
        *, name: str = "readonly-sql-guard",
    ) -> None:
        self._cursor = cursor
        self._limits = limits
        self._monitor = db.cursor()
        self._done = threading.Event()
        self._reason: str | None = None
        self._thread = threading.Thread(target=self._watch, name=name, daemon=True)
        self._base_tracked, self._base_resident = self._tracked(), resident_bytes()

    def __enter__(self) -> QueryGuard:
        self._started = monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._done.set()
        self._thread.join()
        self._monitor.close()

    def stopped_because(self) -> str | None:
        return self._reason

    def _watch(self) -> None:
        deadline = self._started + self._limits.timeout_s
        allowed = self._limits.memory_mb * MIB
        while not self._done.wait(max(0.0, min(CHECK_S, deadline - monotonic()))):
            if monotonic() >= deadline:
                self._reason = f"query cancelled after {self._limits.timeout_s:g} s ({TIMEOUT_ENV})"
            elif self._grown() > allowed:
                self._reason = f"query exceeded the {self._limits.memory_mb} MiB memory limit ({MEMORY_ENV})"
            else:
                continue
            interrupt_quietly(self._cursor)
            return

    def _grown(self) -> int:
        return max(self._tracked() - self._base_tracked, resident_bytes() - self._base_resident)

    def _tracked(self) -> int:
        try:
            # Fetching everything finishes the result; DuckDB 2.0 refuses other work on a cursor with one open.
            return self._monitor.execute(_QUERY_MEMORY).fetchall()[0][0]
        except duckdb.Error:
            return 0  # the database is closing; the time limit still applies


def resident_bytes() -> int:
    """The process's resident memory; 0 where /proc is not there to tell (the DuckDB accounting still applies)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0
