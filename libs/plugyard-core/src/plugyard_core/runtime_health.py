"""What a service's health says of its consumers and its outbox: counts, and whether anything stopped moving."""

from __future__ import annotations

import time
from dataclasses import dataclass

from plugyard_core.consumer import ConsumerStats
from plugyard_core.env_numbers import env_number

STALL_ENV = "PLUGYARD_STALL_AFTER_S"
# A scan takes seconds and a large batch of the ledger's a few: two minutes without progress while work waits is
# a consumer that has stopped, not a slow one.
DEFAULT_STALL_AFTER_S = 120.0


class StallConfigError(ValueError):
    """PLUGYARD_STALL_AFTER_S holds no usable number of seconds."""


def stall_after_s() -> float:
    return env_number(STALL_ENV, DEFAULT_STALL_AFTER_S, least=0, strictly_above_least=True, what="a number of seconds", error=StallConfigError)


@dataclass(frozen=True)
class OutboxStats:
    backlog: int
    published: int
    last_progress: float
    error: str | None


def consumer_report(stats: ConsumerStats, now: float) -> dict:
    return {
        "pending": stats.pending, "processed": stats.processed, "rejected": stats.rejected, "redeliveries": stats.redeliveries,
        "failures": stats.failures, "last_progress_s": round(now - stats.last_progress, 1), "error": stats.error,
    }


def outbox_report(stats: OutboxStats, now: float) -> dict:
    return {"backlog": stats.backlog, "published": stats.published, "last_progress_s": round(now - stats.last_progress, 1), "error": stats.error}


def problems(consumers: dict[str, ConsumerStats], outbox: OutboxStats | None, stall_after: float, now: float | None = None) -> list[str]:
    """One line per consumer or outbox that has not progressed for `stall_after` seconds while work waits, or that
    cannot consume at all (its stream went behind it)."""
    now = time.time() if now is None else now
    found = []
    for durable, stats in consumers.items():
        idle = now - stats.last_progress
        if stats.blocked:
            found.append(f"consumer {durable}: {stats.blocked}")
        elif stats.pending > 0 and idle > stall_after:
            cause = f" (last error: {stats.error})" if stats.error else ""
            found.append(f"consumer {durable}: {stats.pending} waiting, no progress for {idle:.0f} s{cause}")
    if outbox is not None and outbox.backlog > 0 and now - outbox.last_progress > stall_after:
        cause = f" (last error: {outbox.error})" if outbox.error else ""
        found.append(f"outbox: {outbox.backlog} events not published, no progress for {now - outbox.last_progress:.0f} s{cause}")
    return found
