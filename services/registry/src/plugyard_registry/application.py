"""The registry application: commands on `Plugin` aggregates (signed by owners) and the queries its read models answer."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from typing import Any

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError, Recording

from plugyard_artifacts.signing import (
    DeprecateStatement,
    OwnerAddStatement,
    ReleaseStatement,
    SignatureRefused,
    YankStatement,
    recover_signer,
    verify,
)
from plugyard_core.eventstore import PlugyardApplication
from plugyard_registry.catalog import Catalog
from plugyard_registry.domain import Plugin, RegistryRefusal, plugin_id
from plugyard_registry.release import Release

log = logging.getLogger("plugyard.registry")

SERVICE = "registry"


def dev_allow_pending() -> bool:
    return os.environ.get("PLUGYARD_DEV_ALLOW_PENDING", "").strip().lower() in {"1", "true", "yes"}


class RegistryApplication(PlugyardApplication):
    service = SERVICE

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.allow_pending = dev_allow_pending()
        self.catalog = Catalog(allow_pending=self.allow_pending)
        self.catalog.rebuild(self)

    def cloudevent_subject(self, event: Any) -> str | None:
        name = getattr(event, "name", None)
        version = getattr(event, "version", None)
        return f"{name}=={version}" if name and version else name

    def _notify(self, recordings: list[Recording[Any]]) -> None:
        # The read models follow every event this (single-writer) application records.
        self.catalog.apply([recording.domain_event for recording in recordings])

    def _get(self, name: str) -> Plugin | None:
        try:
            return self.repository.get(plugin_id(name))
        except AggregateNotFoundError:
            return None

    def _existing(self, name: str) -> Plugin:
        plugin = self._get(name)
        if plugin is None:
            raise RegistryRefusal("not_found", f"no plugin named {name}")
        return plugin

    def publish(self, release: Release, publisher: str, signature: str) -> tuple[Plugin, bool]:
        statement = ReleaseStatement(
            name=release.name, version=release.version, cid=release.cid, manifest_sha256=release.manifest_sha256
        )
        signer = recover_signer(statement, signature)
        if signer != publisher:
            raise SignatureRefused(
                f"the signature does not cover this archive and manifest (it recovers {signer}, not the publisher {publisher}): tampered upload, or signed for other content"
            )
        plugin = self._get(release.name)
        if plugin is None:
            plugin = Plugin(name=release.name, owner=signer)
        else:
            verify(statement, signature, set(plugin.owners))
        created = plugin.publish(
            version=release.version, cid=release.cid, publisher=signer, signature=signature, manifest=release.manifest_data,
            manifest_sha256=release.manifest_sha256, size=release.size, sha256=release.sha256,
            published_at=datetime.now(UTC).isoformat(),
        )
        self._save_or_conflict(plugin, release.name)
        return plugin, created

    def _save_or_conflict(self, plugin: Plugin, name: str) -> None:
        try:
            self.save(plugin)
        except IntegrityError:
            raise RegistryRefusal("conflict", f"{name} changed while this request ran (another publish?); try again") from None

    def yank(self, name: str, version: str, reason: str, issued_at: datetime, signature: str) -> bool:
        plugin = self._existing(name)
        statement = YankStatement(name=name, version=version, reason=reason, issued_at=issued_at)
        signer = verify(statement, signature, set(plugin.owners))
        changed = plugin.yank(version=version, reason=reason, by=signer)
        self._save_or_conflict(plugin, name)
        return changed

    def deprecate(self, name: str, successor: str | None, reason: str, issued_at: datetime, signature: str) -> bool:
        plugin = self._existing(name)
        statement = DeprecateStatement(name=name, successor=successor, reason=reason, issued_at=issued_at)
        signer = verify(statement, signature, set(plugin.owners))
        changed = plugin.deprecate(successor=successor, reason=reason, by=signer)
        self._save_or_conflict(plugin, name)
        return changed

    def add_owner(self, name: str, address: str, issued_at: datetime, signature: str) -> tuple[Plugin, bool]:
        plugin = self._existing(name)
        statement = OwnerAddStatement(name=name, address=address, issued_at=issued_at)
        signer = verify(statement, signature, set(plugin.owners))
        changed = plugin.add_owner(address=statement.address, by=signer)
        self._save_or_conflict(plugin, name)
        return plugin, changed

    def plugin(self, name: str) -> Plugin:
        return self._existing(name)
