"""`data` of the registry's events, published as `dev.plugyard.registry.<Name>` on `plugyard.evt.registry.<Name>`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _EventData(BaseModel):
    # The relay adds eventsourcing's own bookkeeping fields; consumers rely only on the ones named here.
    model_config = ConfigDict(extra="allow")


class SignedStatementUse(BaseModel):
    """The signed statement a person's action carried, recorded so that it is taken once, across restarts."""

    sha256: str = Field(description="sha256 of the signed statement's text")
    issued_at: str
    used_at: str


class _SignedAction(_EventData):
    signed_statement: SignedStatementUse | None = Field(default=None, description="Set when a signed statement caused the event")


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


class VersionYanked(_SignedAction):
    name: str
    version: str
    reason: str
    by: str


class PluginDeprecated(_SignedAction):
    name: str
    successor: str | None
    reason: str
    by: str


class OwnerAdded(_SignedAction):
    name: str
    address: str
    by: str


class _VerdictRecorded(_SignedAction):
    name: str
    version: str
    cid: str
    reason: str = Field(description="Why, in one line a person can read")
    findings: list[dict[str, Any]] = Field(description="The most severe findings behind it (scanner Finding objects), at most 20")
    by: str = Field(description="'scanner', or the registry admin address that overrode the verdict")
    override: bool = Field(description="True when a registry admin set this verdict by hand; the scanner's later verdicts do not move it")
    scan_no: int | None = Field(description="The scanner's scan number behind this verdict; None for an override")


class VersionCleared(_VerdictRecorded):
    """The version's code was judged clean: it is installable."""


class VersionWarned(_VerdictRecorded):
    """The version is installable, with findings shown to whoever installs it."""


class VersionQuarantined(_VerdictRecorded):
    """The version must not resolve, install or run; every loader stops its workers."""


REGISTRY_EVENTS: dict[str, type[_EventData]] = {
    model.__name__: model
    for model in (
        PluginRegistered, VersionPublished, VersionYanked, PluginDeprecated, OwnerAdded, VersionCleared, VersionWarned, VersionQuarantined,
    )
}
