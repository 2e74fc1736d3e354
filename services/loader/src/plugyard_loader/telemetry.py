"""psutil samples of each worker, with the host's own call counts, published on `plugyard.tel.<host>.<plugin>`."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from typing import Any

import psutil

log = logging.getLogger("plugyard.loader.telemetry")

INTERVAL_ENV = "PLUGYARD_TELEMETRY_INTERVAL_S"
DEFAULT_INTERVAL_S = 5.0


def interval_s() -> float:
    try:
        return max(float(os.environ.get(INTERVAL_ENV, DEFAULT_INTERVAL_S)), 0.1)
    except ValueError:
        return DEFAULT_INTERVAL_S


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
