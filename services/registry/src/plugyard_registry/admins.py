"""Registry admins: the addresses that may set a version's verdict by hand, read at start from `PLUGYARD_REGISTRY_ADMINS`.

The variable holds comma-separated 0x addresses; an invalid one stops the registry at start, naming it. Unset or
empty means no admins: every verdict request is then refused.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from plugyard_artifacts.keys import normalize_address

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

