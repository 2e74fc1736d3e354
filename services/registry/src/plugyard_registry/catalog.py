"""The registry's read model, rebuilt from its own events at start and kept current after every save:
what `info` shows, the search index, and the versions the resolver chooses from."""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from plugyard_registry.domain import status_reason
from plugyard_registry.resolver import CandidateVersion
from plugyard_registry.search import SearchDocument, SearchIndex

PERMISSION_KINDS = ("network", "filesystem", "subprocess", "env", "native")
INSTALLABLE = ("cleared", "warned")
VERDICT_STATUSES = {"VersionCleared": "cleared", "VersionWarned": "warned", "VersionQuarantined": "quarantined"}


@dataclass
class PluginView:
    name: str
    owners: list[str]
    versions: dict[str, dict[str, Any]] = field(default_factory=dict)
    deprecated: dict[str, Any] | None = None


def declared_permissions(manifest: dict[str, Any]) -> tuple[str, ...]:
    permissions = manifest.get("permissions") or {}
    return tuple(kind for kind in PERMISSION_KINDS if permissions.get(kind))


def version_key(text: str) -> tuple[int, Version | str]:
    try:
        return (1, Version(text))
    except InvalidVersion:
        return (0, text)


class Catalog:
    def __init__(self, *, allow_pending: bool = False) -> None:
        self.allow_pending = allow_pending
        self.plugins: dict[str, PluginView] = {}
        self.index = SearchIndex(allow_pending=allow_pending)

    def rebuild(self, app: Any) -> None:
        # The read models are a large, long-lived heap: collecting it during the rebuild cost a quarter of the
        # start-up at 100k versions, and every later full collection paused the service for over a second.
        gc.disable()
        try:
            start = 0
            while True:
                notifications = app.recorder.select_notifications(start=start, limit=1000, inclusive_of_start=False)
                if not notifications:
                    break
                self.apply([app.mapper.to_domain_event(n) for n in notifications], batch=True)
                start = notifications[-1].id
            self.index.flush()  # pay the deferred indexing now, not in the first search
        finally:
            gc.enable()
        gc.collect()
        gc.freeze()

    def apply(self, events: list[Any], *, batch: bool = False) -> None:
        touched: set[tuple[str, str]] = set()
        for event in events:
            kind = type(event).__name__
            name = getattr(event, "name", None)
            if kind == "PluginRegistered":
                self.plugins[event.name] = PluginView(name=event.name, owners=[event.owner])
            elif kind == "VersionPublished":
                self.plugins[name].versions[event.version] = {
                    "cid": event.cid, "publisher": event.publisher, "signature": event.signature, "status": "pending", "status_reason": "waiting for the scanner",
                    "yanked": False, "yank_reason": None, "manifest": event.manifest, "manifest_sha256": event.manifest_sha256,
                    "size": event.size, "sha256": event.sha256, "published_at": event.published_at,
                    "findings": [], "verdict_override": False, "scan_no": None,
                }
                touched.add((name, event.version))
            elif kind in VERDICT_STATUSES:
                status = VERDICT_STATUSES[kind]
                self.plugins[name].versions[event.version].update(
                    status=status, status_reason=status_reason(status, event.by, event.override, event.reason), findings=event.findings,
                    verdict_override=event.override, scan_no=event.scan_no,
                )
                touched.add((name, event.version))
            elif kind == "VersionYanked":
                self.plugins[name].versions[event.version].update(yanked=True, yank_reason=event.reason)
                touched.add((name, event.version))
            elif kind == "PluginDeprecated":
                self.plugins[name].deprecated = {"successor": event.successor, "reason": event.reason}
            elif kind == "OwnerAdded":
                self.plugins[name].owners.append(event.address)
        self.index.upsert_many(self.search_document(n, v) for n, v in sorted(touched))

    def search_document(self, name: str, version: str) -> SearchDocument:
        record = self.plugins[name].versions[version]
        info = record["manifest"].get("plugin", {})
        return SearchDocument(
            name=name, version=version, summary=info.get("summary") or "", description=info.get("description") or "",
            keywords=tuple(info.get("keywords") or ()), categories=tuple(info.get("categories") or ()),
            license=info.get("license"), authors=tuple(info.get("authors") or ()), publisher=record["publisher"],
            permissions=declared_permissions(record["manifest"]), host=info.get("host") or "",
            status=record["status"], yanked=record["yanked"], published_at=datetime.fromisoformat(record["published_at"]),
        )

    def get(self, name: str) -> PluginView | None:
        return self.plugins.get(canonicalize_name(name))

    def installable(self, record: dict[str, Any]) -> bool:
        return not record["yanked"] and (record["status"] in INSTALLABLE or (self.allow_pending and record["status"] == "pending"))

    def latest_installable(self, view: PluginView) -> str | None:
        candidates = [v for v, record in view.versions.items() if self.installable(record)]
        return max(candidates, key=version_key) if candidates else None

    def versions(self, name: str) -> list[CandidateVersion]:
        """The resolver's view of one plugin: every stored version."""
        view = self.plugins.get(canonicalize_name(name))
        if view is None:
            return []
        result = []
        for version, record in view.versions.items():
            info = record["manifest"].get("plugin", {})
            result.append(
                CandidateVersion(
                    name=view.name, version=Version(version), requires=tuple(Requirement(r) for r in info.get("requires") or ()),
                    host=SpecifierSet(info.get("host") or ""), status=record["status"], yanked=record["yanked"], cid=record["cid"],
                    status_reason=record.get("status_reason"),
                )
            )
        return result
