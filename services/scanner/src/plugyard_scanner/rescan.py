"""Re-judging stored versions (after a rule or policy change): which ones, and one at a time."""

from __future__ import annotations

from typing import Any

from plugyard_core.rpc import RpcError
from plugyard_scanner.application import ScannerApplication
from plugyard_scanner.index import VersionState
from plugyard_scanner.intake import Fetch, archive_report
from plugyard_scanner.scanning import ScanSettings
from plugyard_schemas.manifest import normalize_name
from plugyard_schemas.scanner import RescanRequest


def targets(app: ScannerApplication, request: RescanRequest) -> list[VersionState]:
    if request.all:
        if request.name or request.version:
            raise RpcError("invalid_request", "give either --all or a NAME[==VERSION], not both")
        return sorted(app.index.versions.values(), key=lambda s: (s.name, s.version))
    if not request.name:
        raise RpcError("invalid_request", "name what to rescan (NAME or NAME==VERSION), or ask for all")
    name = normalize_name(request.name)
    versions = app.index.of_plugin(name)
    if not versions:
        raise RpcError("not_found", f"the scanner has no versions of {name}")
    if request.version is None:
        return versions
    chosen = [s for s in versions if s.version == request.version]
    if not chosen:
        raise RpcError("not_found", f"the scanner has no {name} {request.version} (it has {', '.join(s.version for s in versions)})")
    return chosen


def rescan_one(app: ScannerApplication, fetch: Fetch, settings: ScanSettings, name: str, version: str) -> tuple[dict[str, Any], str | None]:
    """Analyse a stored version again and record the scan; returns the report and the previous verdict."""
    state = app.index.get(name, version)
    if state is None:
        raise RpcError("not_found", f"the scanner has no {name} {version}")
    context = app.index.context_for(name, version, state.publisher)
    report = archive_report(fetch, state.cid, context, settings)
    with app.write_lock:
        record = app.record(name, version)
        if record is None:  # the index and the store disagree only if the store was changed under us
            raise RpcError("not_found", f"the scanner has no record of {name} {version}")
        previous = record.verdict
        record.complete(report, "rescan")
        app.save(record)
    return report, previous
