"""Speaking as the scanner in tests: `ScanCompleted` CloudEvents on the bus, and waiting until the registry took them."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from plugyard_core.eventstore import PlugyardApplication
from plugyard_core.rpc import call
from plugyard_core.streams import rpc_subject
from plugyard_registry.scan_verdicts import SCAN_SUBJECT, SCAN_TYPE
from plugyard_schemas.rpc import HealthReply, HealthRequest


def finding(rule: str = "PY-EXEC-DECODED", severity: str = "critical", path: str | None = "pkg/__init__.py", line: int | None = 3,
            message: str = "Runs code decoded from base64") -> dict[str, Any]:
    return {"rule": rule, "category": "behaviour", "severity": severity, "confidence": "high", "message": message, "path": path, "line": line}


def scan_data(name: str, version: str, cid: str, verdict: str, reason: str, *, findings: list[dict] | None = None, scan_no: int = 1) -> dict:
    findings = findings or []
    return {
        "name": name, "version": version, "cid": cid, "verdict": verdict, "reason": reason, "findings": findings,
        "findings_total": len(findings), "capabilities": [], "scanner_version": "0.1.0", "rules_version": "1",
        "policy_sha256": "0" * 64, "duration_ms": 12, "trigger": "published" if scan_no == 1 else "rescan", "scan_no": scan_no,
    }


def cloudevent(data: Any, *, event_id: str | None = None, type_: str = SCAN_TYPE, subject: str | None = None) -> bytes:
    """A structured-mode CloudEvent as the outbox relay writes one."""
    envelope = {
        "specversion": "1.0", "id": event_id or str(uuid.uuid4()), "source": "plugyard/scanner", "type": type_,
        "time": datetime.now(UTC).isoformat(), "datacontenttype": "application/json",
        "aggregateid": str(uuid.uuid4()), "aggregateversion": 1, "data": data,
    }
    if subject:
        envelope["subject"] = subject
    return json.dumps(envelope).encode()


async def send_scan(nc, payload: bytes, *, msg_id: str | None = None):
    """Publish on the scanner's subject; the PubAck (`duplicate` tells whether the stream dropped it)."""
    return await nc.jetstream().publish(SCAN_SUBJECT, payload, headers={"Nats-Msg-Id": msg_id or str(uuid.uuid4())})


async def scan_counts(nc) -> tuple[int, int]:
    scans = (await call(nc, rpc_subject("registry", "health"), HealthRequest(), HealthReply)).consumers.get("registry-scans")
    return (scans.processed, scans.rejected) if scans else (0, 0)


async def until_scans(nc, processed: int, *, timeout: float = 15.0) -> tuple[int, int]:
    """Wait until the registry's scan consumer has committed `processed` messages (accepted or rejected)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        counts = await scan_counts(nc)
        if counts[0] >= processed:
            return counts
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"the registry processed {counts[0]} scan messages, not {processed}")
        await asyncio.sleep(0.05)


def stored_events(data_dir: Path) -> list[Any]:
    """Every event in the registry's own store, read beside the running service."""
    app = PlugyardApplication(service="registry", data_dir=data_dir)
    try:
        return [app.mapper.to_domain_event(n) for n in app.recorder.select_notifications(start=None, limit=10_000)]
    finally:
        app.close()


def stored_kinds(data_dir: Path, *kinds: str) -> list[Any]:
    return [event for event in stored_events(data_dir) if type(event).__name__ in kinds]
