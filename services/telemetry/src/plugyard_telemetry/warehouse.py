"""The telemetry warehouse: a DuckDB file written by the service's two consumers and its roll-up, read by its RPCs.

Every append is one DuckDB transaction holding the rows and the consumer's new position, so a crash keeps all
of a batch or none of it, and the consumer resumes after the last batch that is in. The roll-up's position is
kept the same way. One lock serialises the writers; readers take cursors of their own.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from plugyard_core.env_numbers import env_number
from plugyard_readonly_sql import QueryResult, ReadOnlySql, SqlLimits, connect
from plugyard_telemetry.samples import ActionCounters, SampleDelta, WorkerCounters
from plugyard_telemetry.schema import (
    ACTIONS_ARROW, ERRORS_ARROW, KINDS, ROLLUP_LEVELS, SAMPLES_ARROW, SCOPES, SLOW_CALLS_ARROW, TABLES, WORKERS_ARROW,
    rollup_statements, rollup_table, rollup_tables,
)

DATABASE_FILE = "telemetry.duckdb"
ROLLUP = "rollup"  # the roll-up's own position: the samples stream sequence folded in so far
RAW_HOURS_ENV = "PLUGYARD_TELEMETRY_RAW_HOURS"
MINUTE_DAYS_ENV = "PLUGYARD_TELEMETRY_MINUTE_DAYS"
DEFAULT_RAW_HOURS = 48.0
# Minutes serve spans under about a day (`show` reads hours once a step is an hour); each minute row costs its
# primary key (~125 bytes) as well, and at 10,000 plugin-hosts a day of minutes is 43 M action rows.
DEFAULT_MINUTE_DAYS = 2.0
RAW_EXCERPT_BYTES = 2048


class RetentionConfigError(ValueError):
    """A PLUGYARD_TELEMETRY_* retention variable that is not a usable number."""


@dataclass(frozen=True)
class Retention:
    raw: timedelta = timedelta(hours=DEFAULT_RAW_HOURS)
    minute: timedelta = timedelta(days=DEFAULT_MINUTE_DAYS)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Retention:
        hours = env_number(RAW_HOURS_ENV, DEFAULT_RAW_HOURS, least=0, most=1e6, strictly_above_least=True, what="a number of hours",
                           error=RetentionConfigError, environ=environ)
        days = env_number(MINUTE_DAYS_ENV, DEFAULT_MINUTE_DAYS, least=0, most=1e6, strictly_above_least=True, what="a number of days",
                          error=RetentionConfigError, environ=environ)
        return cls(raw=timedelta(hours=hours), minute=timedelta(days=days))


@dataclass(frozen=True)
class Rejection:
    stream_seq: int
    subject: str
    reason: str
    raw: bytes


@dataclass(frozen=True)
class LoaderEventRow:
    stream_seq: int
    at: datetime
    type: str
    host: str
    name: str
    version: str | None
    data: dict[str, Any]


WorkerKey = tuple[str, str, int]  # host, plugin name, pid


class TelemetryWarehouse:
    def __init__(self, directory: Path, *, limits: SqlLimits | None = None, retention: Retention | None = None) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.limits = limits or SqlLimits()
        self.retention = retention or Retention()
        self._db = connect(directory / DATABASE_FILE, limits=self.limits)
        self._write_lock = threading.Lock()
        self._closed = False
        self._writer = self._db.cursor()
        self._writer.execute(TABLES)
        for level in ROLLUP_LEVELS:
            self._writer.execute(rollup_tables(level))
        self.sql = ReadOnlySql(self._db, self.limits, label="telemetry sql", what="the telemetry service")

    # ---- positions and state for the consumers

    def position(self, consumer: str) -> int:
        with self._reader() as cursor:
            row = cursor.execute("SELECT stream_seq FROM positions WHERE consumer = ?", [consumer]).fetchall()
        return row[0][0] if row else 0

    def workers(self) -> dict[WorkerKey, WorkerCounters]:
        with self._reader() as cursor:
            rows = cursor.execute("SELECT host, name, pid, counters FROM workers").fetchall()
        return {(host, name, pid): _counters_from_json(counters) for host, name, pid, counters in rows}

    def reported_versions(self) -> set[tuple[str, str, str]]:
        """(host, name, version) the loader said it started a worker of."""
        with self._reader() as cursor:
            rows = cursor.execute(
                "SELECT DISTINCT host, name, version FROM loader_events WHERE version IS NOT NULL "
                "AND type IN ('PluginLoaded', 'PluginReloaded', 'PluginCrashed')"
            ).fetchall()
        return {tuple(row) for row in rows}

    # ---- appends, each one transaction with its position

    def append_samples(self, consumer: str, rows: list[tuple[int, SampleDelta]], rejections: list[Rejection], position: int) -> None:
        with self._transaction() as cursor:
            if rows:
                for table, arrow in _sample_tables(rows):
                    if arrow.num_rows:
                        cursor.register("_incoming", arrow)
                        try:
                            cursor.execute(f"INSERT INTO {table} SELECT * FROM _incoming")
                        finally:
                            cursor.unregister("_incoming")
                latest: dict[WorkerKey, SampleDelta] = {}
                for _, row in rows:
                    latest[(row.host, row.name, row.pid)] = row
                # One statement for the batch: executemany would run one (of milliseconds) per worker.
                cursor.register("_workers", _workers_table(latest.values()))
                try:
                    cursor.execute("INSERT OR REPLACE INTO workers SELECT * FROM _workers")
                finally:
                    cursor.unregister("_workers")
            self._record(cursor, consumer, rejections, position)

    def append_loader_events(self, consumer: str, rows: list[LoaderEventRow], rejections: list[Rejection], position: int) -> None:
        with self._transaction() as cursor:
            if rows:
                cursor.executemany(
                    "INSERT INTO loader_events VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [[r.stream_seq, r.at, r.type, r.host, r.name, r.version, json.dumps(r.data)] for r in rows],
                )
            self._record(cursor, consumer, rejections, position)

    def reject(self, consumer: str, rejection: Rejection) -> None:
        with self._transaction() as cursor:
            self._record(cursor, consumer, [rejection], rejection.stream_seq)

    def _record(self, cursor: duckdb.DuckDBPyConnection, consumer: str, rejections: list[Rejection], position: int) -> None:
        if rejections:
            now = datetime.now(UTC)
            cursor.executemany(
                "INSERT INTO rejections VALUES (?, ?, ?, ?, ?, ?)",
                [[consumer, r.stream_seq, r.subject, r.reason, r.raw[:RAW_EXCERPT_BYTES].decode("utf-8", "replace"), now] for r in rejections],
            )
        cursor.execute("INSERT OR REPLACE INTO positions VALUES (?, ?)", [consumer, position])

    # ---- roll-up and retention

    def roll_up(self, samples_consumer: str, now: datetime | None = None) -> int:
        """Fold the raw rows not folded yet into minutes and hours, then drop what retention allows. Returns
        the number of stream sequences folded."""
        with self._transaction() as cursor:
            low = _scalar(cursor, "SELECT coalesce(max(stream_seq), 0) FROM positions WHERE consumer = ?", [ROLLUP])
            high = _scalar(cursor, "SELECT coalesce(max(stream_seq), 0) FROM positions WHERE consumer = ?", [samples_consumer])
            if high > low:
                for level in ROLLUP_LEVELS:
                    for statement in rollup_statements(level):
                        cursor.execute(statement, {"low": low, "high": high})
                cursor.execute("INSERT OR REPLACE INTO positions VALUES (?, ?)", [ROLLUP, high])
            now = now or datetime.now(UTC)
            raw_cutoff = now - self.retention.raw
            for table in ("samples", "action_samples", "error_samples", "slow_calls"):
                cursor.execute(f"DELETE FROM {table} WHERE ts < ? AND stream_seq <= ?", [raw_cutoff, high])
            minute_cutoff = now - self.retention.minute
            for scope in SCOPES:
                for kind in KINDS:
                    cursor.execute(f"DELETE FROM {rollup_table('minute', scope, kind)} WHERE t < ?", [minute_cutoff])
            cursor.execute("DELETE FROM workers WHERE last_at < ?", [raw_cutoff])
        return max(high - low, 0)

    # ---- reading

    def query(self, sql: str, *, max_rows: int = 10_000) -> QueryResult:
        return self.sql.query(sql, max_rows=max_rows)

    def read(self, sql: str, params: list[Any] | dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """Rows of the service's own read query (never user SQL: that goes through `query`)."""
        with self._reader() as cursor:
            return cursor.execute(sql, params).fetchall()

    @contextmanager
    def snapshot(self) -> Iterator[Snapshot]:
        """Reads that see one state of the warehouse: a roll-up between two of them cannot count rows twice."""
        with self._reader() as cursor:
            cursor.begin()
            try:
                yield Snapshot(cursor)
            finally:
                cursor.rollback()

    def counts(self) -> dict[str, int]:
        with self._reader() as cursor:
            return {
                table: _scalar(cursor, f"SELECT count(*) FROM {table}")
                for table in ("samples", "action_samples", "loader_events", "rejections", "minute_actions", "hour_actions")
            }

    # ---- lifetime

    def close(self) -> None:
        with self._write_lock:
            if self._closed:
                return
            self._closed = True
            self._writer.close()
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._write_lock:
            if self._closed:
                raise RuntimeError("the telemetry warehouse is closed")
            cursor = self._writer
            cursor.begin()
            try:
                yield cursor
            except BaseException:
                cursor.rollback()
                raise
            cursor.commit()

    @contextmanager
    def _reader(self) -> Iterator[duckdb.DuckDBPyConnection]:
        if self._closed:
            raise RuntimeError("the telemetry warehouse is closed")
        cursor = self._db.cursor()
        try:
            yield cursor
        finally:
            cursor.close()


class Snapshot:
    def __init__(self, cursor: duckdb.DuckDBPyConnection) -> None:
        self._cursor = cursor

    def read(self, sql: str, params: list[Any] | dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        return self._cursor.execute(sql, params).fetchall()

    def rolled_up_to(self) -> int:
        """The samples stream sequence the roll-up has folded in: raw rows past it are not in minutes, hours, days."""
        return _scalar(self._cursor, "SELECT coalesce(max(stream_seq), 0) FROM positions WHERE consumer = ?", [ROLLUP])


def _scalar(cursor: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> Any:
    return cursor.execute(sql, params).fetchall()[0][0]


def _sample_tables(rows: list[tuple[int, SampleDelta]]) -> list[tuple[str, pa.Table]]:
    samples: dict[str, list] = {name: [] for name in SAMPLES_ARROW.names}
    actions: dict[str, list] = {name: [] for name in ACTIONS_ARROW.names}
    errors: dict[str, list] = {name: [] for name in ERRORS_ARROW.names}
    slow: dict[str, list] = {name: [] for name in SLOW_CALLS_ARROW.names}
    for seq, r in rows:
        for key, value in (
            ("stream_seq", seq), ("ts", r.at), ("host", r.host), ("name", r.name), ("version", r.version), ("pid", r.pid),
            ("cpu_percent", r.cpu_percent), ("rss_bytes", r.rss_bytes), ("open_files", r.open_files), ("threads", r.threads),
            ("calls", r.calls), ("errors", r.errors), ("net_bytes", r.net_bytes), ("startup_ms", r.startup_ms), ("reset", r.reset),
            ("memory_limit_bytes", r.memory_limit_bytes),
        ):
            samples[key].append(value)
        for a in r.actions:
            for key, value in (
                ("stream_seq", seq), ("ts", r.at), ("host", r.host), ("name", r.name), ("version", r.version),
                ("action", a.action), ("calls", a.calls), ("errors", a.errors), ("cpu_ms", a.cpu_ms),
            ):
                actions[key].append(value)
            for i, count in enumerate(a.buckets):
                actions[f"b{i:02d}"].append(count)
            for code, count in a.errors_by_code.items():
                for key, value in (
                    ("stream_seq", seq), ("ts", r.at), ("host", r.host), ("name", r.name), ("version", r.version),
                    ("action", a.action), ("code", code), ("errors", count),
                ):
                    errors[key].append(value)
        for call in r.slow_calls:
            for key, value in (
                ("stream_seq", seq), ("ts", r.at), ("host", r.host), ("name", r.name), ("version", r.version),
                ("action", call["action"]), ("elapsed_ms", call["elapsed_ms"]), ("budget_ms", call["budget_ms"]), ("stack", call["stack"]),
            ):
                slow[key].append(value)
    return [
        ("samples", pa.table(samples, schema=SAMPLES_ARROW)),
        ("action_samples", pa.table(actions, schema=ACTIONS_ARROW)),
        ("error_samples", pa.table(errors, schema=ERRORS_ARROW)),
        ("slow_calls", pa.table(slow, schema=SLOW_CALLS_ARROW)),
    ]


def _workers_table(rows) -> pa.Table:
    rows = list(rows)
    return pa.table(
        {
            "host": [r.host for r in rows], "name": [r.name for r in rows], "pid": [r.pid for r in rows],
            "version": [r.version for r in rows], "last_at": [r.at for r in rows],
            "counters": [_counters_to_json(r.counters) for r in rows],
        },
        schema=WORKERS_ARROW,
    )


def _counters_to_json(counters: WorkerCounters) -> str:
    # By hand: dataclasses.asdict deep-copies every nested value first, and this runs once per worker per batch.
    actions = {
        name: {"calls": a.calls, "errors": a.errors, "cpu_ms": a.cpu_ms, "buckets": a.buckets, "errors_by_code": a.errors_by_code}
        for name, a in counters.actions.items()
    }
    return json.dumps({"version": counters.version, "calls": counters.calls, "errors": counters.errors,
                       "net_bytes": counters.net_bytes, "actions": actions})


def _counters_from_json(text: str) -> WorkerCounters:
    data = json.loads(text)
    actions = {
        name: ActionCounters(calls=a["calls"], errors=a["errors"], cpu_ms=a["cpu_ms"], buckets=tuple(a["buckets"]), errors_by_code=a["errors_by_code"])
        for name, a in data.get("actions", {}).items()
    }
    return WorkerCounters(version=data["version"], calls=data["calls"], errors=data["errors"], net_bytes=data["net_bytes"], actions=actions)
