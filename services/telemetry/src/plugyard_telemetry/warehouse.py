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
from plugyard_schemas.loader import TelemetrySample
from plugyard_telemetry.sample_rows import Counters, LastSample, SampleRows, WorkerKey
from plugyard_telemetry.schema import (
    KINDS, ROLLUP_LEVELS, SCOPES, TABLES, WORKERS_ARROW,
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

    def workers(self) -> dict[WorkerKey, LastSample]:
        """Each worker's latest sample, as the samples consumer last committed it."""
        with self._reader() as cursor:
            rows = cursor.execute("SELECT host, name, pid, version, last_at, counters FROM workers").fetchall()
        return {(host, name, pid): _last_sample(host, name, pid, version, last_at, text) for host, name, pid, version, last_at, text in rows}

    def reported_versions(self) -> set[tuple[str, str, str]]:
        """(host, name, version) the loader said it started a worker of."""
        with self._reader() as cursor:
            rows = cursor.execute(
                "SELECT DISTINCT host, name, version FROM loader_events WHERE version IS NOT NULL "
                "AND type IN ('PluginLoaded', 'PluginReloaded', 'PluginCrashed')"
            ).fetchall()
        return {tuple(row) for row in rows}

    # ---- appends, each one transaction with its position

    def append_samples(self, consumer: str, rows: SampleRows, rejections: list[Rejection], position: int) -> None:
        with self._transaction() as cursor:
            if len(rows):
                for table, arrow in rows.tables():
                    if arrow.num_rows:
                        cursor.register("_incoming", arrow)
                        try:
                            cursor.execute(f"INSERT INTO {table} SELECT * FROM _incoming")
                        finally:
                            cursor.unregister("_incoming")
                # One statement for the batch: executemany would run one (of milliseconds) per worker.
                cursor.register("_workers", _workers_table(rows.latest))
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


def _workers_table(latest: dict[WorkerKey, LastSample]) -> pa.Table:
    keys = list(latest)
    return pa.table(
        {
            "host": [k[0] for k in keys], "name": [k[1] for k in keys], "pid": [k[2] for k in keys],
            "version": [latest[k].version for k in keys], "last_at": [latest[k].at for k in keys],
            "counters": [latest[k].text for k in keys],
        },
        schema=WORKERS_ARROW,
    )


def _last_sample(host: str, name: str, pid: int, version: str, last_at: datetime, text: str) -> LastSample:
    data = json.loads(text)
    if "host" not in data:  # kept by an earlier version: the counters alone
        data = _sample_from_counters(host, name, pid, last_at, data)
    return LastSample(version, last_at, Counters.of(TelemetrySample.model_validate(data)), text)


def _sample_from_counters(host: str, name: str, pid: int, last_at: datetime, counters: dict[str, Any]) -> dict[str, Any]:
    actions = {
        action: {"calls": a["calls"], "errors": a["errors"], "cpu_ms": a["cpu_ms"], "latency_buckets": a["buckets"], "errors_by_code": a["errors_by_code"]}
        for action, a in counters.get("actions", {}).items()
    }
    return {
        "host": host, "name": name, "version": counters["version"], "pid": pid, "at": last_at.isoformat(), "cpu_percent": 0.0,
        "rss_bytes": 0, "open_files": 0, "threads": 0, "calls": counters["calls"], "errors": counters["errors"],
        "net_out_bytes": counters["net_bytes"], "actions": actions,
    }
