"""psutil samples of each worker, with the host's own call counts, published on `plugyard.tel.<host>.<plugin>`."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from typing import Any

import psutil

from plugyard_loader.stats import WorkerStats
from plugyard_sandbox.spec import Limits
from plugyard_schemas.loader import TelemetrySample

log = logging.getLogger("plugyard.loader.telemetry")

INTERVAL_ENV = "PLUGYARD_TELEMETRY_INTERVAL_S"
DEFAULT_INTERVAL_S = 5.0
# Every worker runs with the sandbox's default limits (sandbox_plan.py); telemetry compares rss against this one.
WORKER_MEMORY_LIMIT_BYTES = Limits().memory_bytes
BUDGET_ENV = "PLUGYARD_CALL_BUDGET_MS"
DEFAULT_BUDGET_MS = 1000.0


def interval_s() -> float:
    try:
        return max(float(os.environ.get(INTERVAL_ENV, DEFAULT_INTERVAL_S)), 0.1)
    except ValueError:
        return DEFAULT_INTERVAL_S


def call_budget_ms() -> float:
    """How long a call may run before its worker samples where it spends the time (0: never)."""
    raw = os.environ.get(BUDGET_ENV)
    if raw is None:
        return DEFAULT_BUDGET_MS
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{BUDGET_ENV}={raw!r} is not a number of milliseconds") from None
    if not 0 <= value < float("inf"):
        raise ValueError(f"{BUDGET_ENV}={raw!r} must be 0 (off) or a positive number of milliseconds")
    return value


def telemetry_subject(host: str, plugin: str) -> str:
    return f"plugyard.tel.{host}.{plugin}"


class ProcessSampler:
    """Keeps one psutil.Process per pid, so that cpu_percent measures the time since the previous sample."""

    def __init__(self) -> None:
        self._processes: dict[int, psutil.Process] = {}

    def sample(self, pid: int) -> dict[str, Any] | None:
        process = self._processes.get(pid)
        try:
            if process is None:
                process = self._processes[pid] = psutil.Process(pid)
                process.cpu_percent(None)  # primes the counter; the first figure would be meaningless
            with process.oneshot():
                usage: dict[str, Any] = {
                    "cpu_percent": process.cpu_percent(None), "rss_bytes": process.memory_info().rss,
                    "open_files": process.num_fds(), "threads": process.num_threads(),
                }
                try:
                    io = process.io_counters()
                    usage.update(read_bytes=io.read_bytes, write_bytes=io.write_bytes)
                except (psutil.AccessDenied, AttributeError):
                    pass
            return usage
        except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
            self._processes.pop(pid, None)
            return None

    def forget_except(self, pids: set[int]) -> None:
        for pid in set(self._processes) - pids:
            del self._processes[pid]


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat()


def worker_sample(
    *, host: str, name: str, version: str, pid: int, usage: dict[str, Any], stats: WorkerStats,
    spawned_at: float, startup_ms: float | None, egress: tuple[int, int] | None,
) -> TelemetrySample:
    """One worker's sample: its counters since it started, and the slow calls since its previous sample (taken)."""
    return TelemetrySample(
        host=host, name=name, version=version, pid=pid, at=now_iso(), **usage,
        calls=stats.calls.calls, errors=stats.calls.errors, actions=stats.calls.summary(),
        started_at=iso(spawned_at), startup_ms=round(startup_ms, 3) if startup_ms is not None else None,
        net_out_bytes=egress[0] if egress else None, net_in_bytes=egress[1] if egress else None,
        slow_calls=stats.take_slow_calls(),
        memory_limit_bytes=WORKER_MEMORY_LIMIT_BYTES,
    )
