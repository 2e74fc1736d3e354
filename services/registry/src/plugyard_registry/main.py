"""The registry's composition root: application + read models + RPCs."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

from plugyard_core import settings
from plugyard_core.consumer import TrackedConsumer
from plugyard_core.outbox import OutboxRelay
from plugyard_core.service import Service, configure_logging
from plugyard_registry.admins import AdminConfigError, load_admins
from plugyard_registry.application import RegistryApplication
from plugyard_registry.handlers import SERVICE, RegistryContext, build_router
from plugyard_registry.scan_verdicts import scan_consumer
from plugyard_registry.sources import source_loops

log = logging.getLogger("plugyard.registry")

EXIT_CONFIG = 78  # sysexits EX_CONFIG


def build_service(data_dir: Path | None = None, nats_url: str | None = None) -> Service:
    """Raises AdminConfigError when PLUGYARD_REGISTRY_ADMINS holds something that is not an address."""
    admins = load_admins()
    app = RegistryApplication(data_dir=settings.data_dir(data_dir), admins=admins)
    if app.allow_pending:
        log.warning("PLUGYARD_DEV_ALLOW_PENDING is set: search and resolve treat versions pending scan as cleared (development only)")
        print("registry: WARNING: PLUGYARD_DEV_ALLOW_PENDING=1, pending versions resolve and install (development only)", flush=True)
    log.info("registry admins: %s", ", ".join(sorted(admins)) or "none (verdicts cannot be set by hand)")
    ctx = RegistryContext(app=app)
    scans: dict[str, TrackedConsumer] = {}

    def connected(nc) -> None:
        ctx.nc = nc

    async def relay(nc, stop: asyncio.Event) -> None:
        await OutboxRelay(app, nc.jetstream(), service=SERVICE).run(stop)

    async def scan_verdicts(nc, stop: asyncio.Event) -> None:
        scans["consumer"] = scan_consumer(nc.jetstream(), app)
        await scans["consumer"].run(stop)

    def health() -> dict:
        consumer = scans.get("consumer")
        return {
            "plugins": len(app.catalog.plugins), "versions": len(app.catalog.index), "allow_pending": app.allow_pending,
            "scans_processed": consumer.processed if consumer else 0, "scans_rejected": consumer.rejected if consumer else 0,
        }

    return Service(
        name=SERVICE,
        nats_url=nats_url or settings.nats_url(data_dir),
        routers=[build_router(ctx)],
        loops=[relay, scan_verdicts, *source_loops(ctx, settings.data_dir(data_dir))],
        health=health,
        on_connect=[connected],
        on_stop=[app.close],
    )


def main(data_dir: Path | None = None, nats_url: str | None = None) -> None:
    configure_logging()
    try:
        service = build_service(data_dir, nats_url)
    except AdminConfigError as exc:
        print(f"registry: error: {exc}", file=sys.stderr, flush=True)
        sys.exit(EXIT_CONFIG)
    asyncio.run(service.run())
