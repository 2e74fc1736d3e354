"""The loader application: records, per host and plugin, every install, load, reload, crash and violation."""

from __future__ import annotations

import threading
from typing import Any

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import DomainEventProtocol

from plugyard_core import settings
from plugyard_core.eventstore import PlugyardApplication
from plugyard_loader.domain import HostedPlugin, hosted_id

SERVICE = "loader"


class LoaderApplication(PlugyardApplication):
    service = SERVICE

    def __init__(self, env: dict[str, str] | None = None, *, host: str | None = None, **kwargs: Any) -> None:
        # eventsourcing's aggregate cache: each event recorded (every load, reload, crash, violation) would otherwise
        # read the plugin's whole history on this host again.
        super().__init__({"AGGREGATE_CACHE_MAXSIZE": "1000", **(env or {})}, **kwargs)
        self.host = host or settings.loader_host()
        self._lock = threading.Lock()

    def record(self, name: str, what: str, **fields: Any) -> None:
        """Append one event (`what` is the aggregate's method: installed, loaded, ...) to the plugin's history here."""
        with self._lock:
            try:
                plugin: HostedPlugin = self.repository.get(hosted_id(self.host, name))
            except AggregateNotFoundError:
                plugin = HostedPlugin(host=self.host, name=name)
            getattr(plugin, what)(name=name, host=self.host, **fields)
            self.save(plugin)

    def install_refused(self, name: str, version: str, reason: str) -> None:
        """A version that was not installed because its archive is not what it claims to be (no worker ever ran)."""
        self.record(name, "failed", version=version, crashes=0, window_s=0.0, reason=reason)

    def installed_for(self, name: str, version: str, account: str) -> bool:
        """Whether this host already recorded an install of that version for that account."""
        try:
            plugin: HostedPlugin = self.repository.get(hosted_id(self.host, name))
        except AggregateNotFoundError:
            return False
        return account.lower() in getattr(plugin, "accounts", {}).get(version, [])

    def violations(self, name: str, version: str) -> int:
        try:
            plugin: HostedPlugin = self.repository.get(hosted_id(self.host, name))
        except AggregateNotFoundError:
            return 0
        return plugin.violations.get(version, 0)

    def cloudevent_subject(self, event: DomainEventProtocol[Any]) -> str | None:
        name, version = getattr(event, "name", None), getattr(event, "version", None)
        return f"{name}=={version}" if name and version else getattr(event, "name", None)
