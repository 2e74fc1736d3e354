"""A batch of telemetry samples as the warehouse's raw rows, built in one pass.

The loader's counters are cumulative per worker (pid). A worker seen for the first time contributes all it
counted; a counter lower than in that worker's previous sample means the worker restarted under the same pid,
and the sample counts from zero again rather than as a negative rate.

Of each worker's previous sample two things are kept: its counters, as plain tuples and dicts of numbers (which
the garbage collector stops tracking, so that ten thousand workers' state does not make every collection walk it),
and its JSON text, which the warehouse stores as that worker's state, so nothing is encoded again per sample.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa

from plugyard_schemas.loader import TelemetrySample
from plugyard_schemas.telemetry import LATENCY_BUCKET_COUNT
from plugyard_telemetry.schema import ACTIONS_ARROW, BUCKET_COLUMNS, ERRORS_ARROW, SAMPLES_ARROW, SLOW_CALLS_ARROW

NO_CALLS = (0,) * LATENCY_BUCKET_COUNT
WorkerKey = tuple[str, str, int]  # host, plugin name, pid


# Per action: calls, errors, cpu_ms, latency buckets, errors by code.
ActionCounters = tuple[int, int, float, tuple[int, ...], dict[str, int]]


@dataclass(frozen=True, slots=True)
class Counters:
    calls: int
    errors: int
    net_bytes: int
    actions: dict[str, ActionCounters]

    @classmethod
    def of(cls, sample: TelemetrySample) -> Counters:
        actions = {
            action: (stats.calls, stats.errors, stats.cpu_ms or 0.0, tuple(stats.latency_buckets or NO_CALLS), stats.errors_by_code)
            for action, stats in sample.actions.items()
        }
        return cls(sample.calls, sample.errors, (sample.net_out_bytes or 0) + (sample.net_in_bytes or 0), actions)


@dataclass(frozen=True, slots=True)
class LastSample:
    """A worker's latest sample: the version it ran, when, its counters, and its JSON text."""

    version: str
    at: datetime
    counters: Counters
    text: str


class SampleRows:
    """Rows of the four raw tables for a batch of checked samples, and each worker's latest sample."""

    def __init__(self) -> None:
        self.samples: dict[str, list] = {name: [] for name in SAMPLES_ARROW.names}
        self.actions: dict[str, list] = {name: [] for name in ACTIONS_ARROW.names}
        self.errors: dict[str, list] = {name: [] for name in ERRORS_ARROW.names}
        self.slow: dict[str, list] = {name: [] for name in SLOW_CALLS_ARROW.names}
        self._buckets = [self.actions[column] for column in BUCKET_COLUMNS]
        self.latest: dict[WorkerKey, LastSample] = {}

    def __len__(self) -> int:
        return len(self.samples["stream_seq"])

    def add(self, seq: int, sample: TelemetrySample, at: datetime, text: str, previous: LastSample | None) -> LastSample:
        """Add `sample` (stream sequence `seq`, time `at`, JSON `text`) measured against the same worker's
        `previous` sample (None for a worker not seen before). Returns it as that worker's latest."""
        now = Counters.of(sample)
        before = previous.counters if previous is not None else None
        deltas = _action_deltas(now.actions, before.actions) if before is not None else None
        reset = before is not None and (
            deltas is None or now.calls < before.calls or now.errors < before.errors or now.net_bytes < before.net_bytes
        )
        if before is None or reset:
            deltas = _action_deltas(now.actions, {})
            before = None
        head = (seq, at, sample.host, sample.name, sample.version)
        s = self.samples
        for column, value in zip(("stream_seq", "ts", "host", "name", "version"), head):
            s[column].append(value)
        s["pid"].append(sample.pid)
        s["cpu_percent"].append(sample.cpu_percent)
        s["rss_bytes"].append(sample.rss_bytes)
        s["open_files"].append(sample.open_files)
        s["threads"].append(sample.threads)
        s["calls"].append(now.calls - (before.calls if before else 0))
        s["errors"].append(now.errors - (before.errors if before else 0))
        s["net_bytes"].append(now.net_bytes - (before.net_bytes if before else 0))
        s["startup_ms"].append(sample.startup_ms if before is None else None)
        s["reset"].append(reset)
        s["memory_limit_bytes"].append(sample.memory_limit_bytes)
        for action, calls, errors, cpu_ms, buckets, codes in deltas:
            if calls or errors:
                self._add_action(head, action, calls, errors, cpu_ms, buckets)
            for code, count in codes:
                self._add_error(head, action, code, count)
        for call in sample.slow_calls:
            for column, value in zip(SLOW_CALLS_ARROW.names, (*head, call.action, call.elapsed_ms, call.budget_ms, call.stack)):
                self.slow[column].append(value)
        latest = LastSample(sample.version, at, now, text)
        self.latest[(sample.host, sample.name, sample.pid)] = latest
        return latest

    def tables(self) -> list[tuple[str, pa.Table]]:
        return [
            ("samples", pa.table(self.samples, schema=SAMPLES_ARROW)),
            ("action_samples", pa.table(self.actions, schema=ACTIONS_ARROW)),
            ("error_samples", pa.table(self.errors, schema=ERRORS_ARROW)),
            ("slow_calls", pa.table(self.slow, schema=SLOW_CALLS_ARROW)),
        ]

    def _add_action(self, head: tuple, action: str, calls: int, errors: int, cpu_ms: float, buckets) -> None:
        a = self.actions
        for column, value in zip(("stream_seq", "ts", "host", "name", "version"), head):
            a[column].append(value)
        a["action"].append(action)
        a["calls"].append(calls)
        a["errors"].append(errors)
        a["cpu_ms"].append(cpu_ms)
        for column, count in zip(self._buckets, buckets):
            column.append(count)

    def _add_error(self, head: tuple, action: str, code: str, count: int) -> None:
        for column, value in zip(ERRORS_ARROW.names, (*head, action, code, count)):
            self.errors[column].append(value)


def _action_deltas(now: dict[str, ActionCounters], before: dict[str, ActionCounters]) -> list[tuple] | None:
    """(action, calls, errors, cpu_ms, buckets, [(code, errors)]) since `before`, or None when a counter went back
    (or an action counted before is gone): the worker restarted."""
    if any(action not in now for action in before):
        return None
    deltas = []
    for action, (calls, errors, cpu_ms, buckets, codes) in now.items():
        previous = before.get(action)
        if previous is None:
            deltas.append((action, calls, errors, cpu_ms, buckets, [(code, count) for code, count in codes.items() if count]))
            continue
        old_calls, old_errors, old_cpu_ms, old_buckets, old_codes = previous
        calls, errors, cpu_ms = calls - old_calls, errors - old_errors, cpu_ms - old_cpu_ms
        buckets = [a - b for a, b in zip(buckets, old_buckets)]
        if calls < 0 or errors < 0 or cpu_ms < 0 or min(buckets) < 0:
            return None
        if any(codes.get(code, 0) < count for code, count in old_codes.items()):
            return None
        deltas.append((action, calls, errors, cpu_ms, buckets,
                       [(code, count - old_codes.get(code, 0)) for code, count in codes.items() if count != old_codes.get(code, 0)]))
    return deltas
