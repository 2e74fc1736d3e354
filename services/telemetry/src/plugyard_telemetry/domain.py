"""The telemetry service's write model: its verdicts on new versions, and its alerts.

Each has an id derived from what it is about, so that deciding the same thing twice (after a restart) is a
conflict on save, not a second event on the bus.
"""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

TELEMETRY_NAMESPACE = uuid5(NAMESPACE_URL, "https://plugyard.dev/telemetry")


def comparison_id(host: str, name: str, action: str, previous_version: str, version: str, switch_seq: int) -> UUID:
    return uuid5(TELEMETRY_NAMESPACE, f"comparison/{host}/{name}/{action}/{previous_version}/{version}/{switch_seq}")


class _Comparison(Aggregate):
    """One verdict on a version that started serving after another, for one action on one host."""

    @staticmethod
    def create_id(host: str, name: str, action: str, previous_version: str, version: str, switch_seq: int, **_: Any) -> UUID:
        return comparison_id(host, name, action, previous_version, version, switch_seq)


class Regression(_Comparison):
    @event("RegressionDetected")
    def __init__(
        self, host: str, name: str, action: str, previous_version: str, version: str, switch_seq: int,
        calls_before: int, calls_after: int, p50_ms_before: float | None, p50_ms_after: float | None,
        p99_ms_before: float | None, p99_ms_after: float | None, error_rate_before: float, error_rate_after: float,
        latency_p_value: float, latency_effect: float, error_p_value: float,
        cpu_ms_per_call_before: float | None, cpu_ms_per_call_after: float | None, reasons: list[str],
    ) -> None:
        self.reasons = reasons


class NoRegressionFound(_Comparison):
    @event("NoRegression")
    def __init__(
        self, host: str, name: str, action: str, previous_version: str, version: str, switch_seq: int,
        calls_before: int, calls_after: int, p50_ms_before: float | None, p50_ms_after: float | None,
        p99_ms_before: float | None, p99_ms_after: float | None, error_rate_before: float, error_rate_after: float,
        latency_p_value: float, latency_effect: float, error_p_value: float,
        cpu_ms_per_call_before: float | None, cpu_ms_per_call_after: float | None,
    ) -> None:
        pass


class Alert(Aggregate):
    """One alert: raised once, resolved at most once."""

    @staticmethod
    def create_id(alert_id: str, **_: Any) -> UUID:
        return UUID(alert_id)

    @event("AlertRaised")
    def __init__(
        self, alert_id: str, rule: str, name: str, host: str, version: str | None, metric: str, value: float,
        threshold: float, for_s: float, message: str,
    ) -> None:
        self.resolved = False

    @event("AlertResolved")
    def resolve(self, alert_id: str, rule: str, name: str, host: str, metric: str, value: float, clear_threshold: float) -> None:
        self.resolved = True
