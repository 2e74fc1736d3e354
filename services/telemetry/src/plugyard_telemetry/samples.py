"""One telemetry sample in: checked for plausibility, then turned from counters since the worker started into
what happened since that worker's previous sample.

The loader's counters are cumulative per worker (pid). A worker seen for the first time contributes all it
counted; a counter lower than the previous sample's means the worker restarted under the same pid, and counts
from zero again rather than as a negative rate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from pydantic import ValidationError

from plugyard_core.json_limits import check_json_limits
from plugyard_core.rpc import summarize_validation_error
from plugyard_schemas.loader import TelemetrySample
from plugyard_schemas.telemetry import LATENCY_BUCKET_COUNT

FUTURE_TOLERANCE = timedelta(minutes=5)
OLDEST_ACCEPTED = timedelta(days=8)  # the telemetry stream keeps 7 days
MAX_CPU_PERCENT = 100.0 * 1024  # psutil's percent is per core; no host has more than this many
MAX_COUNT = 2**53


class ImplausibleSample(ValueError):
    """A sample that is not JSON of the right shape, or whose figures cannot be true."""


@dataclass(frozen=True)
class ActionCounters:
    calls: int = 0
    errors: int = 0
    cpu_ms: float = 0.0
    buckets: tuple[int, ...] = (0,) * LATENCY_BUCKET_COUNT
    errors_by_code: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class WorkerCounters:
    """What a worker had counted at its last sample."""

    version: str
    calls: int = 0
    errors: int = 0
    net_bytes: int = 0
    actions: dict[str, ActionCounters] = field(default_factory=dict)


@dataclass(frozen=True)
class ActionDelta:
    action: str
    calls: int
    errors: int
    cpu_ms: float
    buckets: tuple[int, ...]
    errors_by_code: dict[str, int]


@dataclass(frozen=True)
class SampleDelta:
    """A sample as rows: the worker's state now, and its calls since its previous sample."""

    at: datetime
    host: str
    name: str
    version: str
    pid: int
    cpu_percent: float
    rss_bytes: int
    open_files: int
    threads: int
    calls: int
    errors: int
    net_bytes: int
    startup_ms: float | None  # only on a worker's first sample
    reset: bool
    memory_limit_bytes: int | None
    actions: list[ActionDelta]
    slow_calls: list[dict]
    counters: WorkerCounters


def parse_sample(data: bytes, subject: str, now: datetime | None = None) -> TelemetrySample:
    """The sample `data` holds, published on `subject`; ImplausibleSample naming what is wrong otherwise."""
    try:
        check_json_limits(data)
        sample = TelemetrySample.model_validate_json(data)  # pydantic's own parser: one pass, no dicts in between
    except ValidationError as exc:
        raise ImplausibleSample(f"not a telemetry sample: {summarize_validation_error(exc)}") from None
    except (ValueError, RecursionError) as exc:  # not JSON, or past the size and depth limits
        raise ImplausibleSample(f"not a telemetry sample: {_first_line(exc)}") from None
    check_plausible(sample, subject, now or datetime.now(UTC))
    return sample


def check_plausible(sample: TelemetrySample, subject: str, now: datetime) -> None:
    expected = f"plugyard.tel.{sample.host}.{sample.name}"
    if subject != expected:
        raise ImplausibleSample(f"sample of {sample.name} on {sample.host} published on {subject}, not {expected}")
    at = sample_time(sample)
    if at > now + FUTURE_TOLERANCE:
        raise ImplausibleSample(f"sample time {sample.at} is in the future")
    if at < now - OLDEST_ACCEPTED:
        raise ImplausibleSample(f"sample time {sample.at} is older than the telemetry stream keeps")
    if sample.pid <= 0:
        raise ImplausibleSample(f"pid {sample.pid} is not a process id")
    if not (math.isfinite(sample.cpu_percent) and 0 <= sample.cpu_percent <= MAX_CPU_PERCENT):
        raise ImplausibleSample(f"cpu_percent {sample.cpu_percent} is not a plausible figure")
    for name in ("rss_bytes", "open_files", "threads", "calls", "errors", "read_bytes", "write_bytes", "net_out_bytes", "net_in_bytes", "memory_limit_bytes"):
        value = getattr(sample, name)
        if value is not None and not 0 <= value < MAX_COUNT:
            raise ImplausibleSample(f"{name} {value} is negative or too large")
    if sample.errors > sample.calls:
        raise ImplausibleSample(f"{sample.errors} errors in {sample.calls} calls")
    if sample.startup_ms is not None and not (math.isfinite(sample.startup_ms) and sample.startup_ms >= 0):
        raise ImplausibleSample(f"startup_ms {sample.startup_ms} is not a plausible figure")
    for action, stats in sample.actions.items():
        if stats.errors > stats.calls:
            raise ImplausibleSample(f"action {action}: {stats.errors} errors in {stats.calls} calls")
        if stats.latency_buckets and len(stats.latency_buckets) != LATENCY_BUCKET_COUNT:
            raise ImplausibleSample(f"action {action}: {len(stats.latency_buckets)} latency buckets, not {LATENCY_BUCKET_COUNT}")
        if any(count < 0 for count in stats.latency_buckets) or sum(stats.latency_buckets) > stats.calls:
            raise ImplausibleSample(f"action {action}: latency buckets are negative or count more than its {stats.calls} calls")
        if any(count < 0 for count in stats.errors_by_code.values()) or sum(stats.errors_by_code.values()) > stats.errors:
            raise ImplausibleSample(f"action {action}: errors by code are negative or more than its {stats.errors} errors")
        if stats.cpu_ms is not None and not (math.isfinite(stats.cpu_ms) and stats.cpu_ms >= 0):
            raise ImplausibleSample(f"action {action}: cpu_ms {stats.cpu_ms} is not a plausible figure")


def sample_time(sample: TelemetrySample) -> datetime:
    try:
        at = datetime.fromisoformat(sample.at)
    except ValueError:
        raise ImplausibleSample(f"sample time {sample.at!r} is not an ISO 8601 time") from None
    if at.tzinfo is None:
        raise ImplausibleSample(f"sample time {sample.at!r} has no time zone")
    return at.astimezone(UTC)


def delta(sample: TelemetrySample, previous: WorkerCounters | None) -> SampleDelta:
    """`sample`'s counts since `previous` (the same worker's last sample; None for a worker not seen before)."""
    net_bytes = (sample.net_out_bytes or 0) + (sample.net_in_bytes or 0)
    actions_now = {
        action: ActionCounters(
            calls=stats.calls, errors=stats.errors, cpu_ms=stats.cpu_ms or 0.0,
            buckets=tuple(stats.latency_buckets) if stats.latency_buckets else (0,) * LATENCY_BUCKET_COUNT,
            errors_by_code=dict(stats.errors_by_code),
        )
        for action, stats in sample.actions.items()
    }
    counters = WorkerCounters(version=sample.version, calls=sample.calls, errors=sample.errors, net_bytes=net_bytes, actions=actions_now)
    reset = previous is not None and _went_back(previous, counters)
    base = None if previous is None or reset else previous
    deltas = [_action_delta(action, now, base.actions.get(action) if base else None) for action, now in actions_now.items()]
    return SampleDelta(
        at=sample_time(sample), host=sample.host, name=sample.name, version=sample.version, pid=sample.pid,
        cpu_percent=sample.cpu_percent, rss_bytes=sample.rss_bytes, open_files=sample.open_files, threads=sample.threads,
        calls=sample.calls - (base.calls if base else 0),
        errors=sample.errors - (base.errors if base else 0),
        net_bytes=net_bytes - (base.net_bytes if base else 0),
        startup_ms=sample.startup_ms if previous is None or reset else None,
        reset=reset,
        memory_limit_bytes=sample.memory_limit_bytes,
        actions=[d for d in deltas if d.calls or d.errors],
        slow_calls=[call.model_dump() for call in sample.slow_calls],
        counters=counters,
    )


def _went_back(previous: WorkerCounters, now: WorkerCounters) -> bool:
    if now.calls < previous.calls or now.errors < previous.errors or now.net_bytes < previous.net_bytes:
        return True
    for action, before in previous.actions.items():
        after = now.actions.get(action)
        if after is None:
            return True
        if after.calls < before.calls or after.errors < before.errors or after.cpu_ms < before.cpu_ms:
            return True
        if any(a < b for a, b in zip(after.buckets, before.buckets)):
            return True
        if any(after.errors_by_code.get(code, 0) < count for code, count in before.errors_by_code.items()):
            return True
    return False


def _action_delta(action: str, now: ActionCounters, before: ActionCounters | None) -> ActionDelta:
    if before is None:
        return ActionDelta(action, now.calls, now.errors, now.cpu_ms, now.buckets, dict(now.errors_by_code))
    codes = {code: count - before.errors_by_code.get(code, 0) for code, count in now.errors_by_code.items()}
    return ActionDelta(
        action, now.calls - before.calls, now.errors - before.errors, now.cpu_ms - before.cpu_ms,
        tuple(a - b for a, b in zip(now.buckets, before.buckets)), {code: n for code, n in codes.items() if n},
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
