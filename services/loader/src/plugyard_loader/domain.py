"""The loader's write model: one `HostedPlugin` per plugin per host, recording what happened to it there."""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

HOSTED_NAMESPACE = uuid5(NAMESPACE_URL, "https://plugyard.dev/loader")


def hosted_id(host: str, name: str) -> UUID:
    return uuid5(HOSTED_NAMESPACE, f"{host}/{name}")


class HostedPlugin(Aggregate):
    """Events only: the running state lives in the supervisor, which a restart rebuilds from the cache."""

    @staticmethod
    def create_id(host: str, name: str, **_: Any) -> UUID:
        return hosted_id(host, name)

    @event("PluginHosted")
    def __init__(self, host: str, name: str) -> None:
        self.host = host
        self.name = name
        self.violations: dict[str, int] = {}
        self.accounts: dict[str, list[str]] = {}  # version -> accounts (lower case) it was installed for here

    @event("PluginInstalled")
    def installed(self, name: str, version: str, host: str, cid: str, status: str, account: str | None = None) -> None:
        if account is not None:
            accounts = self.__dict__.setdefault("accounts", {})  # histories from before accounts were recorded
            accounts.setdefault(version, []).append(account.lower())

    @event("PluginLoaded")
    def loaded(self, name: str, version: str, host: str, pid: int, layers: dict[str, str], dev: bool) -> None:
        pass

    @event("PluginUnloaded")
    def unloaded(self, name: str, version: str, host: str, reason: str) -> None:
        pass

    @event("PluginReloaded")
    def reloaded(self, name: str, version: str, host: str, previous_version: str, pid: int) -> None:
        pass

    @event("PluginCrashed")
    def crashed(self, name: str, version: str, host: str, returncode: int | None, reason: str, restarts: int, next_start_in_s: float | None) -> None:
        pass

    @event("PluginFailed")
    def failed(self, name: str, version: str, host: str, crashes: int, window_s: float, reason: str) -> None:
        pass

    @event("PermissionViolation")
    def violation(self, name: str, version: str, host: str, permission: str, target: str, detail: str, count: int) -> None:
        self.violations[version] = count
