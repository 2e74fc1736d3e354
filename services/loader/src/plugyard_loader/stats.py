"""The host's own counts per plugin: calls, errors and latency per action (for `ps` and telemetry)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from statistics import median

from plugyard_schemas.loader import ActionStats

LATENCY_WINDOW = 1000  # the most recent calls an action's latency figures are taken over


@dataclass
class ActionCounter:
    calls: int = 0
    errors: int = 0
    latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=LATENCY_WINDOW))

    def summary(self) -> ActionStats:
        window = list(self.latencies_ms)
        return ActionStats(
            calls=self.calls, errors=self.errors,
            latency_ms_p50=round(median(window), 3) if window else None,
            latency_ms_max=round(max(window), 3) if window else None,
        )


@dataclass
class CallStats:
    actions: dict[str, ActionCounter] = field(default_factory=dict)

    def record(self, action: str, elapsed_ms: float, ok: bool) -> None:
        counter = self.actions.setdefault(action, ActionCounter())
        counter.calls += 1
        counter.errors += 0 if ok else 1
        counter.latencies_ms.append(elapsed_ms)

    @property
    def calls(self) -> int:
        return sum(c.calls for c in self.actions.values())

    @property
    def errors(self) -> int:
        return sum(c.errors for c in self.actions.values())

    def summary(self) -> dict[str, ActionStats]:
        return {name: counter.summary() for name, counter in self.actions.items()}
