"""The consumer of `VersionPublished`: fetch the archive by CID (checked against it), analyse it, record `ScanCompleted`.

The scan happens inside the tracked transaction's batch, so the scan record and the stream position are
saved together: a crash before the save scans the version again, never twice on record.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from nats.js import JetStreamContext

from plugyard_core.artifact_store import ArtifactMismatch, ArtifactMissing, ArtifactTooLarge, get_verified_artifact
from plugyard_core.consumer import Delivered
from plugyard_core.tracking_es import Reject
from plugyard_scanner.application import ScannerApplication
from plugyard_scanner.domain import ScanRecord
from plugyard_scanner.scanning import ScanSettings, mismatched_archive_report, missing_archive_report, scan_archive
from plugyard_schemas.cloudevent import CloudEvent
from plugyard_schemas.registry_events import VersionPublished

log = logging.getLogger("plugyard.scanner")

PUBLISHED_TYPE = "dev.plugyard.registry.VersionPublished"
FETCH_TIMEOUT_S = 60.0

Fetch = Callable[[str], bytes]


def fetcher(js: JetStreamContext, loop: asyncio.AbstractEventLoop) -> Fetch:
    """Fetch an archive, checked against its CID, from a worker thread through the service's event loop."""

    def fetch(cid: str) -> bytes:
        return asyncio.run_coroutine_threadsafe(get_verified_artifact(js, cid), loop).result(FETCH_TIMEOUT_S)

    return fetch


def archive_report(fetch: Fetch, cid: str, context: Any, settings: ScanSettings) -> dict[str, Any]:
    try:
        data = fetch(cid)
    except ArtifactMismatch as exc:  # not the version's content: never scanned, and recorded as a quarantine
        log.error("ARCHIVE MISMATCH, not scanned: %s", exc)
        return mismatched_archive_report(str(exc), settings)
    except (ArtifactMissing, ArtifactTooLarge) as exc:
        return missing_archive_report(str(exc), settings)
    return scan_archive(data, context, settings)


def version_published_handler(fetch: Fetch, settings: ScanSettings):
    def handle(app: ScannerApplication, cloudevent: CloudEvent, _delivered: Delivered) -> list[ScanRecord]:
        if cloudevent.type != PUBLISHED_TYPE:
            raise Reject(f"the scanner consumes {PUBLISHED_TYPE}, not {cloudevent.type}")
        published = VersionPublished.model_validate(cloudevent.data)
        existing = app.record(published.name, published.version)
        if existing is not None:
            if existing.cid != published.cid:
                raise Reject(f"{published.name} {published.version} was received before as {existing.cid}, now as {published.cid}")
            return []  # a redelivery: this version's scan is on record
        context = app.index.context_for(published.name, published.version, published.publisher)
        report = archive_report(fetch, published.cid, context, settings)
        record = ScanRecord(name=published.name, version=published.version, cid=published.cid, publisher=published.publisher)
        record.complete(report, "published")
        log.info("%s %s: %s (%s)", published.name, published.version, report["verdict"], report["reason"])
        return [record]

    return handle
