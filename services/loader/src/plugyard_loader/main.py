"""The loader's composition root: event store + cache + supervisor of workers + RPCs + invocations + telemetry + relay."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from nats.aio.client import Client

from plugyard_core import settings
from plugyard_core.service import Service, run_main
from plugyard_loader.application import SERVICE, LoaderApplication
from plugyard_loader.cache import PluginCache
from plugyard_loader.handlers import build_router, subscriptions
from plugyard_loader.loader import Loader
from plugyard_loader.sandbox_plan import PlanError, required_layers
from plugyard_loader.telemetry import call_budget_ms, interval_s, telemetry_subject
from plugyard_loader.state_volume import size_mb
from plugyard_loader.violations import ViolationPolicy

log = logging.getLogger("plugyard.loader")



def build_service(data_dir: Path | None = None, nats_url: str | None = None) -> Service:
    host = settings.loader_host()
    app = LoaderApplication(data_dir=settings.data_dir(data_dir), host=host)
    cache = PluginCache(settings.service_dir(SERVICE, data_dir) / "cache")
    loader = Loader(app, cache, host)
    loader.prepare()

    async def attach(nc: Client, stop: asyncio.Event) -> None:
        await loader.attach(nc)
        await stop.wait()
        await loader.close()

    async def telemetry(nc: Client, stop: asyncio.Event) -> None:
        js = nc.jetstream()
        period = interval_s()
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), period)
            except asyncio.TimeoutError:
                pass
            for runner in list(loader.runners.values()):
                sample = loader.telemetry_sample(runner)
                if sample is None:
                    continue
                try:
                    await js.publish(telemetry_subject(host, runner.name), sample.model_dump_json().encode())
                except Exception as exc:  # a lost sample is only a gap in a graph
                    log.warning("telemetry sample of %s not published: %s", runner.name, exc)

    def health() -> dict:
        return {"host": host, "plugins": len(loader.runners), "running": sum(r.state == "running" for r in loader.runners.values())}

    loops: dict[str, asyncio.AbstractEventLoop] = {}

    def connected(_nc: Client) -> None:
        loops["service"] = asyncio.get_running_loop()

    return Service(
        name=SERVICE,
        nats_url=nats_url or settings.nats_url(data_dir),
        routers=[build_router(loader)],
        subscriptions=subscriptions(loader, host, lambda: loops["service"]),
        outbox=app,
        loops=[attach, telemetry],
        health=health,
        on_connect=[connected],
        on_stop=[app.close],
    )


def checked_build(data_dir: Path | None, nats_url: str | None) -> Service:
    """The loader's settings are checked before anything starts (a bad one is a configuration error)."""
    required_layers()
    ViolationPolicy.from_env()
    size_mb()
    call_budget_ms()
    return build_service(data_dir, nats_url)


def main(data_dir: Path | None = None, nats_url: str | None = None) -> None:
    run_main(SERVICE, lambda: checked_build(data_dir, nats_url), (PlanError, ValueError))
