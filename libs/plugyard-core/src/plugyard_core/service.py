"""The runtime every Plugyard service shares: connect, declare streams, serve RPCs, run background loops, stop cleanly."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from faststream.nats import NatsBroker, NatsRouter
from faststream.nats.security import NatsNKey, NatsSecurity
from nats.aio.client import Client

from plugyard_core.connection import BusAccess, bus_access, connect_until_stopped
from plugyard_core.rpc_server import rpc_middlewares
from plugyard_core.streams import ensure_streams_until_stopped, rpc_subject
from plugyard_schemas.rpc import HealthReply, HealthRequest

log = logging.getLogger("plugyard.service")

BackgroundLoop = Callable[[Client, asyncio.Event], Awaitable[None]]
HealthDetails = Callable[[], dict]


def configure_logging() -> None:
    """One line per record on stderr, which `plugyard up` sends to the service's log file."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")


def broker_security(access: BusAccess) -> NatsSecurity | None:
    if access.identity is not None:
        return NatsNKey.from_file(access.identity.seed_file, ssl_context=access.ssl_context)
    if access.ssl_context is not None:
        return NatsSecurity(ssl_context=access.ssl_context)
    return None


def make_broker(url: str, name: str, access: BusAccess | None = None) -> NatsBroker:
    access = access or BusAccess(None, None)
    options = {"inbox_prefix": access.identity.inbox_prefix} if access.identity and access.identity.inbox_prefix else {}
    return NatsBroker(
        url, middlewares=rpc_middlewares(), name=name, logger=None, connect_timeout=2.0,
        security=broker_security(access), **options,
    )


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
        access = bus_access(self.name, self.nats_url)
        nc = await connect_until_stopped(f"plugyard-{self.name}", self.nats_url, stop, identity=self.name)
        if nc is None:
            return
        if not await ensure_streams_until_stopped(nc, stop, create=access.identity is None):
            await nc.close()
            return
        for hook in self.on_connect:
            hook(nc)
        broker = make_broker(self.nats_url, f"plugyard-{self.name}-rpc", access)
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
