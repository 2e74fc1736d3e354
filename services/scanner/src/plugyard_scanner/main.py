"""The scanner's composition root: application + consumer of published versions + outbox relay + RPCs."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

from nats.aio.client import Client

from plugyard_analysis.policy import PolicyError
from plugyard_core import settings
from plugyard_core.consumer import Delivered, Rejected, TrackedConsumer
from plugyard_core.outbox import OutboxRelay
from plugyard_core.service import Service, configure_logging
from plugyard_core.streams import EVENTS_STREAM, event_subject
from plugyard_core.tracking_es import EventSourcedTracker
from plugyard_scanner.application import SERVICE, ScannerApplication
from plugyard_scanner.handlers import ScannerContext, build_router
from plugyard_scanner.intake import fetcher, version_published_handler
from plugyard_scanner.scanning import ScanSettings

log = logging.getLogger("plugyard.scanner")

EX_CONFIG = 78  # sysexits: a configuration error (the policy file)
DURABLE = "scanner"
# Each message costs a whole analysis (seconds): small batches, and a long ack wait so none is redelivered mid-batch.
BATCH_SIZE = 2
ACK_WAIT_S = 600.0


class LockedTracker(EventSourcedTracker):
    """Batches are saved under the application's write lock, which rescans take too."""

    def process(self, batch: list[Delivered]) -> list[Rejected]:
        with self.app.write_lock:  # type: ignore[attr-defined]
            return super().process(batch)


def build_service(data_dir: Path | None = None, nats_url: str | None = None) -> Service:
    scan_settings = ScanSettings.from_env()
    app = ScannerApplication(data_dir=settings.data_dir(data_dir))
    ctx = ScannerContext(app=app, settings=scan_settings)
    consumer_ref: dict[str, TrackedConsumer] = {}

    def connected(nc: Client) -> None:
        ctx.fetch = fetcher(nc.jetstream(), asyncio.get_running_loop())

    async def consume(nc: Client, stop: asyncio.Event) -> None:
        fetch = fetcher(nc.jetstream(), asyncio.get_running_loop())
        consumer = TrackedConsumer(
            nc.jetstream(),
            stream=EVENTS_STREAM,
            durable=DURABLE,
            filter_subject=event_subject("registry", "VersionPublished"),
            tracker=LockedTracker(app, DURABLE, version_published_handler(fetch, scan_settings)),
            batch_size=BATCH_SIZE,
            ack_wait=ACK_WAIT_S,
        )
        consumer_ref["c"] = consumer
        await consumer.run(stop)

    async def relay(nc: Client, stop: asyncio.Event) -> None:
        await OutboxRelay(app, nc.jetstream(), service=SERVICE).run(stop)

    def health() -> dict:
        consumer = consumer_ref.get("c")
        return {
            "versions": len(app.index.versions),
            "policy": scan_settings.policy_source,
            "processed": consumer.processed if consumer else 0,
            "rejected": consumer.rejected if consumer else 0,
        }

    return Service(
        name=SERVICE,
        nats_url=nats_url or settings.nats_url(data_dir),
        routers=[build_router(ctx)],
        loops=[consume, relay],
        health=health,
        on_connect=[connected],
        on_stop=[app.close],
    )


def main(data_dir: Path | None = None, nats_url: str | None = None) -> None:
    configure_logging()
    try:
        service = build_service(data_dir, nats_url)
    except PolicyError as exc:
        print(f"scanner: {exc}", file=sys.stderr, flush=True)
        sys.exit(EX_CONFIG)
    asyncio.run(service.run())
