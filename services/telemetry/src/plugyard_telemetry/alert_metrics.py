"""The value of each alert metric, per plugin and host, now: what the alert rules are checked against."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from plugyard_telemetry.schema import BUCKET_SUMS
from plugyard_telemetry.statistics import leak_verdict, percentile
from plugyard_telemetry.warehouse import TelemetryWarehouse

# The sandbox's default address-space limit, for samples that do not say what their worker's limit is.
DEFAULT_MEMORY_LIMIT_BYTES = 1 << 30
LEAK_MIN_SPAN_FRACTION = 0.5  # a leak is judged over at least half its window of one worker's samples

PluginKey = tuple[str, str]  # plugin name, host


@dataclass
class Reading:
    """One plugin on one host: the figures its rules are checked against (None: no evidence in the window)."""

    version: str | None = None
    calls: int = 0
    errors: int = 0
    p99_ms_by_action: dict[str, float] = field(default_factory=dict)
    rss_fraction: float | None = None
    crash_count: int = 0
    violations: int = 0
    leak_bytes_per_s: float | None = None
    regressed: float = 0.0

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.calls if self.calls else None


def readings(warehouse: TelemetryWarehouse, now: datetime, window: timedelta, event_window: timedelta, leak_window: timedelta) -> dict[PluginKey, Reading]:
    found: dict[PluginKey, Reading] = defaultdict(Reading)
    since = now - window
    for name, host, version, rss, limit in warehouse.read(
        "SELECT name, host, arg_max(version, stream_seq), arg_max(rss_bytes, stream_seq), arg_max(memory_limit_bytes, stream_seq) "
        "FROM samples WHERE ts >= $since GROUP BY name, host", {"since": since},
    ):
        reading = found[(name, host)]
        reading.version = version
        reading.rss_fraction = rss / (limit or DEFAULT_MEMORY_LIMIT_BYTES)
    for name, host, action, calls, errors, *buckets in warehouse.read(
        f"SELECT name, host, action, CAST(sum(calls) AS BIGINT), CAST(sum(errors) AS BIGINT), {BUCKET_SUMS} FROM action_samples WHERE ts >= $since GROUP BY ALL",
        {"since": since},
    ):
        reading = found[(name, host)]
        reading.calls += int(calls)
        reading.errors += int(errors)
        p99 = percentile([int(b) for b in buckets], 0.99)
        if p99 is not None:
            reading.p99_ms_by_action[action] = p99
    for name, host, crashes, violations in warehouse.read(
        "SELECT name, host, count(*) FILTER (WHERE type = 'PluginCrashed'), count(*) FILTER (WHERE type = 'PermissionViolation') "
        "FROM loader_events WHERE ts >= $since GROUP BY ALL", {"since": now - event_window},
    ):
        found[(name, host)].crash_count = int(crashes)
        found[(name, host)].violations = int(violations)
    _leaks(warehouse, found, now, leak_window)
    return found


def _leaks(warehouse: TelemetryWarehouse, found: dict[PluginKey, Reading], now: datetime, leak_window: timedelta) -> None:
    """The rss slope of each plugin's current worker (its newest pid) over the leak window."""
    series: dict[PluginKey, list[tuple[float, float]]] = defaultdict(list)
    for name, host, at, rss in warehouse.read(
        """WITH current AS (SELECT name, host, arg_max(pid, stream_seq) AS pid FROM samples WHERE ts >= $since GROUP BY ALL)
           SELECT s.name, s.host, epoch(s.ts), s.rss_bytes FROM samples s JOIN current c USING (name, host, pid)
           WHERE s.ts >= $since ORDER BY s.stream_seq""",
        {"since": now - leak_window},
    ):
        series[(name, host)].append((float(at), float(rss)))
    min_span = leak_window.total_seconds() * LEAK_MIN_SPAN_FRACTION
    for key, points in series.items():
        slope, is_leak = leak_verdict(points, min_span, 1.0)
        if slope is not None:
            found[key].leak_bytes_per_s = slope if is_leak else min(slope, 0.0)
