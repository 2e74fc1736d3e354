"""What `plugyard top` and `plugyard telemetry show` print, read from the warehouse.

Percentiles are read off summed bucket counts, never averaged. `show` reads the coarsest table whose grain fits
in one step of its series (raw samples, minutes, hours, days), so that a question over months reads a few rows per
day, and adds the raw rows the roll-up has not folded in yet, so that nothing recent is missing.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from plugyard_schemas.telemetry import ShowGroup, ShowReply, ShowRequest, TopReply, TopRequest, TopRow, VersionMark
from plugyard_telemetry.schema import BUCKET_COLUMNS, BUCKET_SUMS, KINDS, SCOPES, rollup_table
from plugyard_telemetry.statistics import percentiles
from plugyard_telemetry.warehouse import TelemetryWarehouse

_BUCKETS = ", ".join(BUCKET_COLUMNS)
STATES = {"PluginLoaded": "running", "PluginReloaded": "running", "PluginCrashed": "crashed", "PluginFailed": "failed", "PluginUnloaded": "unloaded"}
MARK_EVENTS = ("PluginLoaded", "PluginReloaded", "PluginCrashed", "PluginFailed", "PluginUnloaded")
GRAIN_S = {"raw": 1.0, "minute": 60.0, "hour": 3600.0, "day": 86400.0}

# Raw rows with the roll-up tables' columns (and their time and stream sequence).
_RAW = {
    "actions": f"SELECT ts, stream_seq, host, name, version, action, calls, errors, cpu_ms, {_BUCKETS} FROM action_samples",
    "workers": "SELECT ts, stream_seq, host, name, version, 1 AS samples, cpu_percent AS cpu_sum, rss_bytes AS rss_sum, "
    "rss_bytes AS rss_max, net_bytes, CAST(startup_ms IS NOT NULL AS BIGINT) AS startups, coalesce(startup_ms, 0) AS startup_ms_sum "
    "FROM samples",
    "errors": "SELECT ts, stream_seq, host, name, version, action, code, errors FROM error_samples",
}
_VALUES = {
    "actions": f"calls, errors, cpu_ms, {_BUCKETS}",
    "workers": "samples, cpu_sum, rss_sum, rss_max, net_bytes, startups, startup_ms_sum",
    "errors": "errors",
}


def top(warehouse: TelemetryWarehouse, request: TopRequest, now: datetime | None = None) -> TopReply:
    """The busiest `limit` plugin-hosts with a sample in the window; percentiles only for those."""
    now = now or datetime.now(UTC)
    since = now - timedelta(seconds=request.window_s)
    with warehouse.snapshot() as reader:
        rows = reader.read(
            f"""WITH latest AS (
                  SELECT host, name, arg_max(version, stream_seq) AS version, arg_max(cpu_percent, stream_seq) AS cpu,
                         arg_max(rss_bytes, stream_seq) AS rss, max(ts) AS last_at
                  FROM samples WHERE ts >= $since GROUP BY host, name),
               calls AS (
                  SELECT host, name, CAST(sum(calls) AS BIGINT) AS calls, CAST(sum(errors) AS BIGINT) AS errors, {BUCKET_SUMS}
                  FROM action_samples WHERE ts >= $since GROUP BY host, name)
               SELECT l.host, l.name, l.version, l.cpu, l.rss, l.last_at, coalesce(c.calls, 0), coalesce(c.errors, 0),
                      {", ".join(f"coalesce(c.{b}, 0)" for b in BUCKET_COLUMNS)}
               FROM latest l LEFT JOIN calls c USING (host, name)
               ORDER BY coalesce(c.calls, 0) DESC, l.host, l.name LIMIT $limit""",
            {"since": since, "limit": request.limit},
        )
        events = {
            (host, name): (last_type, crashes)
            for host, name, last_type, crashes in reader.read(
                """SELECT host, name, arg_max(type, stream_seq), count(*) FILTER (WHERE type = 'PluginCrashed')
                   FROM loader_events GROUP BY host, name"""
            )
        }
    result = []
    for host, name, version, cpu, rss, last_at, n, errors, *buckets in rows:
        last_type, crashes = events.get((host, name), (None, 0))
        p50, p99 = percentiles(buckets, (0.5, 0.99))
        result.append(TopRow(
            host=host, name=name, version=version, state=STATES.get(last_type, "unknown"), calls=n,
            calls_per_s=round(n / request.window_s, 3), error_rate=_rate(errors, n), p50_ms=_ms(p50), p99_ms=_ms(p99),
            cpu_percent=round(cpu, 1), rss_bytes=int(rss), restarts=int(crashes), last_sample_at=last_at.isoformat(),
        ))
    return TopReply(at=now.isoformat(), window_s=request.window_s, rows=result)


def show(warehouse: TelemetryWarehouse, request: ShowRequest, now: datetime | None = None) -> ShowReply:
    now = now or datetime.now(UTC)
    since = now - timedelta(seconds=request.since_s)
    resolution = _resolution(warehouse, request.since_s, request.since_s / request.points)
    step = max(request.since_s / request.points, GRAIN_S[resolution])
    steps = max(1, math.ceil(request.since_s / step))
    where = "name = $name AND t >= $since" + (" AND version = $version" if request.version else "")
    params: dict[str, Any] = {"name": request.name, "since": since}
    if request.version:
        params["version"] = request.version
    key = request.by or None
    key_sql = key or "''"
    index = f"least(CAST(floor((epoch(t) - epoch($since)) / {step!r}) AS BIGINT), {steps - 1})"
    with warehouse.snapshot() as reader:
        # Grouped by neither host nor action, the per-plugin roll-up answers (hosts and actions summed already).
        tables = _tables(resolution, reader.rolled_up_to(), "plugin_" if key in (None, "version") else "")
        action_rows = reader.read(
            f"SELECT {key_sql}, {index} AS i, CAST(sum(calls) AS BIGINT), CAST(sum(errors) AS BIGINT), sum(cpu_ms), {BUCKET_SUMS} "
            f"FROM ({tables['actions']}) WHERE {where} GROUP BY ALL", params,
        )
        worker_rows = [] if key == "action" else reader.read(
            f"SELECT {key_sql}, {index} AS i, CAST(sum(samples) AS BIGINT), sum(cpu_sum), max(rss_max), sum(rss_sum), "
            f"CAST(sum(net_bytes) AS BIGINT), CAST(sum(startups) AS BIGINT), sum(startup_ms_sum) FROM ({tables['workers']}) WHERE {where} GROUP BY ALL",
            params,
        )
        error_rows = reader.read(f"SELECT {key_sql}, code, CAST(sum(errors) AS BIGINT) FROM ({tables['errors']}) WHERE {where} GROUP BY ALL", params)
        marks = [
            VersionMark(at=at.isoformat(), host=host, version=version or "", event=kind)
            for at, host, version, kind in reader.read(
                "SELECT ts, host, version, type FROM loader_events WHERE name = $name AND ts >= $since AND type IN "
                f"({', '.join(repr(e) for e in MARK_EVENTS)}) ORDER BY stream_seq LIMIT 500",
                {"name": request.name, "since": since},
            )
        ]
    groups = _groups(key, steps, action_rows, worker_rows, error_rows)
    times = [(since + timedelta(seconds=i * step)).isoformat() for i in range(steps)]
    return ShowReply(
        name=request.name, version=request.version, since=since.isoformat(), until=now.isoformat(), step_s=step,
        times=times, resolution=resolution, groups=groups, marks=marks,
    )


def _resolution(warehouse: TelemetryWarehouse, span_s: float, step_s: float) -> str:
    """The coarsest table whose grain fits in one step and that still holds the whole span: the fewest rows to read.
    When none of those holds the span, the finest that does."""
    holds = {"raw": span_s <= warehouse.retention.raw.total_seconds(), "minute": span_s <= warehouse.retention.minute.total_seconds(),
             "hour": True, "day": True}
    fitting = [level for level in ("day", "hour", "minute", "raw") if GRAIN_S[level] <= step_s and holds[level]]
    return fitting[0] if fitting else next(level for level in ("raw", "minute", "hour", "day") if holds[level])


def _tables(resolution: str, rolled: int, scope: str) -> dict[str, str]:
    """The rows to read at `resolution`, as `t` and the scope's columns: a roll-up table plus the raw rows the roll-up
    has not folded in yet, or raw rows alone."""
    tables = {}
    for kind in KINDS:
        columns = f"{', '.join(SCOPES[scope][kind])}, {_VALUES[kind]}"
        if resolution == "raw":
            tables[kind] = f"SELECT ts AS t, {columns} FROM ({_RAW[kind]})"
        else:
            tables[kind] = (
                f"SELECT t, {columns} FROM {rollup_table(resolution, scope, kind)} UNION ALL "
                f"SELECT date_trunc('{resolution}', ts) AS t, {columns} FROM ({_RAW[kind]}) WHERE stream_seq > {int(rolled)}"
            )
    return tables


def _groups(key: str | None, steps: int, action_rows: list, worker_rows: list, error_rows: list) -> list[ShowGroup]:
    width = len(BUCKET_COLUMNS)
    totals: dict[str, dict[str, Any]] = defaultdict(lambda: {
        "calls": 0, "errors": 0, "buckets": [0] * width, "samples": 0, "cpu": 0.0, "rss_max": None, "net": 0,
        "startups": 0, "startup_ms": 0.0, "codes": {},
        "series": {name: [None] * steps for name in ("calls", "errors", "p50_ms", "p99_ms", "cpu_percent", "rss_bytes")},
    })
    for group, i, calls, errors, _cpu_ms, *buckets in action_rows:
        g = totals[group]
        g["calls"] += calls
        g["errors"] += errors
        g["buckets"] = [a + b for a, b in zip(g["buckets"], buckets)]
        series = g["series"]
        series["calls"][i] = float(calls)
        series["errors"][i] = float(errors)
        p50, p99 = percentiles(buckets, (0.5, 0.99))
        series["p50_ms"][i], series["p99_ms"][i] = _ms(p50), _ms(p99)
    for group, i, samples, cpu_sum, rss_max, rss_sum, net, startups, startup_ms in worker_rows:
        g = totals[group]
        g["samples"] += samples
        g["cpu"] += cpu_sum
        g["rss_max"] = max(rss_max, g["rss_max"] or 0)
        g["net"] += net
        g["startups"] += startups
        g["startup_ms"] += startup_ms
        g["series"]["cpu_percent"][i] = round(cpu_sum / samples, 2) if samples else None
        g["series"]["rss_bytes"][i] = float(rss_sum / samples) if samples else None
    for group, code, errors in error_rows:
        totals[group]["codes"][code] = int(errors)
    result = []
    for group in sorted(totals):
        g = totals[group]
        p50, p90, p99 = percentiles(g["buckets"], (0.5, 0.9, 0.99))
        result.append(ShowGroup(
            key={key: group} if key else {}, calls=int(g["calls"]), errors=int(g["errors"]),
            error_rate=_rate(g["errors"], g["calls"]), errors_by_code=g["codes"],
            p50_ms=_ms(p50), p90_ms=_ms(p90), p99_ms=_ms(p99),
            cpu_percent_avg=round(g["cpu"] / g["samples"], 2) if g["samples"] else None,
            rss_bytes_max=int(g["rss_max"]) if g["rss_max"] is not None else None,
            startup_ms_avg=round(g["startup_ms"] / g["startups"], 1) if g["startups"] else None,
            net_bytes=int(g["net"]), series=g["series"],
        ))
    return result


def _rate(errors: float, calls: float) -> float | None:
    return round(errors / calls, 4) if calls else None


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
