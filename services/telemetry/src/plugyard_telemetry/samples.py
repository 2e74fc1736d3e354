"""One telemetry sample in: JSON of the right shape, with figures that can be true, published on its own subject."""

from __future__ import annotations

import math
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


def parse_sample(data: bytes, subject: str, now: datetime | None = None) -> tuple[TelemetrySample, datetime]:
    """The sample `data` holds, published on `subject`, and its time in UTC; ImplausibleSample naming what is
    wrong otherwise."""
    try:
        check_json_limits(data)
        sample = TelemetrySample.model_validate_json(data)  # pydantic's own parser: one pass, no dicts in between
    except ValidationError as exc:
        raise ImplausibleSample(f"not a telemetry sample: {summarize_validation_error(exc)}") from None
    except (ValueError, RecursionError) as exc:  # not JSON, or past the size and depth limits
        raise ImplausibleSample(f"not a telemetry sample: {_first_line(exc)}") from None
    return sample, check_plausible(sample, subject, now or datetime.now(UTC))


def check_plausible(sample: TelemetrySample, subject: str, now: datetime) -> datetime:
    """The sample's time in UTC, once its figures are checked; ImplausibleSample naming the first that cannot be true."""
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
        if stats.latency_buckets and (min(stats.latency_buckets) < 0 or sum(stats.latency_buckets) > stats.calls):
            raise ImplausibleSample(f"action {action}: latency buckets are negative or count more than its {stats.calls} calls")
        if stats.errors_by_code and (min(stats.errors_by_code.values()) < 0 or sum(stats.errors_by_code.values()) > stats.errors):
            raise ImplausibleSample(f"action {action}: errors by code are negative or more than its {stats.errors} errors")
        if stats.cpu_ms is not None and not (math.isfinite(stats.cpu_ms) and stats.cpu_ms >= 0):
            raise ImplausibleSample(f"action {action}: cpu_ms {stats.cpu_ms} is not a plausible figure")
    return at


def sample_time(sample: TelemetrySample) -> datetime:
    try:
        at = datetime.fromisoformat(sample.at)
    except ValueError:
        raise ImplausibleSample(f"sample time {sample.at!r} is not an ISO 8601 time") from None
    if at.tzinfo is None:
        raise ImplausibleSample(f"sample time {sample.at!r} has no time zone")
    return at.astimezone(UTC)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
