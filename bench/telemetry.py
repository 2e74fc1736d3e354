"""The telemetry warehouse (issue 11), each figure beside the limit it is measured against, in one run:

1. Ingestion: samples/s through `SampleTracker.process` in batches of 1,000 (the loader's JSON bytes in → rows
   committed with the consumer's position) beside DuckDB's own Arrow insert of the very Arrow tables the warehouse
   built for those batches (`_sample_tables`), `INSERT INTO ... SELECT * FROM arrow` one transaction a batch, into
   the same tables (schema.TABLES) in a plain DuckDB file in the same temporary directory. The two run batch by
   batch, interleaved, so that the machine's load weighs on both alike. Aim: the tracker at ≥ 50% of DuckDB's rate.
   Also: where the tracker's time goes (parse + validate, rows (the delta against each worker's previous sample and
   the columns), Arrow build, Arrow insert, the `workers` upsert, position + commit, the rest), timed by wrapping those
   functions and the warehouse's writer cursor (< 1% overhead); a floor under any ingestion that checks its input
   with the same schema: pydantic's decode of each sample, the same tables' rows built as if each worker had no
   previous sample (no plausibility checks, no delta, no state, no position), and DuckDB's insert of them into a
   third file, as a ratio beside the aim; and one roll-up of the ingested rows.
2. `top` and `show` latency (aim: p99 under 200 ms) over a warehouse of `--plugins` plugins on `--hosts` hosts
   (every plugin on every host, `--actions` actions each), generated directly with DuckDB SQL (`range()`), not
   through the tracker: hour_* tables for `--days` days, minute_* tables for the last `--minute-days` days, raw
   samples (5 s interval) for the last `--raw-minutes` minutes, loader events (a load per worker, crashes and
   reloads). The warehouse's minute retention is set to `--minute-days`, so that `show` reads minutes only for
   spans the minute tables hold. Timed: `--calls` calls each of `views.top(window_s=60)` and `views.show` of a
   random plugin over 1 h, `--minute-days`, 7 d and `--days` (each reads the coarsest table its step allows:
   minutes, hours or days; their roll-up is derived from the hours), interleaved, after two warm-up rounds; with
   the time of each of the view's own SQL reads beside the whole call. `top` lists the busiest 200 (its default).
   `--explain` prints DuckDB's EXPLAIN ANALYZE of every read of one call of each.

usage: .venv/bin/python bench/telemetry.py [--samples N] [--plugins N] [--hosts N] [--actions N] [--days D]
           [--minute-days D] [--raw-minutes M] [--calls N] [--tiny] [--explain] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import re
import resource
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from plugyard_core.consumer import Delivered
from plugyard_schemas.loader import ActionStats, SlowCall, TelemetrySample
from plugyard_schemas.telemetry import LATENCY_BUCKET_COUNT, ShowRequest, TopRequest
from plugyard_telemetry import sample_rows as sample_rows_module
from plugyard_telemetry import trackers as trackers_module
from plugyard_telemetry import views
from plugyard_telemetry import warehouse as warehouse_module
from plugyard_telemetry.schema import BUCKET_COLUMNS, TABLES
from plugyard_telemetry.trackers import SAMPLES_CONSUMER, KnownPlugins, LoaderEventTracker, SampleTracker
from plugyard_telemetry.warehouse import DATABASE_FILE, ROLLUP, Retention, TelemetryWarehouse

BATCH = 1_000
INTERVAL_S = 5  # the loader's default PLUGYARD_TELEMETRY_INTERVAL_S
AIM_RATIO = 0.5
AIM_P99_MS = 200.0
ACTIONS = ("invoke", "search", "render", "export", "index", "sync")
# Share (in percent) of an action's calls in each latency bucket: most between 2.5 and 50 ms, a tail to 5 s.
PROFILE = (1, 4, 10, 18, 22, 17, 11, 7, 4, 2, 2, 1, 1, 0, 0, 0)
ERROR_CODES = ("plugin_error", "timeout")
WARM_UP_ROUNDS = 2
FULL = {"samples": 20_000, "plugins": 1_000, "hosts": 10, "actions": 3, "days": 30, "minute_days": 1.0, "raw_minutes": 60, "calls": 100}
TINY = {"samples": 2_000, "plugins": 20, "hosts": 2, "actions": 3, "days": 8, "minute_days": 0.5, "raw_minutes": 3, "calls": 5}
assert len(PROFILE) == LATENCY_BUCKET_COUNT == len(BUCKET_COLUMNS) and sum(PROFILE) == 100


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def plugin_name(p: int) -> str:
    return f"bench-plugin-{p:04d}"


def host_name(h: int) -> str:
    return f"host-{h:02d}"


def plugin_version(p: int) -> str:
    return f"1.{p % 4}.0"


class Stopwatch:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    @contextmanager
    def timing(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - started

    def wrap(self, name: str, function: Callable) -> Callable:
        seconds = self.seconds

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                seconds[name] += time.perf_counter() - started

        return timed


class TimedCursor:
    """The warehouse's writer cursor, timing each statement by what it does."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection, clock: Stopwatch) -> None:
        self._cursor = cursor
        self._clock = clock

    def execute(self, sql: str, params: Any = None) -> Any:
        kind = ("workers_upsert" if "INTO workers" in sql else "arrow_insert" if "_incoming" in sql
                else "position_commit" if "positions" in sql else "other_sql")
        with self._clock.timing(kind):
            return self._cursor.execute(sql, params)

    def executemany(self, sql: str, params: Any = None) -> Any:
        with self._clock.timing("workers_upsert" if "INTO workers" in sql else "other_sql"):
            return self._cursor.executemany(sql, params)

    def register(self, name: str, table: Any) -> Any:
        with self._clock.timing("workers_upsert" if name == "_workers" else "arrow_insert"):
            return self._cursor.register(name, table)

    def unregister(self, name: str) -> Any:
        with self._clock.timing("workers_upsert" if name == "_workers" else "arrow_insert"):
            return self._cursor.unregister(name)

    def commit(self) -> Any:
        with self._clock.timing("position_commit"):
            return self._cursor.commit()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


# ---- 1. ingestion ------------------------------------------------------------------------------------------


def loader_events(workers: list[tuple[int, int]], at: datetime) -> list[bytes]:
    bodies = []
    for p, h in workers:
        body = {
            "specversion": "1.0", "id": f"bench-loaded-{p}-{h}", "source": "plugyard/loader", "type": "dev.plugyard.loader.PluginLoaded",
            "time": at.isoformat(), "datacontenttype": "application/json",
            "data": {"name": plugin_name(p), "version": plugin_version(p), "host": host_name(h), "pid": 10_000 + p * 100 + h,
                     "layers": {"landlock": "enforced", "seccomp": "enforced", "network": "enforced"}, "dev": False},
        }
        bodies.append(json.dumps(body).encode())
    return bodies


def generate_samples(count: int, workers: list[tuple[int, int]], actions: int, now: datetime) -> list[Delivered]:
    """`count` samples as the loader publishes them (`TelemetrySample.model_dump_json()`), round after round of
    every worker at 5 s, counters since each worker started: per action 16 latency buckets, cpu_ms, and on a fifth
    of the plugins errors by code; a slow call in one sample of a hundred."""
    rounds = math.ceil(count / len(workers))
    start = now - timedelta(seconds=rounds * INTERVAL_S + 10)
    if now - start > timedelta(days=7):
        raise SystemExit(f"{count} samples of {len(workers)} workers at {INTERVAL_S} s span more than the 7 days the stream keeps")
    names = ACTIONS[:actions]
    state: dict[tuple[int, int], dict[str, list]] = {}
    delivered = []
    for n in range(count):
        r, w = divmod(n, len(workers))
        p, h = workers[w]
        counters = state.setdefault((p, h), {a: [0, 0, 0.0, [0] * LATENCY_BUCKET_COUNT, {}] for a in names})
        stats = {}
        for i, action in enumerate(names):
            c = counters[action]
            calls = 20 + (w * 7 + i * 13 + r * 3) % 80
            buckets = [calls * share // 100 for share in PROFILE]
            buckets[4 + (p + i) % 3] += calls - sum(buckets)
            c[0] += calls
            c[2] += calls * 0.4 + (p % 10) * 0.1
            c[3] = [a + b for a, b in zip(c[3], buckets)]
            if i == 0 and p % 5 == 0:
                errors = max(1, calls // 20)
                c[1] += errors
                c[4][ERROR_CODES[0]] = c[4].get(ERROR_CODES[0], 0) + errors - errors // 3
                if errors // 3:
                    c[4][ERROR_CODES[1]] = c[4].get(ERROR_CODES[1], 0) + errors // 3
            stats[action] = ActionStats(
                calls=c[0], errors=c[1], latency_ms_p50=5.0 + p % 7, latency_ms_max=250.0 + r % 100,
                latency_buckets=list(c[3]), errors_by_code=dict(c[4]), cpu_ms=round(c[2], 3),
            )
        at = start + timedelta(seconds=r * INTERVAL_S, milliseconds=w % 1000)
        slow = [] if n % 100 else [SlowCall(
            action=names[0], elapsed_ms=1450.0, budget_ms=1000.0, at=at.isoformat(), samples=12,
            stack=[f"plugin/module_{k}.py:{10 * k + 3} step_{k}" for k in range(8)],
        )]
        sample = TelemetrySample(
            host=host_name(h), name=plugin_name(p), version=plugin_version(p), pid=10_000 + p * 100 + h, at=at.isoformat(),
            cpu_percent=round(0.5 + (w * 37 + r) % 300 / 10, 1), rss_bytes=40_000_000 + (p % 50) * 1_000_000 + r * 4096,
            open_files=8 + p % 5, threads=3 + p % 3, read_bytes=1_000_000 + r * 10_000, write_bytes=200_000 + r * 2_000,
            calls=sum(c[0] for c in counters.values()), errors=sum(c[1] for c in counters.values()), actions=stats,
            started_at=start.isoformat(), startup_ms=round(25.0 + p % 40, 3),
            net_out_bytes=5_000 * (r + 1), net_in_bytes=20_000 * (r + 1), slow_calls=slow, memory_limit_bytes=512 * 2**20,
        )
        delivered.append(Delivered(n + 1, f"plugyard.tel.{host_name(h)}.{plugin_name(p)}", sample.model_dump_json().encode(), None))
    return delivered


def insert_tables(connection: duckdb.DuckDBPyConnection, tables: list) -> float:
    """Seconds DuckDB takes to insert `tables` ((name, Arrow table) pairs) in one transaction."""
    started = time.perf_counter()
    connection.begin()
    for table, arrow in tables:
        if arrow.num_rows:
            connection.register("_incoming", arrow)
            connection.execute(f"INSERT INTO {table} SELECT * FROM _incoming")
            connection.unregister("_incoming")
    connection.commit()
    return time.perf_counter() - started


def measure_ingestion(directory: Path, samples: int, workers: list[tuple[int, int]], actions: int) -> dict:
    now = datetime.now(UTC)
    log(f"ingestion: generating {samples:,} samples of {len(workers):,} workers ...")
    delivered = generate_samples(samples, workers, actions, now)
    batches = [delivered[i:i + BATCH] for i in range(0, samples, BATCH)]
    payload_bytes = sum(len(d.data) for batch in batches for d in batch)

    warehouse = TelemetryWarehouse(directory / "service")
    known = KnownPlugins(warehouse)
    events = LoaderEventTracker(warehouse, known)
    bodies = loader_events(workers, now - timedelta(hours=1))
    for i in range(0, len(bodies), BATCH):
        chunk = bodies[i:i + BATCH]
        events.process([Delivered(i + k + 1, "plugyard.evt.loader.PluginLoaded", data, None) for k, data in enumerate(chunk)])
    tracker = SampleTracker(warehouse, known)

    clock = Stopwatch()
    captured: list[list] = []
    build = clock.wrap("arrow_build", sample_rows_module.SampleRows.tables)

    def capture(rows: Any) -> list:
        tables = build(rows)
        captured.append(tables)
        return tables

    saved = (trackers_module.parse_sample, sample_rows_module.SampleRows.add, sample_rows_module.SampleRows.tables, warehouse_module._workers_table)
    plain = duckdb.connect(str(directory / "plain.duckdb"), config={"threads": warehouse.limits.threads})
    floor = duckdb.connect(str(directory / "floor.duckdb"), config={"threads": warehouse.limits.threads})
    add_row, build_tables = saved[1], saved[2]
    tracker_s = 0.0
    plain_s = 0.0
    floor_s = 0.0
    rows_by_table: dict[str, int] = defaultdict(int)
    log(f"ingestion: {len(batches)} batches through SampleTracker.process, each followed by DuckDB's insert of its Arrow tables ...")
    try:
        plain.execute(TABLES)
        floor.execute(TABLES)
        trackers_module.parse_sample = clock.wrap("parse_validate", trackers_module.parse_sample)
        sample_rows_module.SampleRows.add = clock.wrap("rows", sample_rows_module.SampleRows.add)
        sample_rows_module.SampleRows.tables = capture
        warehouse_module._workers_table = clock.wrap("workers_upsert", warehouse_module._workers_table)
        warehouse._writer = TimedCursor(warehouse._writer, clock)
        for batch in batches:
            started = time.perf_counter()
            rejected = tracker.process(batch)
            tracker_s += time.perf_counter() - started
            if rejected:
                raise RuntimeError(f"the tracker rejected {len(rejected)} samples: {rejected[0].reason}")
            [tables] = captured
            captured.clear()
            plain_s += insert_tables(plain, tables)
            started = time.perf_counter()
            floor_rows = sample_rows_module.SampleRows()
            for d in batch:
                sample = TelemetrySample.model_validate_json(d.data)
                add_row(floor_rows, d.stream_seq, sample, datetime.fromisoformat(sample.at), "", None)
            floor_s += time.perf_counter() - started + insert_tables(floor, build_tables(floor_rows))
            for table, arrow in tables:
                rows_by_table[table] += arrow.num_rows
        stored = warehouse.read("SELECT count(*) FROM samples")[0][0]
        if stored != samples or plain.execute("SELECT count(*) FROM samples").fetchall()[0][0] != samples:
            raise RuntimeError(f"{samples} samples went in but the warehouse holds {stored}")
        parts = {name: clock.seconds[name] for name in ("parse_validate", "rows", "arrow_build", "arrow_insert", "workers_upsert", "position_commit")}
        started = time.perf_counter()
        warehouse.roll_up(SAMPLES_CONSUMER, now=now)
        roll_up_s = time.perf_counter() - started
    finally:
        trackers_module.parse_sample, sample_rows_module.SampleRows.add, sample_rows_module.SampleRows.tables, warehouse_module._workers_table = saved
        plain.close()
        floor.close()
        warehouse.close()

    parts["other"] = tracker_s - sum(parts.values())
    return {
        "samples": samples, "batch": BATCH, "workers": len(workers), "bytes_per_sample": round(payload_bytes / samples),
        "rows_per_batch": {table: round(n / len(batches), 1) for table, n in rows_by_table.items()},
        "tracker_per_s": samples / tracker_s, "arrow_insert_per_s": samples / plain_s, "ratio": plain_s / tracker_s,
        "floor_per_s": samples / floor_s, "floor_ratio": plain_s / floor_s,
        "needed_per_s": len(workers) / INTERVAL_S,
        "ms_per_batch": {name: seconds * 1000 / len(batches) for name, seconds in parts.items()},
        "roll_up_s": roll_up_s, "roll_up_per_s": samples / roll_up_s,
    }


# ---- 2. top and show over a generated warehouse ------------------------------------------------------------


_BUCKETS = ", ".join(f"(c * {share}) // 100 AS {column}" for share, column in zip(PROFILE, BUCKET_COLUMNS))


def generate_warehouse(directory: Path, sizes: dict, now: datetime) -> dict:
    """The service's tables, filled with DuckDB SQL in time order, as the roll-up and the tracker would have."""
    TelemetryWarehouse(directory).close()  # the service's own tables, primary keys included
    db = duckdb.connect(str(directory / DATABASE_FILE), config={"threads": 2})
    P, H, A = sizes["plugins"], sizes["hosts"], sizes["actions"]
    workers = P * H
    db.execute(f"""CREATE TEMP TABLE ph AS SELECT p, h, h * {P} + p AS w, 'host-' || lpad(h::VARCHAR, 2, '0') AS host,
        'bench-plugin-' || lpad(p::VARCHAR, 4, '0') AS name, '1.' || (p % 4)::VARCHAR || '.0' AS version
        FROM range({P}) a(p), range({H}) b(h) ORDER BY h, p""")
    db.execute(f"CREATE TEMP TABLE acts AS SELECT a, {list(ACTIONS[:A])}[a + 1] AS action FROM range({A}) t(a)")
    db.execute("CREATE TEMP TABLE codes AS SELECT * FROM (VALUES (0, 'plugin_error'), (1, 'timeout')) t(k, code)")
    hour = now.replace(minute=0, second=0, microsecond=0)
    minute = now.replace(second=0, microsecond=0)
    hours = sizes["days"] * 24
    minutes = round(sizes["minute_days"] * 24 * 60)
    raw = sizes["raw_minutes"] * 60 // INTERVAL_S
    started = time.perf_counter()
    counts: dict[str, int] = {}

    def rolled_up(level: str, first: datetime, n: int, per: int, step: str) -> None:
        """`n` periods of `level` from `first`, `per` samples each, in statements of at most ~2M rows."""
        chunk = max(1, 2_000_000 // (workers * A))
        for k in range(0, n, chunk):
            periods = f"""(SELECT $first + to_{step}s(CAST(i AS BIGINT)) AS t, i FROM range({k}, {min(n, k + chunk)}) r(i))"""
            c = f"{per} * (20 + (i * 7 + w * 13 + a * 29) % 80)"
            db.execute(f"""INSERT INTO {level}_actions SELECT t, host, name, version, action, c, CASE WHEN a = 0 AND p % 5 = 0 THEN c // 20 ELSE 0 END,
                c * 0.4, {_BUCKETS} FROM (SELECT t, p, a, host, name, version, action, {c} AS c FROM {periods}, ph, acts)""", {"first": first})
            db.execute(f"""INSERT INTO {level}_workers SELECT t, host, name, version, {per}, {per} * (0.5 + (i + w) % 300 / 10),
                {per} * (40000000.0 + (p % 50) * 1000000), 40000000 + (p % 50) * 1000000 + i % 100 * 4096, {per} * 25000,
                CASE WHEN (i + w) % 500 = 0 THEN 1 ELSE 0 END, CASE WHEN (i + w) % 500 = 0 THEN 25.0 + p % 40 ELSE 0 END
                FROM {periods}, ph""", {"first": first})
            db.execute(f"""INSERT INTO {level}_errors SELECT t, host, name, version, 'invoke', code, CASE k WHEN 0 THEN e - e // 3 ELSE e // 3 END
                FROM (SELECT t, host, name, version, greatest(1, {per} * (20 + (i * 7 + w * 13) % 80) // 20) AS e FROM {periods}, ph WHERE p % 5 = 0), codes
                WHERE k = 0 OR e // 3 > 0""", {"first": first})
        for kind in ("actions", "workers", "errors"):
            counts[f"{level}_{kind}"] = db.execute(f"SELECT count(*) FROM {level}_{kind}").fetchall()[0][0]
        log(f"  {level}: {n:,} {step}s, {counts[f'{level}_actions']:,} action rows, {time.perf_counter() - started:.0f} s")

    log(f"views: generating {sizes['days']} days of hours, {sizes['minute_days']:g} days of minutes, {sizes['raw_minutes']} minutes of raw samples ...")
    rolled_up("hour", hour - timedelta(hours=hours - 1), hours, 3600 // INTERVAL_S, "hour")
    # Days, as the roll-up folds them: the sums of the hours above.
    buckets = ", ".join(f"sum({b})" for b in BUCKET_COLUMNS)
    db.execute(f"""INSERT INTO day_actions SELECT date_trunc('day', t), host, name, version, action, sum(calls), sum(errors), sum(cpu_ms),
        {buckets} FROM hour_actions GROUP BY ALL ORDER BY 1""")
    db.execute("""INSERT INTO day_workers SELECT date_trunc('day', t), host, name, version, sum(samples), sum(cpu_sum), sum(rss_sum),
        max(rss_max), sum(net_bytes), sum(startups), sum(startup_ms_sum) FROM hour_workers GROUP BY ALL ORDER BY 1""")
    db.execute("INSERT INTO day_errors SELECT date_trunc('day', t), host, name, version, action, code, sum(errors) FROM hour_errors GROUP BY ALL ORDER BY 1")
    for kind in ("actions", "workers", "errors"):
        counts[f"day_{kind}"] = db.execute(f"SELECT count(*) FROM day_{kind}").fetchall()[0][0]
    log(f"  day: {counts['day_actions']:,} action rows, {time.perf_counter() - started:.0f} s")
    rolled_up("minute", minute - timedelta(minutes=minutes - 1), minutes, 60 // INTERVAL_S, "minute")
    # Per plugin, as the roll-up folds them too: hosts and actions summed.
    for level in ("minute", "hour", "day"):
        db.execute(f"""INSERT INTO {level}_plugin_actions SELECT t, name, version, sum(calls), sum(errors), sum(cpu_ms), {buckets}
            FROM {level}_actions GROUP BY ALL ORDER BY 1""")
        db.execute(f"""INSERT INTO {level}_plugin_workers SELECT t, name, version, sum(samples), sum(cpu_sum), sum(rss_sum), max(rss_max),
            sum(net_bytes), sum(startups), sum(startup_ms_sum) FROM {level}_workers GROUP BY ALL ORDER BY 1""")
        db.execute(f"INSERT INTO {level}_plugin_errors SELECT t, name, version, code, sum(errors) FROM {level}_errors GROUP BY ALL ORDER BY 1")
        counts[f"{level}_plugin_actions"] = db.execute(f"SELECT count(*) FROM {level}_plugin_actions").fetchall()[0][0]
    log(f"  per plugin: {counts['minute_plugin_actions']:,} minute, {counts['hour_plugin_actions']:,} hour action rows, "
        f"{time.perf_counter() - started:.0f} s")

    # Raw samples: every worker every 5 s, in stream order (time, then worker), as the tracker appends them.
    first = now - timedelta(seconds=(raw - 1) * INTERVAL_S)
    chunk = max(1, 2_000_000 // (workers * A))
    for k in range(0, raw, chunk):
        ticks = f"(SELECT $first + to_seconds(CAST(i * {INTERVAL_S} AS BIGINT)) AS ts, i FROM range({k}, {min(raw, k + chunk)}) r(i))"
        seq = f"i * {workers} + w + 1"
        db.execute(f"""INSERT INTO samples SELECT {seq}, ts, host, name, version, 10000 + p * 100 + h, 0.5 + (i + w) % 300 / 10,
            40000000 + (p % 50) * 1000000 + i * 4096, 8 + p % 5, 3 + p % 3, {A} * 60, CASE WHEN p % 5 = 0 THEN 3 ELSE 0 END, 25000,
            NULL, false, {512 * 2**20} FROM {ticks}, ph ORDER BY i, w""", {"first": first})
        db.execute(f"""INSERT INTO action_samples SELECT seq, ts, host, name, version, action, c, CASE WHEN a = 0 AND p % 5 = 0 THEN 3 ELSE 0 END,
            c * 0.4, {_BUCKETS} FROM (SELECT {seq} AS seq, ts, p, a, host, name, version, action, 20 + (i * 7 + w * 13 + a * 29) % 80 AS c
            FROM {ticks}, ph, acts) ORDER BY seq, action""", {"first": first})
        db.execute(f"""INSERT INTO error_samples SELECT {seq}, ts, host, name, version, 'invoke', code, CASE k WHEN 0 THEN 2 ELSE 1 END
            FROM {ticks}, ph, codes WHERE p % 5 = 0 ORDER BY i, w, k""", {"first": first})
    for table in ("samples", "action_samples", "error_samples"):
        counts[table] = db.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
    last_seq = raw * workers
    db.execute("INSERT INTO positions VALUES (?, ?), (?, ?)", [SAMPLES_CONSUMER, last_seq, ROLLUP, last_seq])
    log(f"  raw: {raw:,} samples of each worker, {counts['samples']:,} samples, {time.perf_counter() - started:.0f} s")

    # The loader's events: a load of every worker when the window began; for one plugin in ten a crash and its
    # restart every 4 days; for one in four a reload each week.
    crash = "j * 96 + w % 96"
    reload = "j * 168 + w % 168"
    db.execute(f"""INSERT INTO loader_events SELECT row_number() OVER (ORDER BY ts, w, kind), ts, type, host, name, version, data FROM (
        SELECT w, 0 AS kind, $start AS ts, 'PluginLoaded' AS type, host, name, version,
            json_object('name', name, 'version', version, 'host', host, 'pid', 10000 + p * 100 + h, 'layers', json_object(), 'dev', false) AS data
            FROM ph
        UNION ALL SELECT w, 1, $start + to_hours(CAST({crash} AS BIGINT)), 'PluginCrashed', host, name, version,
            json_object('name', name, 'version', version, 'host', host, 'returncode', -9, 'reason', 'killed', 'restarts', j + 1, 'next_start_in_s', 1.0)
            FROM ph, range({hours // 96 + 1}) r(j) WHERE p % 10 = 0 AND {crash} < {hours}
        UNION ALL SELECT w, 2, $start + to_hours(CAST({crash} AS BIGINT)) + INTERVAL 2 SECOND, 'PluginLoaded', host, name, version,
            json_object('name', name, 'version', version, 'host', host, 'pid', 20000 + j, 'layers', json_object(), 'dev', false)
            FROM ph, range({hours // 96 + 1}) r(j) WHERE p % 10 = 0 AND {crash} < {hours}
        UNION ALL SELECT w, 3, $start + to_hours(CAST({reload} AS BIGINT)), 'PluginReloaded', host, name, version,
            json_object('name', name, 'version', version, 'host', host, 'previous_version', version, 'pid', 30000 + j)
            FROM ph, range({hours // 168 + 1}) r(j) WHERE p % 4 = 1 AND {reload} < {hours})""", {"start": hour - timedelta(hours=hours - 1)})
    counts["loader_events"] = db.execute("SELECT count(*) FROM loader_events").fetchall()[0][0]
    db.execute("CHECKPOINT")
    db.close()
    seconds = time.perf_counter() - started
    size = sum(f.stat().st_size for f in directory.iterdir() if f.is_file())
    log(f"  loader events: {counts['loader_events']:,}; generated in {seconds:.0f} s, {size / 2**30:.1f} GiB on disk")
    return {"hours": hours, "minutes": minutes, "raw_samples_per_worker": raw, "rows": counts, "seconds": seconds, "file_bytes": size}


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"p50_ms": statistics.median(ordered), "p99_ms": ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)], "max_ms": ordered[-1]}


def query_label(sql: str) -> str:
    tables = re.findall(r"FROM\s+(\w+)", sql)
    return tables[0] if tables else sql.split()[0]


def measure_views(directory: Path, sizes: dict, explain: bool) -> dict:
    now = datetime.now(UTC)
    generated = generate_warehouse(directory, sizes, now)
    warehouse = TelemetryWarehouse(directory, retention=Retention(minute=timedelta(days=sizes["minute_days"])))
    reads: list[tuple[str, Any, float]] = []
    read = warehouse.read
    snapshot_read = warehouse_module.Snapshot.read

    def timed_read(sql: str, params: Any = None) -> list:
        started = time.perf_counter()
        rows = read(sql, params)
        reads.append((sql, params, time.perf_counter() - started))
        return rows

    def timed_snapshot_read(self: Any, sql: str, params: Any = None) -> list:
        started = time.perf_counter()
        rows = snapshot_read(self, sql, params)
        reads.append((sql, params, time.perf_counter() - started))
        return rows

    warehouse.read = timed_read
    warehouse_module.Snapshot.read = timed_snapshot_read  # the views read through snapshots
    spans = {
        "show_1h": 3600.0, f"show_{sizes['minute_days']:g}d": sizes["minute_days"] * 86400.0,
        "show_7d": 7 * 86400.0, f"show_{sizes['days']}d": sizes["days"] * 86400.0,
    }
    rng = random.Random(11)
    times: dict[str, list[float]] = defaultdict(list)
    query_times: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    last_reads: dict[str, list] = {}
    resolutions: dict[str, str] = {}
    top_rows = 0
    log(f"views: {sizes['calls']} calls each of top and show over {', '.join(spans)}, after {WARM_UP_ROUNDS} warm-up rounds ...")
    try:
        for round_ in range(WARM_UP_ROUNDS + sizes["calls"]):
            calls: list[tuple[str, Callable]] = [("top", lambda: views.top(warehouse, TopRequest(window_s=60), now=now))]
            for label, span in spans.items():
                name = plugin_name(rng.randrange(sizes["plugins"]))
                calls.append((label, lambda name=name, span=span: views.show(warehouse, ShowRequest(name=name, since_s=span), now=now)))
            for label, call in calls:
                reads.clear()
                started = time.perf_counter()
                reply = call()
                elapsed = time.perf_counter() - started
                if label == "top":
                    top_rows = len(reply.rows)
                else:
                    resolutions[label] = reply.resolution
                    if not reply.groups or not reply.groups[0].calls:
                        raise RuntimeError(f"{label} of {reply.name} found no calls")
                if round_ < WARM_UP_ROUNDS:
                    continue
                times[label].append(elapsed * 1000)
                for i, (sql, _, seconds) in enumerate(reads):
                    query_times[label][f"{i + 1}:{query_label(sql)}"].append(seconds * 1000)
                last_reads[label] = list(reads)
        expected_rows = min(TopRequest().limit, sizes["plugins"] * sizes["hosts"])
        if top_rows != expected_rows:
            raise RuntimeError(f"top showed {top_rows} rows, not the busiest {expected_rows} of {sizes['plugins'] * sizes['hosts']} workers")
        plans = {}
        if explain:
            for label, logged in last_reads.items():
                plans[label] = [
                    "\n".join(value for _, value in read(f"EXPLAIN ANALYZE {sql}", params)) for sql, params, _ in logged
                ]
    finally:
        warehouse_module.Snapshot.read = snapshot_read
        warehouse.close()
    results = {}
    for label, values in times.items():
        results[label] = {
            **percentiles(values), "calls": len(values), "resolution": resolutions.get(label, "raw"),
            "reads_p50_ms": {query: statistics.median(v) for query, v in query_times[label].items()},
        }
        results[label]["sql_share"] = sum(results[label]["reads_p50_ms"].values()) / results[label]["p50_ms"]
    return {"generated": generated, "top_rows": top_rows, "views": results, "plans": plans}


# ---- output ----------------------------------------------------------------------------------------------


def machine() -> dict:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cores": os.cpu_count(), "cpu": model, "python": platform.python_version(), "duckdb": duckdb.__version__,
            "platform": platform.platform(), "load_average": os.getloadavg()[0]}


def print_report(result: dict) -> None:
    m, s, ing, v = result["machine"], result["sizes"], result["ingestion"], result["views"]
    print(f"telemetry benchmark: {m['cores']} cores ({m['cpu']}), Python {m['python']}, DuckDB {m['duckdb']}, load {m['load_average']:.1f} at start")
    print()
    print(f"1. ingestion: {ing['samples']:,} samples of {ing['workers']:,} workers in batches of {ing['batch']:,} "
          f"({ing['bytes_per_sample']:,} bytes of JSON each; a batch is "
          + ", ".join(f"{n:,.0f} {table} rows" for table, n in ing["rows_per_batch"].items()) + ")")
    print(f"{'SampleTracker.process samples/s':<44}{'DuckDB Arrow insert samples/s':>32}{'ratio':>8}{'aim':>8}")
    verdict = "met" if ing["ratio"] >= AIM_RATIO else "missed"
    print(f"{ing['tracker_per_s']:<44,.0f}{ing['arrow_insert_per_s']:>32,.0f}{ing['ratio']:>8.1%}{'≥ 50%':>8}  {verdict}")
    print(f"   a floor under any ingestion that decodes with the same schema (pydantic's decode, the rows built with no delta, DuckDB's insert): "
          f"{ing['floor_per_s']:,.0f} samples/s, {ing['floor_ratio']:.1%} of DuckDB's insert")
    print(f"   the issue's fleet ({s['plugins']:,} plugins × {s['hosts']} hosts at one sample per {INTERVAL_S} s) sends {ing['needed_per_s']:,.0f} samples/s: "
          f"the tracker keeps up at {ing['tracker_per_s'] / ing['needed_per_s']:.1f}× that")
    total = sum(ing["ms_per_batch"].values())
    print(f"   where a batch's {total:.1f} ms go: " + ", ".join(
        f"{name.replace('_', ' ')} {ms:.1f} ms ({ms / total:.0%})" for name, ms in ing["ms_per_batch"].items()))
    print(f"   one roll-up of the ingested rows into minutes, hours and days: {ing['roll_up_s'] * 1000:.0f} ms ({ing['roll_up_per_s']:,.0f} samples/s)")
    print()
    g = v["generated"]
    rows = g["rows"]
    print(f"2. top and show: {s['plugins']:,} plugins × {s['hosts']} hosts × {s['actions']} actions, generated in {g['seconds']:.0f} s "
          f"({g['file_bytes'] / 2**30:.1f} GiB): {g['hours']:,} hours ({rows['hour_actions']:,} hour_actions, {rows['hour_workers']:,} hour_workers, "
          f"{rows['hour_errors']:,} hour_errors rows), the last {g['minutes']:,} minutes ({rows['minute_actions']:,} minute_actions, "
          f"{rows['minute_workers']:,} minute_workers, {rows['minute_errors']:,} minute_errors), the last {s['raw_minutes']} minutes raw at "
          f"{INTERVAL_S} s ({rows['samples']:,} samples, {rows['action_samples']:,} action_samples, {rows['error_samples']:,} error_samples), "
          f"{rows['loader_events']:,} loader events; minute retention set to {s['minute_days']:g} d")
    print(f"{'view':<16}{'reads':>8}{'p50 ms':>10}{'p99 ms':>10}{'aim p99':>10}{'p99/aim':>9}  {'SQL share':>9}  slowest read p50")
    for label, r in v["views"].items():
        slowest = max(r["reads_p50_ms"].items(), key=lambda item: item[1])
        verdict = "met" if r["p99_ms"] < AIM_P99_MS else "MISSED"
        print(f"{label:<16}{r['resolution']:>8}{r['p50_ms']:>10.1f}{r['p99_ms']:>10.1f}{AIM_P99_MS:>10.0f}{r['p99_ms'] / AIM_P99_MS:>8.2f}× "
              f"{r['sql_share']:>9.0%}  {slowest[0]} {slowest[1]:.1f} ms  {verdict}")
    print(f"   ({v['views']['top']['calls']} calls each after {WARM_UP_ROUNDS} warm-up rounds; top lists {v['top_rows']:,} rows; "
          "SQL share: the view's reads' p50s over its own p50, the rest builds the reply)")
    for label, plans in v["plans"].items():
        for plan in plans:
            print(f"\n---- EXPLAIN ANALYZE, {label}\n{plan}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", help="small defaults, for the test: " + ", ".join(f"{k} {v}" for k, v in TINY.items()))
    for key, value in FULL.items():
        parser.add_argument(f"--{key.replace('_', '-')}", type=type(value), default=None, help=f"default {value}")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of every read of one call of each view")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    sizes = {key: getattr(args, key) if getattr(args, key) is not None else (TINY if args.tiny else FULL)[key] for key in FULL}
    if not 1 <= sizes["actions"] <= len(ACTIONS):
        parser.error(f"--actions must be 1 to {len(ACTIONS)}")
    if sizes["hosts"] > 100 or sizes["plugins"] > 10_000:
        parser.error("at most 100 hosts and 10,000 plugins (their names have room for no more)")
    started = time.perf_counter()
    result: dict[str, Any] = {"machine": machine(), "sizes": sizes}
    workers = [(p, h) for h in range(sizes["hosts"]) for p in range(sizes["plugins"])]
    with tempfile.TemporaryDirectory(prefix="plugyard-bench-telemetry-") as tmp:
        result["ingestion"] = measure_ingestion(Path(tmp) / "ingestion", sizes["samples"], workers, sizes["actions"])
    with tempfile.TemporaryDirectory(prefix="plugyard-bench-telemetry-") as tmp:
        result["views"] = measure_views(Path(tmp), sizes, args.explain)
    result["seconds"] = time.perf_counter() - started
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["load_average_end"] = os.getloadavg()[0]
    if args.json:
        print(json.dumps(result))
    else:
        print_report(result)
        print(f"\n(the whole run took {result['seconds']:.0f} s, peak RSS {result['peak_rss_mib']:,.0f} MiB, load {result['load_average_end']:.1f} at the end)")


if __name__ == "__main__":
    main()
