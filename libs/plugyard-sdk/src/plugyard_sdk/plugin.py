"""An optional base class for a plugin's entry point: the lifecycle hooks the host calls."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any


class Plugin:
    """Subclass it (or not: any class with `@action` methods will do) to get the hooks' defaults."""

    def setup(self, context: Mapping[str, Any]) -> None:
        """Called once in the worker before the first call; `context` holds the plugin's name, version and data dir."""

    def teardown(self) -> None:
        """Called once when the worker stops (unload, reload, shutdown); release what `setup` took."""
