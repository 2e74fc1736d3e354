"""The scanner's write model: one `ScanRecord` per plugin version, holding every scan of it. Rules only."""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from plugyard_schemas.scanner import MAX_FINDINGS_IN_EVENT

RECORD_NAMESPACE = uuid5(NAMESPACE_URL, "https://plugyard.dev/scans")


def record_id(name: str, version: str) -> UUID:
    return uuid5(RECORD_NAMESPACE, f"{name}=={version}")


class ScanRecord(Aggregate):
    @staticmethod
    def create_id(name: str, version: str, **_: Any) -> UUID:
        return record_id(name, version)

    @event("VersionReceived")
    def __init__(self, name: str, version: str, cid: str, publisher: str) -> None:
        self.name = name
        self.plugin_version = version  # `version` is the aggregate's own event count
        self.cid = cid
        self.publisher = publisher
        self.scans = 0
        self.verdict: str | None = None
        self.reason: str | None = None
        self.findings: list[dict[str, Any]] = []
        self.capabilities: list[str] | None = None

    def complete(self, report: dict[str, Any], trigger: str) -> None:
        """Record one finished analysis (a `ScanReport.as_json()`), on publish or on a rescan."""
        findings = report["findings"]
        self._scan_completed(
            name=self.name, version=self.plugin_version, cid=self.cid, verdict=report["verdict"], reason=report["reason"],
            findings=findings[:MAX_FINDINGS_IN_EVENT], findings_total=len(findings), capabilities=list(report["capabilities"]),
            scanner_version=report["scanner_version"], rules_version=report["rules_version"], policy_sha256=report["policy_sha256"],
            duration_ms=int(report["duration_ms"]), trigger=trigger, scan_no=self.scans + 1,
        )

    @event("ScanCompleted")
    def _scan_completed(
        self, name: str, version: str, cid: str, verdict: str, reason: str, findings: list[dict[str, Any]], findings_total: int,
        capabilities: list[str], scanner_version: str, rules_version: str, policy_sha256: str, duration_ms: int, trigger: str, scan_no: int,
    ) -> None:
        self.scans = scan_no
        self.verdict = verdict
        self.reason = reason
        self.findings = findings
        self.capabilities = capabilities
