"""The registry's write model: one `Plugin` aggregate per normalized name. Rules only; no I/O.

The aggregate id is derived from the name, so two first publishes of one name collide on version 1 and the
event store's optimistic concurrency lets only one of them claim it.

A version's status starts `pending` and moves when it is judged (`Plugin.judge`): by the scanner, or by a registry
admin whose override stands until another admin changes it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

PLUGIN_ID_NAMESPACE = uuid5(NAMESPACE_URL, "https://plugyard.dev/plugins")
VERDICTS = ("cleared", "warned", "quarantined")
MAX_FINDINGS = 20  # in the event and the version record; the scanner keeps them all
MAX_REASON_CHARS = 500
SCANNER = "scanner"


class RegistryRefusal(ValueError):
    """A command the rules refuse; `code` is the RPC error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def plugin_id(name: str) -> UUID:
    return uuid5(PLUGIN_ID_NAMESPACE, name)


class Plugin(Aggregate):
    @staticmethod
    def create_id(name: str, **_: Any) -> UUID:
        return plugin_id(name)

    @event("PluginRegistered")
    def __init__(self, name: str, owner: str) -> None:
        self.name = name
        self.owners: list[str] = [owner]
        self.versions: dict[str, dict[str, Any]] = {}
        self.deprecated: dict[str, Any] | None = None

    def require_owner(self, address: str, action: str) -> None:
        if address not in self.owners:
            raise RegistryRefusal("refused", f"{address} may not {action} {self.name}: owners are {', '.join(self.owners)}")

    def publish(
        self, *, version: str, cid: str, publisher: str, signature: str, manifest: dict[str, Any], manifest_sha256: str, size: int, sha256: str,
        published_at: str,
    ) -> bool:
        """Record a version; False (no event) when the same content is published again."""
        self.require_owner(publisher, "publish versions of")
        existing = self.versions.get(version)
        if existing is not None:
            if existing["cid"] == cid:
                return False
            raise RegistryRefusal(
                "conflict",
                f"{self.name} {version} is already published with other content ({existing['cid']}); versions are immutable: publish a new version",
            )
        self._version_published(
            name=self.name, version=version, cid=cid, publisher=publisher, signature=signature, manifest=manifest,
            manifest_sha256=manifest_sha256, size=size, sha256=sha256, published_at=published_at,
        )
        return True

    @event("VersionPublished")
    def _version_published(
        self, name: str, version: str, cid: str, publisher: str, signature: str, manifest: dict[str, Any], manifest_sha256: str, size: int,
        sha256: str, published_at: str,
    ) -> None:
        self.versions[version] = {
            "cid": cid, "publisher": publisher, "signature": signature, "status": "pending", "status_reason": "waiting for the scanner", "yanked": False,
            "manifest": manifest, "manifest_sha256": manifest_sha256, "size": size, "sha256": sha256, "published_at": published_at,
            "findings": [], "verdict_override": False, "scan_no": None,
        }

    def judge(
        self, *, version: str, cid: str, verdict: str, reason: str, findings: list[dict[str, Any]], by: str, override: bool,
        scan_no: int | None,
    ) -> bool:
        """Record a verdict on `version` (VersionCleared, VersionWarned or VersionQuarantined); False when nothing changes.

        A scanner verdict (`override=False`) is recorded only when it changes the status, and never over an admin's
        override: that stands until another override replaces it. An override is recorded when it changes the status
        or when it confirms a status the scanner set, which makes that status stick. Replaying a verdict therefore
        records nothing. The scanner's verdicts are taken in the order they come (the bus keeps its per-version order).
        """
        if verdict not in VERDICTS:
            raise RegistryRefusal("invalid_request", f"{verdict!r} is not a verdict: {', '.join(VERDICTS)}")
        record = self.versions.get(version)
        if record is None:
            raise RegistryRefusal("not_found", f"{self.name} has no version {version}")
        if record["cid"] != cid:
            raise RegistryRefusal("conflict", f"{self.name} {version} is {record['cid']}, not {cid}: the verdict is for other content")
        overridden = record.get("verdict_override", False)
        if override:
            if overridden and record["status"] == verdict:
                return False
        elif overridden or record["status"] == verdict:
            return False
        record_event = {"cleared": self._version_cleared, "warned": self._version_warned, "quarantined": self._version_quarantined}[verdict]
        record_event(
            name=self.name, version=version, cid=cid, reason=one_line(reason, MAX_REASON_CHARS), findings=list(findings[:MAX_FINDINGS]),
            by=by, override=override, scan_no=scan_no,
        )
        return True

    def _verdict(self, status: str, version: str, reason: str, findings: list[dict[str, Any]], by: str, override: bool, scan_no: int | None) -> None:
        self.versions[version].update(
            status=status, status_reason=status_reason(status, by, override, reason), findings=findings, verdict_override=override, scan_no=scan_no,
        )

    @event("VersionCleared")
    def _version_cleared(
        self, name: str, version: str, cid: str, reason: str, findings: list[dict[str, Any]], by: str, override: bool, scan_no: int | None,
    ) -> None:
        self._verdict("cleared", version, reason, findings, by, override, scan_no)

    @event("VersionWarned")
    def _version_warned(
        self, name: str, version: str, cid: str, reason: str, findings: list[dict[str, Any]], by: str, override: bool, scan_no: int | None,
    ) -> None:
        self._verdict("warned", version, reason, findings, by, override, scan_no)

    @event("VersionQuarantined")
    def _version_quarantined(
        self, name: str, version: str, cid: str, reason: str, findings: list[dict[str, Any]], by: str, override: bool, scan_no: int | None,
    ) -> None:
        self._verdict("quarantined", version, reason, findings, by, override, scan_no)

    def yank(self, *, version: str, reason: str, by: str) -> bool:
        self.require_owner(by, "yank")
        if version not in self.versions:
            raise RegistryRefusal("not_found", f"{self.name} has no version {version}")
        if self.versions[version]["yanked"]:
            return False
        self._version_yanked(name=self.name, version=version, reason=reason, by=by)
        return True

    @event("VersionYanked")
    def _version_yanked(self, name: str, version: str, reason: str, by: str) -> None:
        self.versions[version].update(yanked=True, yank_reason=reason)

    def deprecate(self, *, successor: str | None, reason: str, by: str) -> bool:
        self.require_owner(by, "deprecate")
        if successor == self.name:
            raise RegistryRefusal("invalid_request", f"{self.name} cannot be its own successor")
        wanted = {"successor": successor, "reason": reason}
        if self.deprecated == wanted:
            return False
        self._plugin_deprecated(name=self.name, successor=successor, reason=reason, by=by)
        return True

    @event("PluginDeprecated")
    def _plugin_deprecated(self, name: str, successor: str | None, reason: str, by: str) -> None:
        self.deprecated = {"successor": successor, "reason": reason}

    def add_owner(self, *, address: str, by: str) -> bool:
        self.require_owner(by, "add owners to")
        if address in self.owners:
            return False
        self._owner_added(name=self.name, address=address, by=by)
        return True

    @event("OwnerAdded")
    def _owner_added(self, name: str, address: str, by: str) -> None:
        self.owners.append(address)


LOADER_PREFIX = "loader:"  # `by` of a quarantine a loader asked for after runtime violations


def status_reason(status: str, by: str, override: bool, reason: str) -> str:
    """The status reason a person reads, naming who decided: "quarantined by the scanner: …", "cleared by registry admin 0x…: …"."""
    if by.startswith(LOADER_PREFIX):
        who = f"the loader on {by[len(LOADER_PREFIX):]}"
    else:
        who = f"registry admin {by}" if override else ("the scanner" if by == SCANNER else by)
    return f"{status} by {who}: {reason}"


def one_line(text: str, limit: int) -> str:
    """`text` as one line of at most `limit` characters (runs of whitespace and control characters become one space)."""
    flat = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def published_at(record: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(record["published_at"])
