"""What one read-only query may use, and the `PLUGYARD_AUDIT_*` variables that set it.

Every service running read-only SQL (the ledger's audit sql, telemetry sql) shares these knobs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from plugyard_core.env_numbers import env_number

MEMORY_ENV = "PLUGYARD_AUDIT_MEMORY_MB"
THREADS_ENV = "PLUGYARD_AUDIT_THREADS"
TIMEOUT_ENV = "PLUGYARD_AUDIT_TIMEOUT_S"
# Room for a GROUP BY over millions of rows, far below the 4.2 GB one unbounded query grew the ledger to.
DEFAULT_MEMORY_MB = 512
# DuckDB's worker threads for the whole database: a heavy query gets two cores, not every core of a host the
# service shares with the others.
DEFAULT_THREADS = 2
# GROUP BY over 10M rows takes under a second; a query still running after 10 s is a runaway holding a slot,
# and the answer comes well inside the CLI's 60 s wait.
DEFAULT_TIMEOUT_S = 10.0


class SqlConfigError(ValueError):
    """A `PLUGYARD_AUDIT_*` variable that does not hold a usable limit."""


@dataclass(frozen=True)
class SqlLimits:
    """What one query may use: `memory_mb` of DuckDB working memory, `timeout_s` of time; `threads` are DuckDB's
    worker threads, set for the whole database (a query's own thread works on it too)."""

    memory_mb: int = DEFAULT_MEMORY_MB
    threads: int = DEFAULT_THREADS
    timeout_s: float = DEFAULT_TIMEOUT_S

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SqlLimits:
        """The limits `PLUGYARD_AUDIT_MEMORY_MB`, `PLUGYARD_AUDIT_THREADS` and `PLUGYARD_AUDIT_TIMEOUT_S` set;
        defaults where unset. Raises SqlConfigError naming a variable whose value is not a usable limit."""
        def number(name: str, default: float, least: float, what: str, whole: bool) -> float:
            return env_number(name, default, least=least, what=what, whole=whole, error=SqlConfigError, environ=environ)

        return cls(
            memory_mb=int(number(MEMORY_ENV, DEFAULT_MEMORY_MB, 16, "a whole number of MiB", True)),
            threads=int(number(THREADS_ENV, DEFAULT_THREADS, 1, "a whole number of threads", True)),
            timeout_s=number(TIMEOUT_ENV, DEFAULT_TIMEOUT_S, 0.1, "a number of seconds", False),
        )
