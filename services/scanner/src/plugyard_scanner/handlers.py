"""The scanner's RPCs: plan and run rescans, and a version's scan status. Thin: decode, call, encode."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from faststream.nats import NatsRouter

from plugyard_core.rpc import RpcError
from plugyard_core.streams import event_subject, rpc_subject
from plugyard_core.subscriptions import Subscription
from plugyard_core.tracking_es import EventSourcedTracker
from plugyard_scanner.application import SERVICE, ScannerApplication
from plugyard_scanner.intake import Fetch, version_published_handler
from plugyard_scanner.rescan import rescan_one, targets
from plugyard_scanner.scanning import ScanSettings
from plugyard_schemas.manifest import normalize_name
from plugyard_schemas.registry_events import VersionPublished
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


DURABLE = "scanner"
# Each message costs a whole analysis (seconds): small batches, and a long ack wait so none is redelivered mid-batch.
BATCH_SIZE = 2
ACK_WAIT_S = 600.0


def subscriptions(ctx: ScannerContext | None = None) -> list[Subscription]:
    """What the scanner consumes; batches are saved under the application's write lock, which rescans take too."""
    app = ctx.app if ctx else None

    def fetch(cid: str) -> bytes:  # the context's fetcher exists once the service is connected
        return ctx.fetch(cid)

    return [
        Subscription(
            subject=event_subject("registry", "VersionPublished"), durable=DURABLE, producer="registry", model=VersionPublished,
            handler=version_published_handler(fetch, ctx.settings if ctx else None),
            tracker=lambda sub: EventSourcedTracker(app, sub.durable, sub.handler, lock=app.write_lock),
            batch_size=BATCH_SIZE, ack_wait=ACK_WAIT_S,
            description="Every published version: its archive is fetched by CID, checked against it, analysed and judged.",
        ),
    ]


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
