"""The plugin's logger. The host's worker forwards every record under this prefix to the host, where it is
shown and kept with the plugin's name and version."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    import logging

LOGGER_PREFIX = "plugyard.plugin"


def get_logger(name: str | None = None) -> logging.Logger:
    """A logger whose lines reach the host: `get_logger(__name__)` in a plugin module."""
    import logging  # here, not at import time: a worker whose plugin never logs does not pay for it

    return logging.getLogger(f"{LOGGER_PREFIX}.{name}" if name else LOGGER_PREFIX)
