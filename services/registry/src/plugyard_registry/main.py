"""The registry's composition root: application + read models + RPCs."""

from __future__ import annotations

import logging
from pathlib import Path

from plugyard_core import settings
from plugyard_core.service import Service, run_main
from plugyard_registry.admins import AdminConfigError, load_admins
from plugyard_registry.application import RegistryApplication
from plugyard_registry.handlers import SERVICE, RegistryContext, build_router, subscriptions
from plugyard_registry.sources import source_loops

log = logging.getLogger("plugyard.registry")



def build_service(data_dir: Path | None = None, nats_url: str | None = None) -> Service:
    """Raises AdminConfigError when PLUGYARD_REGISTRY_ADMINS holds something that is not an address."""
    admins = load_admins()
    app = RegistryApplication(data_dir=settings.data_dir(data_dir), admins=admins)
    if app.allow_pending:
        log.warning("PLUGYARD_DEV_ALLOW_PENDING is set: search and resolve treat versions pending scan as cleared (development only)")
        print("registry: WARNING: PLUGYARD_DEV_ALLOW_PENDING=1, pending versions resolve and install (development only)", flush=True)
    log.info("registry admins: %s", ", ".join(sorted(admins)) or "none (verdicts cannot be set by hand)")
    ctx = RegistryContext(app=app)

    def connected(nc) -> None:
        ctx.nc = nc

    def health() -> dict:
        return {"plugins": len(app.catalog.plugins), "versions": len(app.catalog.index), "allow_pending": app.allow_pending}

    return Service(
        name=SERVICE,
        nats_url=nats_url or settings.nats_url(data_dir),
        routers=[build_router(ctx)],
        subscriptions=subscriptions(app),
        outbox=app,
        loops=source_loops(ctx, settings.data_dir(data_dir)),
        health=health,
        on_connect=[connected],
        on_stop=[app.close],
    )


def main(data_dir: Path | None = None, nats_url: str | None = None) -> None:
    run_main(SERVICE, lambda: build_service(data_dir, nats_url), (AdminConfigError,))
