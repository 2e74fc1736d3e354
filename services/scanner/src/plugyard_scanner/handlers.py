"""The scanner's RPCs: plan and run rescans, and a version's scan status. Thin: decode, call, encode."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from faststream.nats import NatsRouter

from plugyard_core.rpc import RpcError
from plugyard_core.streams import rpc_subject
from plugyard_scanner.application import SERVICE, ScannerApplication
from plugyard_scanner.intake import Fetch
from plugyard_scanner.rescan import rescan_one, targets
from plugyard_scanner.scanning import ScanSettings
from plugyard_schemas.manifest import normalize_name
from plugyard_schemas.scanner import (
    RescanPlanReply,
    RescanReply,
    RescanRequest,
    RescanTarget,
    ScanStatusReply,
    ScanStatusRequest,
)


@dataclass
class ScannerContext:
    app: ScannerApplication | None
    settings: ScanSettings | None = None
    fetch: Fetch | None = None


def build_router(ctx: ScannerContext | None) -> NatsRouter:
    router = NatsRouter()

    @router.subscriber(rpc_subject(SERVICE, "rescan-plan"), title="scanner.rescan-plan")
    async def rescan_plan(request: RescanRequest) -> RescanPlanReply:
        """The stored versions a rescan request covers (the CLI then rescans them one by one, showing progress)."""
        chosen = targets(ctx.app, request)
        return RescanPlanReply(targets=[RescanTarget(name=s.name, version=s.version, cid=s.cid) for s in chosen])

    @router.subscriber(rpc_subject(SERVICE, "rescan"), title="scanner.rescan")
    async def rescan(request: RescanRequest) -> RescanReply:
        """Analyse one stored version again under the current rules and policy; records a new ScanCompleted."""
        if request.all or not request.name or not request.version:
            raise RpcError("invalid_request", "rescan takes one NAME and VERSION; use rescan-plan to list what to rescan")
        name = normalize_name(request.name)
        report, previous = await asyncio.to_thread(rescan_one, ctx.app, ctx.fetch, ctx.settings, name, request.version)
        return RescanReply(
            name=name, version=request.version, verdict=report["verdict"], previous=previous, reason=report["reason"],
            findings_total=len(report["findings"]),
        )

    @router.subscriber(rpc_subject(SERVICE, "status"), title="scanner.status")
    async def status(request: ScanStatusRequest) -> ScanStatusReply:
        """The latest scan of a version: verdict, reason and findings."""
        name = normalize_name(request.name)
        state = ctx.app.index.get(name, request.version)
        if state is None:
            raise RpcError("not_found", f"the scanner has not received {name} {request.version}")
        return ScanStatusReply(
            name=name, version=state.version, cid=state.cid, verdict=state.verdict, reason=state.reason, findings=state.findings, scans=state.scans
        )

    return router
