"""Read-only SQL over one DuckDB database: a few queries at once, each within its limits, none changing anything."""

from __future__ import annotations

import threading

import duckdb

from plugyard_readonly_sql.connection import unsafe_settings
from plugyard_readonly_sql.cursors import rollback_quietly
from plugyard_readonly_sql.errors import QueryBusy, QueryFailed, QueryOverLimit
from plugyard_readonly_sql.guard import QueryGuard
from plugyard_readonly_sql.limits import SqlLimits
from plugyard_readonly_sql.results import QueryResult, json_ready
from plugyard_readonly_sql.statements import read_only_statements

# Queries running at once: a quick one runs beside one or two slow ones. Each may grow memory by the limit, so
# this many times the limit bounds the memory of read-only SQL as a whole.
QUERIES_AT_ONCE = 3


class ReadOnlySql:
    """Runs read-only SQL on `db`, which must have been opened with SAFE_CONNECTION_CONFIG (`connect` does).

    `label` names the command in refusals ("audit sql is read-only: …"), `what` the service in the busy
    answer ("the ledger is busy: …"); `busy_message` replaces that answer whole. `slots` holds the
    `queries_at_once` slots queries take while they run. Safe to call from several threads at once."""

    def __init__(
        self,
        db: duckdb.DuckDBPyConnection,
        limits: SqlLimits,
        *,
        label: str = "audit sql",
        what: str = "the ledger",
        busy_message: str | None = None,
        queries_at_once: int = QUERIES_AT_ONCE,
    ) -> None:
        if queries_at_once < 1:
            raise ValueError("queries_at_once must be at least 1")
        unsafe = unsafe_settings(db)
        if unsafe:
            raise ValueError(f"{label} needs a database opened with SAFE_CONNECTION_CONFIG; this one differs in {', '.join(unsafe)}")
        self._db = db
        self.limits = limits
        self.label = label
        kind = label.removesuffix(" sql")
        self.busy_message = busy_message or f"{what} is busy: {queries_at_once} {kind} queries are running; try again shortly"
        self.slots = threading.BoundedSemaphore(queries_at_once)

    def query(self, sql: str, *, max_rows: int = 10_000) -> QueryResult:
        """Run read-only SQL: the result of its last statement, at most `max_rows` rows of it, JSON-ready.

        Raises QueryRefused for anything but SELECT (or EXPLAIN of one), QueryFailed when DuckDB cannot run it,
        QueryOverLimit when it goes past the limits. With every slot taken, a query waits for one of them to
        end, at most the time limit, then fails with QueryBusy.
        """
        if max_rows < 1:
            raise ValueError("max_rows must be at least 1")
        if not self.slots.acquire(timeout=self.limits.timeout_s):
            raise QueryBusy(self.busy_message)
        try:
            return self._query(sql, max_rows)
        finally:
            self.slots.release()

    def _query(self, sql: str, max_rows: int) -> QueryResult:
        cursor = self._db.cursor()  # one of its own, so that queries from different threads never share one
        try:
            statements = read_only_statements(cursor, sql, label=self.label)
            cursor.begin()  # never committed: whatever a statement might change is rolled back
            guard = QueryGuard(self._db, cursor, self.limits, name=f"{self.label.replace(' ', '-')}-guard")
            try:
                with guard:
                    for statement in statements:
                        cursor.execute(statement)
                    description = cursor.description or []
                    fetched = cursor.fetchmany(max_rows + 1)
            except duckdb.InterruptException as exc:
                raise QueryOverLimit(guard.stopped_because() or "query interrupted") from exc
            except duckdb.OutOfMemoryException as exc:
                raise QueryOverLimit(f"query ran out of memory: {str(exc).splitlines()[0]}") from exc
            except duckdb.PermissionException as exc:
                raise QueryFailed(f"{self.label} cannot read or write files on the host: {exc}") from exc
            except duckdb.Error as exc:
                raise QueryFailed(str(exc)) from exc
            finally:
                rollback_quietly(cursor)
        finally:
            cursor.close()
        json_columns = {i for i, column in enumerate(description) if str(column[1]) == "JSON"}
        rows = [
            [json_ready(value, parse_json=i in json_columns) for i, value in enumerate(row)]
            for row in fetched[:max_rows]
        ]
        return QueryResult([column[0] for column in description], rows, truncated=len(fetched) > max_rows)
