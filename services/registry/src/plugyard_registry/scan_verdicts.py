"""The scanner's verdicts, taken from `plugyard.evt.scanner.ScanCompleted` (the subscription "registry-scans" in handlers.py).

Each verdict is recorded on the version with the consumer's stream position in one transaction, so a redelivery or a
restart changes nothing twice. A message that can never be taken (not a scan result, invalid data, an unknown plugin
or version, a CID that is not the version's) is rejected: recorded as MessageRejected and not retried.
"""

from __future__ import annotations

from typing import Any

from plugyard_core.consumer import Delivered
from plugyard_core.streams import event_subject, event_type
from plugyard_core.tracking_es import Reject
from plugyard_registry.application import RegistryApplication
from plugyard_registry.domain import MAX_FINDINGS, Plugin, RegistryRefusal
from plugyard_schemas.cloudevent import CloudEvent
from plugyard_schemas.scanner import Finding, ScanCompleted

DURABLE = "registry-scans"
SCAN_SUBJECT = event_subject("scanner", "ScanCompleted")
SCAN_TYPE = event_type("scanner", "ScanCompleted")


class ScanResult(ScanCompleted):
    """`ScanCompleted` with its findings checked as `Finding` objects, so that what the registry shows is well formed."""

    findings: list[Finding]


def handle_scan(app: RegistryApplication, cloudevent: CloudEvent, delivered: Delivered) -> list[Plugin]:
    if cloudevent.type != SCAN_TYPE:
        raise Reject(f"not a scan result: type {cloudevent.type!r}, expected {SCAN_TYPE!r}")
    if not isinstance(cloudevent.data, dict):
        raise Reject(f"invalid data: a ScanCompleted object is expected, not {type(cloudevent.data).__name__}")
    scan = ScanResult.model_validate(cloudevent.data)  # a ValidationError is rejected by the tracker, naming the fields
    findings: list[dict[str, Any]] = [f.model_dump(mode="json", exclude_none=True) for f in scan.findings[:MAX_FINDINGS]]
    try:
        return app.judge_scan(scan.name, scan.version, scan.cid, scan.verdict, scan.reason, findings, scan.scan_no)
    except RegistryRefusal as exc:
        raise Reject(f"{exc.message} (scan {scan.scan_no} of {scan.name} {scan.version})") from None
