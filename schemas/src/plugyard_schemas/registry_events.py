"""`data` of the registry's events, published as `dev.plugyard.registry.<Name>` on `plugyard.evt.registry.<Name>`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class _EventData(BaseModel):
    # The relay adds eventsourcing's own bookkeeping fields; consumers rely only on the ones named here.
    model_config = ConfigDict(extra="allow")


class PluginRegistered(_EventData):
    """The first signed publish of a name claimed it for `owner`."""

    name: str
    owner: str


class VersionPublished(_EventData):
    """A signed version was recorded, pending scan."""

    name: str
    version: str
    cid: str
    publisher: str
    signature: str
    manifest: dict[str, Any]
    manifest_sha256: str
    size: int
    sha256: str
    published_at: str


class VersionYanked(_EventData):
    name: str
    version: str
    reason: str
    by: str


class PluginDeprecated(_EventData):
    name: str
    successor: str | None
    reason: str
    by: str


class OwnerAdded(_EventData):
    name: str
    address: str
    by: str


REGISTRY_EVENTS: dict[str, type[_EventData]] = {
    model.__name__: model for model in (PluginRegistered, VersionPublished, VersionYanked, PluginDeprecated, OwnerAdded)
}
