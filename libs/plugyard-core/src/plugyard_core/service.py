"""The runtime every Plugyard service shares: connect, declare streams, serve RPCs, run background loops, stop cleanly."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import nats.errors
import nats.js.errors
from faststream.nats import NatsBroker, NatsRouter
from nats.aio.client import Client

from plugyard_core.connection import connect_until_stopped
from plugyard_core.rpc_server import rpc_middlewares
from plugyard_core.streams import ensure_streams, rpc_subject
from plugyard_schemas.rpc import HealthReply, HealthRequest

log = logging.getLogger("plugyard.service")

BackgroundLoop = Callable[[Client, asyncio.Event], Awaitable[None]]
HealthDetails = Callable[[], dict]


def configure_logging() -> None:
    """One line per record on stderr, which `plugyard up` sends to the service's log file."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")


async def ensure_streams_until_stopped(nc: Client, stop: asyncio.Event, max_backoff: float = 5.0) -> bool:
    """Declare the streams, retrying while the server is up but JetStream is not answering yet (a server that
    has just restarted); False when asked to stop first."""
    backoff = 0.2
    while not stop.is_set():
        try:
            await ensure_streams(nc.jetstream())
            return True
        except (nats.errors.TimeoutError, nats.errors.NoRespondersError, nats.js.errors.ServiceUnavailableError, nats.errors.ConnectionClosedError) as exc:
            if nc.is_closed:
                raise
            log.warning("JetStream not ready (%s); declaring the streams again in %.1f s", type(exc).__name__, backoff)
            try:
                await asyncio.wait_for(stop.wait(), backoff)
            except asyncio.TimeoutError:
                pass
            backoff = min(backoff * 2, max_backoff)
    return False


def make_broker(url: str, name: str) -> NatsBroker:
    return NatsBroker(url, middlewares=rpc_middlewares(), name=name, logger=None, connect_timeout=2.0)


def health_router(service: str, details: HealthDetails, started: float) -> NatsRouter:
    router = NatsRouter()

    @router.subscriber(rpc_subject(service, "health"), title=f"{service}.health")
    async def health(request: HealthRequest) -> HealthReply:
        info = {"pid": os.getpid(), "uptime_s": round(time.monotonic() - started, 1), **details()}
        return HealthReply(service=service, healthy=bool(info.pop("healthy", True)), details=info)

    return router


@dataclass
class Service:
    """One service process: its RPC routers, its background loops (consumers, relays) and a health RPC."""

    name: str
    nats_url: str
    routers: list[NatsRouter] = field(default_factory=list)
    loops: list[BackgroundLoop] = field(default_factory=list)
    health: HealthDetails = dict
    on_connect: list[Callable[[Client], None]] = field(default_factory=list)
    on_stop: list[Callable[[], None]] = field(default_factory=list)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        if stop is None:  # a process of its own: signals stop it; an embedding caller passes its own event
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
        nc = await connect_until_stopped(f"plugyard-{self.name}", self.nats_url, stop)
        if nc is None:
            return
        if not await ensure_streams_until_stopped(nc, stop):
            await nc.close()
            return
        for hook in self.on_connect:
            hook(nc)
        broker = make_broker(self.nats_url, f"plugyard-{self.name}-rpc")
        for router in [*self.routers, health_router(self.name, self.health, time.monotonic())]:
            broker.include_router(router)
        await broker.start()
        tasks = [asyncio.create_task(body(nc, stop), name=f"{self.name}-loop-{i}") for i, body in enumerate(self.loops)]
        log.info("%s ready on %s", self.name, self.nats_url)
        print(f"{self.name}: ready", flush=True)
        stopper = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
        failure = next((t.exception() for t in done if t is not stopper and t.exception()), None)
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        await broker.stop()
        await nc.drain()
        for hook in self.on_stop:
            hook()
        if failure:
            raise failure
