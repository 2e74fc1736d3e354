"""The host's own counts per plugin and per worker: calls, errors by code, latency per action (for `ps` and telemetry)."""

from __future__ import annotations

from bisect import bisect_left
from collections import deque
from dataclasses import dataclass, field
from statistics import median

from plugyard_schemas.loader import ActionStats, SlowCall
from plugyard_schemas.telemetry import LATENCY_BUCKET_COUNT, LATENCY_BUCKETS_MS

LATENCY_WINDOW = 1000  # the most recent calls an action's latency figures are taken over
# Error codes come from the plugin (PluginError(code=...)): bounded, so that one plugin cannot grow a sample without end.
MAX_ERROR_CODES = 32
MAX_CODE_LENGTH = 64
OTHER_CODE = "other"
MAX_SLOW_CALLS = 32  # kept between two samples (the sample's own limit)


def latency_bucket(elapsed_ms: float) -> int:
    """The index of the bucket counting a call of `elapsed_ms`: the first bound it does not exceed, else the last."""
    return bisect_left(LATENCY_BUCKETS_MS, elapsed_ms)


@dataclass
class ActionCounter:
    calls: int = 0
    errors: int = 0
    latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=LATENCY_WINDOW))
    buckets: list[int] = field(default_factory=lambda: [0] * LATENCY_BUCKET_COUNT)
    errors_by_code: dict[str, int] = field(default_factory=dict)
    cpu_ms: float | None = None

    def record(self, elapsed_ms: float, error_code: str | None) -> None:
        self.calls += 1
        self.latencies_ms.append(elapsed_ms)
        self.buckets[latency_bucket(elapsed_ms)] += 1
        if error_code is not None:
            self.errors += 1
            code = error_code[:MAX_CODE_LENGTH]
            if code not in self.errors_by_code and len(self.errors_by_code) >= MAX_ERROR_CODES:
                code = OTHER_CODE
            self.errors_by_code[code] = self.errors_by_code.get(code, 0) + 1

    def summary(self) -> ActionStats:
        window = list(self.latencies_ms)
        return ActionStats(
            calls=self.calls, errors=self.errors,
            latency_ms_p50=round(median(window), 3) if window else None,
            latency_ms_max=round(max(window), 3) if window else None,
            latency_buckets=list(self.buckets), errors_by_code=dict(self.errors_by_code),
            cpu_ms=round(self.cpu_ms, 3) if self.cpu_ms is not None else None,
        )


@dataclass
class CallStats:
    actions: dict[str, ActionCounter] = field(default_factory=dict)

    def record(self, action: str, elapsed_ms: float, error_code: str | None = None) -> None:
        """One call as its caller saw it: `error_code` is the code of the error replied, None when it succeeded."""
        self.actions.setdefault(action, ActionCounter()).record(elapsed_ms, error_code)

    def add_cpu(self, action: str, cpu_ms: float) -> None:
        counter = self.actions.setdefault(action, ActionCounter())
        counter.cpu_ms = (counter.cpu_ms or 0.0) + cpu_ms

    @property
    def calls(self) -> int:
        return sum(c.calls for c in self.actions.values())

    @property
    def errors(self) -> int:
        return sum(c.errors for c in self.actions.values())

    def summary(self) -> dict[str, ActionStats]:
        return {name: counter.summary() for name, counter in self.actions.items()}


@dataclass
class WorkerStats:
    """What one worker did since it started (the telemetry sample's counters), and its slow calls since the last sample."""

    calls: CallStats = field(default_factory=CallStats)
    slow_calls: deque[SlowCall] = field(default_factory=lambda: deque(maxlen=MAX_SLOW_CALLS))

    def take_slow_calls(self) -> list[SlowCall]:
        taken = list(self.slow_calls)
        self.slow_calls.clear()
        return taken
