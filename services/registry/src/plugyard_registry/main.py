"""The registry's composition root: application + read models + RPCs."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from plugyard_core import settings
from plugyard_core.outbox import OutboxRelay
from plugyard_core.service import Service, configure_logging
from plugyard_registry.application import RegistryApplication
from plugyard_registry.handlers import SERVICE, RegistryContext, build_router
from plugyard_registry.sources import source_loops

log = logging.getLogger("plugyard.registry")


def build_service(data_dir: Path | None = None, nats_url: str | None = None) -> Service:
    app = RegistryApplication(data_dir=settings.data_dir(data_dir))
    if app.allow_pending:
        log.warning("PLUGYARD_DEV_ALLOW_PENDING is set: search and resolve treat versions pending scan as cleared (development only)")
        print("registry: WARNING: PLUGYARD_DEV_ALLOW_PENDING=1, pending versions resolve and install (development only)", flush=True)
    ctx = RegistryContext(app=app)

    def connected(nc) -> None:
        ctx.nc = nc

    async def relay(nc, stop: asyncio.Event) -> None:
        await OutboxRelay(app, nc.jetstream(), service=SERVICE).run(stop)

    def health() -> dict:
        return {"plugins": len(app.catalog.plugins), "versions": len(app.catalog.index), "allow_pending": app.allow_pending}

    return Service(
        name=SERVICE,
        nats_url=nats_url or settings.nats_url(data_dir),
        routers=[build_router(ctx)],
        loops=[relay, *source_loops(ctx, settings.data_dir(data_dir))],
        health=health,
        on_connect=[connected],
        on_stop=[app.close],
    )


def main(data_dir: Path | None = None, nats_url: str | None = None) -> None:
    configure_logging()
    asyncio.run(build_service(data_dir, nats_url).run())
