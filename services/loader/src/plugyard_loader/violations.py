"""When runtime violations send a version to quarantine (`PLUGYARD_LOADER_VIOLATION_LIMIT`, default 2; 0 = never)."""

from __future__ import annotations

import os
from dataclasses import dataclass

LIMIT_ENV = "PLUGYARD_LOADER_VIOLATION_LIMIT"
DEFAULT_LIMIT = 2


@dataclass(frozen=True)
class ViolationPolicy:
    limit: int = DEFAULT_LIMIT

    @classmethod
    def from_env(cls) -> ViolationPolicy:
        raw = os.environ.get(LIMIT_ENV, "").strip()
        if not raw:
            return cls()
        if not raw.isdigit():
            raise ValueError(f"{LIMIT_ENV}={raw!r} is not a whole number (0 turns quarantine off)")
        return cls(limit=int(raw))

    def quarantines_at(self, count: int) -> bool:
        """True exactly once per version: when its count of violations on this host reaches the limit."""
        return self.limit > 0 and count == self.limit
