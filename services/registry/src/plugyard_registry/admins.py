"""Registry admins: the addresses that may set a version's verdict by hand, read at start from `PLUGYARD_REGISTRY_ADMINS`.

The variable holds comma-separated 0x addresses; an invalid one stops the registry at start, naming it. Unset or
empty means no admins: every verdict request is then refused.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime

from plugyard_artifacts.keys import normalize_address
from plugyard_artifacts.signing import DEFAULT_MAX_AGE

ADMINS_ENV = "PLUGYARD_REGISTRY_ADMINS"


class AdminConfigError(ValueError):
    """`PLUGYARD_REGISTRY_ADMINS` holds something that is not an address."""


def load_admins(environ: Mapping[str, str] | None = None) -> frozenset[str]:
    """The admins' EIP-55 checksum addresses; empty when the variable is unset or blank."""
    text = (os.environ if environ is None else environ).get(ADMINS_ENV, "")
    admins = set()
    for number, part in enumerate(text.split(","), start=1):
        if not part.strip():
            continue
        try:
            admins.add(normalize_address(part))
        except ValueError as exc:
            raise AdminConfigError(f"{ADMINS_ENV}: entry {number} {part.strip()!r} is not a valid address ({exc})") from None
    return frozenset(admins)


class ReplayGuard:
    """The signed verdict texts accepted while they are fresh enough to verify, so that replaying one is caught.

    Kept in memory: a restart forgets them, which leaves at most one freshness window (`DEFAULT_MAX_AGE`) open.
    """

    def __init__(self) -> None:
        self._accepted: dict[str, datetime] = {}

    def seen(self, text: str) -> bool:
        return text in self._accepted

    def remember(self, text: str, issued_at: datetime) -> None:
        # A statement older than DEFAULT_MAX_AGE no longer verifies, so it need not be remembered either.
        horizon = datetime.now(UTC) - DEFAULT_MAX_AGE
        self._accepted = {t: at for t, at in self._accepted.items() if at >= horizon}
        self._accepted[text] = issued_at
