"""What `plugyard top` and `plugyard telemetry show` print, read from the warehouse.

Percentiles are read off summed bucket counts, never averaged. `show` picks the finest table that still holds
its whole span (raw samples, then minutes, then hours), so that a question over months reads hours.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from plugyard_schemas.telemetry import ShowGroup, ShowReply, ShowRequest, TopReply, TopRequest, TopRow, VersionMark
from plugyard_telemetry.schema import BUCKET_COLUMNS
from plugyard_telemetry.statistics import percentile
from plugyard_telemetry.warehouse import TelemetryWarehouse

RAW_SPAN_LIMIT = timedelta(hours=6)  # past this, minutes answer faster than raw samples and lose nothing visible
_BUCKETS = ", ".join(f"sum({c})" for c in BUCKET_COLUMNS)
STATES = {"PluginLoaded": "running", "PluginReloaded": "running", "PluginCrashed": "crashed", "PluginFailed": "failed", "PluginUnloaded": "unloaded"}
MARK_EVENTS = ("PluginLoaded", "PluginReloaded", "PluginCrashed", "PluginFailed", "PluginUnloaded")

_RAW = {
    "actions": f"(SELECT ts AS t, host, name, version, action, calls, errors, cpu_ms, {', '.join(BUCKET_COLUMNS)} FROM action_samples)",
    "workers": "(SELECT ts AS t, host, name, version, 1 AS samples, cpu_percent AS cpu_sum, rss_bytes AS rss_sum, rss_bytes AS rss_max, "
    "net_bytes, CAST(startup_ms IS NOT NULL AS BIGINT) AS startups, coalesce(startup_ms, 0) AS startup_ms_sum FROM samples)",
    "errors": "(SELECT ts AS t, host, name, version, action, code, errors FROM error_samples)",
}


def top(warehouse: TelemetryWarehouse, request: TopRequest, now: datetime | None = None) -> TopReply:
    now = now or datetime.now(UTC)
    since = now - timedelta(seconds=request.window_s)
    latest = warehouse.read(
        """SELECT host, name, arg_max(version, stream_seq), arg_max(cpu_percent, stream_seq), arg_max(rss_bytes, stream_seq), max(ts)
           FROM samples WHERE ts >= $since GROUP BY host, name""",
        {"since": since},
    )
    calls = {
        (host, name): row
        for host, name, *row in warehouse.read(
            f"SELECT host, name, sum(calls), sum(errors), {_BUCKETS} FROM action_samples WHERE ts >= $since GROUP BY host, name",
            {"since": since},
        )
    }
    events = {
        (host, name): (last_type, crashes)
        for host, name, last_type, crashes in warehouse.read(
            """SELECT host, name, arg_max(type, stream_seq), count(*) FILTER (WHERE type = 'PluginCrashed')
               FROM loader_events GROUP BY host, name"""
        )
    }
    rows = []
    for host, name, version, cpu, rss, last_at in sorted(latest):
        n, errors, *buckets = calls.get((host, name), (0, 0, *([0] * len(BUCKET_COLUMNS))))
        last_type, crashes = events.get((host, name), (None, 0))
        rows.append(TopRow(
            host=host, name=name, version=version, state=STATES.get(last_type, "unknown"), calls=int(n),
            calls_per_s=round(n / request.window_s, 3), error_rate=_rate(errors, n),
            p50_ms=_ms(percentile(buckets, 0.5)), p99_ms=_ms(percentile(buckets, 0.99)),
            cpu_percent=round(cpu, 1), rss_bytes=int(rss), restarts=int(crashes), last_sample_at=last_at.isoformat(),
        ))
    return TopReply(at=now.isoformat(), window_s=request.window_s, rows=rows)


def show(warehouse: TelemetryWarehouse, request: ShowRequest, now: datetime | None = None) -> ShowReply:
    now = now or datetime.now(UTC)
    span = timedelta(seconds=request.since_s)
    since = now - span
    resolution, grain = _resolution(warehouse, span)
    step = max(request.since_s / request.points, grain)
    steps = max(1, math.ceil(request.since_s / step))
    tables = _RAW if resolution == "raw" else {kind: f"{resolution}_{kind}" for kind in ("actions", "workers", "errors")}
    where = "name = $name AND t >= $since" + (" AND version = $version" if request.version else "")
    params: dict[str, Any] = {"name": request.name, "since": since, "step": step}
    if request.version:
        params["version"] = request.version
    key = request.by or None
    key_sql = key or "''"
    index = "least(CAST(floor((epoch(t) - epoch($since)) / $step) AS BIGINT), " + str(steps - 1) + ")"

    action_rows = warehouse.read(
        f"SELECT {key_sql}, {index} AS i, sum(calls), sum(errors), sum(cpu_ms), {_BUCKETS} FROM {tables['actions']} "
        f"WHERE {where} GROUP BY ALL", params,
    )
    worker_rows = [] if key == "action" else warehouse.read(
        f"SELECT {key_sql}, {index} AS i, sum(samples), sum(cpu_sum), max(rss_max), sum(rss_sum), sum(net_bytes), sum(startups), "
        f"sum(startup_ms_sum) FROM {tables['workers']} WHERE {where} GROUP BY ALL", params,
    )
    error_rows = warehouse.read(
        f"SELECT {key_sql}, code, sum(errors) FROM {tables['errors']} WHERE {where} GROUP BY ALL",
        {k: v for k, v in params.items() if k != "step"},
    )
    groups = _groups(key, steps, action_rows, worker_rows, error_rows)
    marks = [
        VersionMark(at=at.isoformat(), host=host, version=version or "", event=kind)
        for at, host, version, kind in warehouse.read(
            "SELECT ts, host, version, type FROM loader_events WHERE name = $name AND ts >= $since AND type IN "
            f"({', '.join(repr(e) for e in MARK_EVENTS)}) ORDER BY stream_seq LIMIT 500",
            {"name": request.name, "since": since},
        )
    ]
    times = [(since + timedelta(seconds=i * step)).isoformat() for i in range(steps)]
    return ShowReply(
        name=request.name, version=request.version, since=since.isoformat(), until=now.isoformat(), step_s=step,
        times=times, resolution=resolution, groups=groups, marks=marks,
    )


def _resolution(warehouse: TelemetryWarehouse, span: timedelta) -> tuple[str, float]:
    if span <= min(warehouse.retention.raw, RAW_SPAN_LIMIT):
        return "raw", 1.0
    if span <= warehouse.retention.minute:
        return "minute", 60.0
    return "hour", 3600.0


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
        series["p50_ms"][i] = _ms(percentile(buckets, 0.5))
        series["p99_ms"][i] = _ms(percentile(buckets, 0.99))
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
        result.append(ShowGroup(
            key={key: group} if key else {}, calls=int(g["calls"]), errors=int(g["errors"]),
            error_rate=_rate(g["errors"], g["calls"]), errors_by_code=g["codes"],
            p50_ms=_ms(percentile(g["buckets"], 0.5)), p90_ms=_ms(percentile(g["buckets"], 0.9)),
            p99_ms=_ms(percentile(g["buckets"], 0.99)),
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
