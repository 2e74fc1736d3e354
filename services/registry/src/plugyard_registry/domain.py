"""The registry's write model: one `Plugin` aggregate per normalized name. Rules only; no I/O.

The aggregate id is derived from the name, so two first publishes of one name collide on version 1 and the
event store's optimistic concurrency lets only one of them claim it.

A version's status starts `pending` and moves when it is judged (`Plugin.judge`): by the scanner, or by a registry
admin whose override stands until another admin changes it.

Signed statements (an owner's yank, deprecation or owner change, an admin's verdict) are accepted once. The event a
statement produces carries `signed_statement` (the digest of its text, when it was issued and when it was used), so
the aggregate, rebuilt from its events, knows every statement it has taken even after a restart, and refuses one
presented again: a captured signature cannot be replayed to move the state back while it is still fresh. A verdict or
deprecation that changes nothing is recorded all the same, since a later change could make it take effect again; a
yank of a yanked version or an owner-add of an owner is not (nothing un-yanks or removes an owner), and repeating one
is answered as a no-op.
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
# What an event records of the signed statement behind it: {"sha256": digest of its text, "issued_at", "used_at"}.
SignedUse = dict[str, str]


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
        self.used_statements: dict[str, str] = {}  # sha256 of a signed statement's text -> when it was used

    def require_unused(self, signed_statement: SignedUse | None) -> None:
        if signed_statement is None:
            return
        used_at = self.used_statements.get(signed_statement["sha256"])
        if used_at is not None:
            raise RegistryRefusal(
                "refused", f"this signed statement was already used at {used_at}: a signed statement is accepted once; sign a new one"
            )

    def _remember(self, signed_statement: SignedUse | None) -> None:
        if signed_statement is not None:
            self.used_statements[signed_statement["sha256"]] = signed_statement["used_at"]

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
            if existing["cid"] == cid or existing.get("sha256") == sha256:  # the same bytes, maybe under their pre-DAG raw CID
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
        scan_no: int | None, signed_statement: SignedUse | None = None,
    ) -> bool:
        """Record a verdict on `version` (VersionCleared, VersionWarned or VersionQuarantined); False when the status does not change.

        A scanner verdict (`override=False`) is recorded only when it changes the status, and never over an admin's
        override: that stands until another override replaces it. An unsigned override (a loader's runtime quarantine) is
        recorded when it changes the status or when it confirms a status the scanner set, which makes that status stick.
        A signed override (an admin's, with `signed_statement`) is always recorded, even when it only repeats the status
        in force: an unrecorded statement could be replayed after a later verdict and set its status again. The scanner's
        verdicts are taken in the order they come (the bus keeps its per-version order).
        """
        if verdict not in VERDICTS:
            raise RegistryRefusal("invalid_request", f"{verdict!r} is not a verdict: {', '.join(VERDICTS)}")
        record = self.versions.get(version)
        if record is None:
            raise RegistryRefusal("not_found", f"{self.name} has no version {version}")
        if record["cid"] != cid:
            raise RegistryRefusal("conflict", f"{self.name} {version} is {record['cid']}, not {cid}: the verdict is for other content")
        self.require_unused(signed_statement)
        overridden = record.get("verdict_override", False)
        settled = overridden and record["status"] == verdict
        if override:
            if settled and signed_statement is None:
                return False
        elif overridden or record["status"] == verdict:
            return False
        record_event = {"cleared": self._version_cleared, "warned": self._version_warned, "quarantined": self._version_quarantined}[verdict]
        record_event(
            name=self.name, version=version, cid=cid, reason=one_line(reason, MAX_REASON_CHARS), findings=list(findings[:MAX_FINDINGS]),
            by=by, override=override, scan_no=scan_no, signed_statement=signed_statement,
        )
        return not settled

    def _verdict(
        self, status: str, version: str, reason: str, findings: list[dict[str, Any]], by: str, override: bool, scan_no: int | None,
        signed_statement: SignedUse | None,
    ) -> None:
        self._remember(signed_statement)
        self.versions[version].update(
            status=status, status_reason=status_reason(status, by, override, reason), findings=findings, verdict_override=override, scan_no=scan_no,
        )

    @event("VersionCleared")
    def _version_cleared(
        self, name: str, version: str, cid: str, reason: str, findings: list[dict[str, Any]], by: str, override: bool, scan_no: int | None,
        signed_statement: SignedUse | None = None,
    ) -> None:
        self._verdict("cleared", version, reason, findings, by, override, scan_no, signed_statement)

    @event("VersionWarned")
    def _version_warned(
        self, name: str, version: str, cid: str, reason: str, findings: list[dict[str, Any]], by: str, override: bool, scan_no: int | None,
        signed_statement: SignedUse | None = None,
    ) -> None:
        self._verdict("warned", version, reason, findings, by, override, scan_no, signed_statement)

    @event("VersionQuarantined")
    def _version_quarantined(
        self, name: str, version: str, cid: str, reason: str, findings: list[dict[str, Any]], by: str, override: bool, scan_no: int | None,
        signed_statement: SignedUse | None = None,
    ) -> None:
        self._verdict("quarantined", version, reason, findings, by, override, scan_no, signed_statement)

    def yank(self, *, version: str, reason: str, by: str, signed_statement: SignedUse | None = None) -> bool:
        self.require_owner(by, "yank")
        if version not in self.versions:
            raise RegistryRefusal("not_found", f"{self.name} has no version {version}")
        self.require_unused(signed_statement)
        # Nothing un-yanks, so a yank of a yanked version can never take effect later: it need not be recorded.
        if self.versions[version]["yanked"]:
            return False
        self._version_yanked(name=self.name, version=version, reason=reason, by=by, signed_statement=signed_statement)
        return True

    @event("VersionYanked")
    def _version_yanked(self, name: str, version: str, reason: str, by: str, signed_statement: SignedUse | None = None) -> None:
        self._remember(signed_statement)
        self.versions[version].update(yanked=True, yank_reason=reason)

    def deprecate(self, *, successor: str | None, reason: str, by: str, signed_statement: SignedUse | None = None) -> bool:
        """Record a deprecation; False when it repeats the one in force (still recorded when signed, like a verdict:
        a later deprecation naming another successor must not be undone by replaying this one)."""
        self.require_owner(by, "deprecate")
        if successor == self.name:
            raise RegistryRefusal("invalid_request", f"{self.name} cannot be its own successor")
        self.require_unused(signed_statement)
        wanted = {"successor": successor, "reason": reason}
        repeated = self.deprecated == wanted
        if repeated and signed_statement is None:
            return False
        self._plugin_deprecated(name=self.name, successor=successor, reason=reason, by=by, signed_statement=signed_statement)
        return not repeated

    @event("PluginDeprecated")
    def _plugin_deprecated(self, name: str, successor: str | None, reason: str, by: str, signed_statement: SignedUse | None = None) -> None:
        self._remember(signed_statement)
        self.deprecated = {"successor": successor, "reason": reason}

    def add_owner(self, *, address: str, by: str, signed_statement: SignedUse | None = None) -> bool:
        self.require_owner(by, "add owners to")
        self.require_unused(signed_statement)
        # Nothing removes an owner yet, so adding a current owner can never take effect later: it need not be recorded.
        # When owner removal comes, record these too (as verdicts are), or a replayed add undoes a removal.
        if address in self.owners:
            return False
        self._owner_added(name=self.name, address=address, by=by, signed_statement=signed_statement)
        return True

    @event("OwnerAdded")
    def _owner_added(self, name: str, address: str, by: str, signed_statement: SignedUse | None = None) -> None:
        self._remember(signed_statement)
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
