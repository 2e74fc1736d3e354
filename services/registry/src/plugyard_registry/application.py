"""The registry application: commands on `Plugin` aggregates (signed by owners, verdicts by the scanner or a registry admin)
and the queries its read models answer."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from datetime import UTC, datetime
from typing import Any

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError, Recording
from packaging.utils import canonicalize_name

from plugyard_artifacts.signing import (
    DeprecateStatement,
    OwnerAddStatement,
    ReleaseStatement,
    SignatureRefused,
    VerdictStatement,
    YankStatement,
    recover_signer,
    verify,
)
from plugyard_core.eventstore import PlugyardApplication
from plugyard_registry.admins import ADMINS_ENV
from plugyard_registry.catalog import Catalog
from plugyard_registry.domain import LOADER_PREFIX, SCANNER, Plugin, RegistryRefusal, SignedUse, plugin_id
from plugyard_registry.release import Release

log = logging.getLogger("plugyard.registry")

SERVICE = "registry"


def dev_allow_pending() -> bool:
    return os.environ.get("PLUGYARD_DEV_ALLOW_PENDING", "").strip().lower() in {"1", "true", "yes"}


def signed_use(statement: YankStatement | DeprecateStatement | OwnerAddStatement | VerdictStatement) -> SignedUse:
    """What the event a signed statement produces records of it, so that the plugin refuses the same statement again.

    Why in the plugin's own events rather than a guard in memory: a registry restarted inside a statement's freshness
    window (`verify`'s max_age) would otherwise take a captured one again. The digest of the signed text identifies the
    statement (signatures are not unique: v may be written two ways), and the wire format needs no nonce.
    """
    return {
        "sha256": hashlib.sha256(statement.message_text().encode()).hexdigest(),
        "issued_at": statement.issued_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "used_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


class RegistryApplication(PlugyardApplication):
    service = SERVICE

    def __init__(self, *args: Any, admins: frozenset[str] = frozenset(), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # RPC commands and the scan consumer change the application and its read models from worker threads:
        # whoever changes or reads them holds this lock.
        self.write_lock = threading.RLock()
        self.admins = admins
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
        changed = plugin.yank(version=version, reason=reason, by=signer, signed_statement=signed_use(statement))
        self._save_or_conflict(plugin, name)
        return changed

    def deprecate(self, name: str, successor: str | None, reason: str, issued_at: datetime, signature: str) -> bool:
        plugin = self._existing(name)
        statement = DeprecateStatement(name=name, successor=successor, reason=reason, issued_at=issued_at)
        signer = verify(statement, signature, set(plugin.owners))
        changed = plugin.deprecate(successor=successor, reason=reason, by=signer, signed_statement=signed_use(statement))
        self._save_or_conflict(plugin, name)
        return changed

    def add_owner(self, name: str, address: str, issued_at: datetime, signature: str) -> tuple[Plugin, bool]:
        plugin = self._existing(name)
        statement = OwnerAddStatement(name=name, address=address, issued_at=issued_at)
        signer = verify(statement, signature, set(plugin.owners))
        changed = plugin.add_owner(address=statement.address, by=signer, signed_statement=signed_use(statement))
        self._save_or_conflict(plugin, name)
        return plugin, changed

    def judge_scan(
        self, name: str, version: str, cid: str, verdict: str, reason: str, findings: list[dict[str, Any]], scan_no: int
    ) -> list[Plugin]:
        """Take the scanner's verdict on a version; the plugin to save with the consumer's position, if it changed."""
        plugin = self._existing(canonicalize_name(name))
        changed = plugin.judge(
            version=version, cid=cid, verdict=verdict, reason=reason, findings=findings, by=SCANNER, override=False, scan_no=scan_no,
        )
        return [plugin] if changed else []

    def set_verdict(self, name: str, version: str, verdict: str, reason: str, issued_at: datetime, signature: str) -> tuple[Plugin, bool, str]:
        """A registry admin's signed verdict: it overrides the scanner's, now and for later scans. Returns (plugin, changed, admin)."""
        if not self.admins:
            raise RegistryRefusal("refused", f"this registry has no admins: set {ADMINS_ENV} to the admin addresses (comma-separated) and restart it")
        statement = VerdictStatement(name=name, version=version, verdict=verdict, reason=reason, issued_at=issued_at)
        signer = verify(statement, signature, None)
        if signer not in self.admins:
            raise RegistryRefusal("refused", f"signed by {signer}, which is not a registry admin (the admins are set in {ADMINS_ENV})")
        plugin = self._existing(statement.name)
        record = plugin.versions.get(version)
        if record is None:
            raise RegistryRefusal("not_found", f"{plugin.name} has no version {version}")
        changed = plugin.judge(
            version=version, cid=record["cid"], verdict=verdict, reason=reason, findings=record.get("findings") or [], by=signer,
            override=True, scan_no=None, signed_statement=signed_use(statement),
        )
        self._save_or_conflict(plugin, statement.name)
        return plugin, changed, signer

    def quarantine_at_runtime(self, name: str, version: str, reason: str, host: str) -> tuple[Plugin, bool]:
        """A loader saw the version attempt what it did not declare: quarantine it, sticky like an admin's verdict
        (a later clean scan must not release code seen misbehaving). Only ever towards quarantine, so a loader needs
        no key; clearing it again takes a signed admin verdict."""
        plugin = self._existing(name)
        record = plugin.versions.get(version)
        if record is None:
            raise RegistryRefusal("not_found", f"{plugin.name} has no version {version}")
        changed = plugin.judge(
            version=version, cid=record["cid"], verdict="quarantined", reason=reason, findings=record.get("findings") or [],
            by=f"{LOADER_PREFIX}{host}", override=True, scan_no=None,
        )
        self._save_or_conflict(plugin, name)
        return plugin, changed

    def plugin(self, name: str) -> Plugin:
        return self._existing(name)
