"""The scanner's composition root: application + consumer of published versions + outbox relay + RPCs."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from nats.aio.client import Client

from plugyard_analysis.policy import PolicyError
from plugyard_core import settings
from plugyard_core.service import Service, run_main
from plugyard_scanner.application import SERVICE, ScannerApplication
from plugyard_scanner.handlers import ScannerContext, build_router, subscriptions
from plugyard_scanner.intake import fetcher
from plugyard_scanner.scanning import ScanSettings

log = logging.getLogger("plugyard.scanner")



def build_service(data_dir: Path | None = None, nats_url: str | None = None) -> Service:
    scan_settings = ScanSettings.from_env()
    app = ScannerApplication(data_dir=settings.data_dir(data_dir))
    ctx = ScannerContext(app=app, settings=scan_settings)

    def connected(nc: Client) -> None:
        ctx.fetch = fetcher(nc.jetstream(), asyncio.get_running_loop())

    def health() -> dict:
        return {"versions": len(app.index.versions), "policy": scan_settings.policy_source}

    return Service(
        name=SERVICE,
        nats_url=nats_url or settings.nats_url(data_dir),
        routers=[build_router(ctx)],
        subscriptions=subscriptions(ctx),
        outbox=app,
        health=health,
        on_connect=[connected],
        on_stop=[app.close],
    )


def main(data_dir: Path | None = None, nats_url: str | None = None) -> None:
    run_main(SERVICE, lambda: build_service(data_dir, nats_url), (PolicyError,))
