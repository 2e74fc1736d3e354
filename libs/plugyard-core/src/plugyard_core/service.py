"""The runtime every Plugyard service shares: connect, declare streams, serve RPCs, run background loops, stop cleanly."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from eventsourcing.application import Application
from faststream.nats import NatsBroker, NatsRouter
from faststream.nats.security import NatsNKey, NatsSecurity
from nats.aio.client import Client

from plugyard_core.bus_identities import CredentialsError
from plugyard_core.connection import BusAccess, NatsRefused, bus_access, connect_until_stopped
from plugyard_core.consumer import TrackedConsumer
from plugyard_core.outbox import OutboxRelay
from plugyard_core.rpc_server import rpc_middlewares
from plugyard_core.runtime_health import StallConfigError, OutboxStats, consumer_report, outbox_report, problems, stall_after_s
from plugyard_core.subscriptions import Subscription
from plugyard_core.streams import ensure_streams_until_stopped, rpc_subject
from plugyard_schemas.rpc import HealthReply, HealthRequest

log = logging.getLogger("plugyard.service")

BackgroundLoop = Callable[[Client, asyncio.Event], Awaitable[None]]
HealthDetails = Callable[[], dict]
RuntimeHealth = Callable[[], tuple[dict[str, dict], dict | None, list[str]]]
PENDING_REFRESH_S = 2.0


def configure_logging() -> None:
    """One line per record on stderr, which `plugyard up` sends to the service's log file."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")


EXIT_CONFIG = 78  # sysexits EX_CONFIG
EXIT_UNAVAILABLE = 69


def run_main(name: str, build: Callable[[], Service], config_errors: tuple[type[Exception], ...]) -> None:
    """A service process: build it (a configuration error is one line on stderr and exit 78), then run it."""
    configure_logging()
    try:
        service = build()
    except (*config_errors, StallConfigError) as exc:
        print(f"{name}: error: {exc}", file=sys.stderr, flush=True)
        sys.exit(EXIT_CONFIG)
    except CredentialsError as exc:  # a service that reads its bus credentials while it is built
        print(f"{name}: error: {exc}", file=sys.stderr, flush=True)
        sys.exit(EXIT_UNAVAILABLE)
    try:
        asyncio.run(service.run())
    except NatsRefused as exc:  # wrong or unreadable credentials: one line, not a traceback
        print(f"{name}: error: {exc}", file=sys.stderr, flush=True)
        sys.exit(EXIT_UNAVAILABLE)


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


def health_router(service: str, details: HealthDetails, started: float, runtime: RuntimeHealth | None = None) -> NatsRouter:
    router = NatsRouter()

    @router.subscriber(rpc_subject(service, "health"), title=f"{service}.health")
    async def health(request: HealthRequest) -> HealthReply:
        info = {"pid": os.getpid(), "uptime_s": round(time.monotonic() - started, 1), **details()}
        healthy = bool(info.pop("healthy", True))
        own_problems = list(info.pop("problems", []))  # what the service's own loops report
        consumers, outbox, found = runtime() if runtime else ({}, None, [])
        found = [*found, *own_problems]
        return HealthReply(
            service=service, healthy=healthy and not found, details=info, consumers=consumers, outbox=outbox, problems=found,
        )

    return router


@dataclass
class Service:
    """One service process: its RPC routers, its declared subscriptions, its outbox relay, its other background
    loops and a health RPC that reports all of them."""

    name: str
    nats_url: str
    routers: list[NatsRouter] = field(default_factory=list)
    subscriptions: list[Subscription] = field(default_factory=list)
    outbox: Application | None = None  # the application whose events the runtime relays to the stream
    loops: list[BackgroundLoop] = field(default_factory=list)
    health: HealthDetails = dict
    on_connect: list[Callable[[Client], None]] = field(default_factory=list)
    on_stop: list[Callable[[], None]] = field(default_factory=list)
    consumers: dict[str, TrackedConsumer] = field(default_factory=dict, init=False)
    relay: OutboxRelay | None = field(default=None, init=False)
    _backlog: int = field(default=0, init=False)
    stall_after: float = field(default_factory=stall_after_s)

    def __post_init__(self) -> None:
        durables = [s.durable for s in self.subscriptions]
        if len(set(durables)) != len(durables):
            raise ValueError(f"{self.name}: two subscriptions share a durable name ({durables})")

    async def run(self, stop: asyncio.Event | None = None) -> None:
        if stop is None:  # a process of its own: signals stop it; an embedding caller passes its own event
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
        nc = await connect_until_stopped(f"plugyard-{self.name}", self.nats_url, stop, identity=self.name)
        if nc is None:
            return
        access = bus_access(self.name, self.nats_url)  # readable: the connection above used it
        if not await ensure_streams_until_stopped(nc, stop, create=access.identity is None):
            await nc.close()
            return
        for hook in self.on_connect:
            hook(nc)
        broker = make_broker(self.nats_url, f"plugyard-{self.name}-rpc", access)
        for router in [*self.routers, health_router(self.name, self.health, time.monotonic(), self.runtime_health)]:
            broker.include_router(router)
        await broker.start()
        js = nc.jetstream()
        self.consumers = {s.durable: s.consumer(js) for s in self.subscriptions}
        self.relay = OutboxRelay(self.outbox, js, service=self.name) if self.outbox is not None else None
        bodies = [*self.loops, self._watch_pending]
        tasks = [asyncio.create_task(body(nc, stop), name=f"{self.name}-loop-{i}") for i, body in enumerate(bodies)]
        tasks += [asyncio.create_task(c.run(stop), name=f"{self.name}-consumer-{d}") for d, c in self.consumers.items()]
        if self.relay is not None:
            tasks.append(asyncio.create_task(self.relay.run(stop), name=f"{self.name}-outbox"))
        log.info("%s ready on %s", self.name, self.nats_url)
        print(f"{self.name}: ready", flush=True)
        stopper = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
        failure = next((t.exception() for t in done if t is not stopper and t.exception()), None)
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        try:
            await broker.stop()
            await nc.drain()
        except Exception as exc:  # NATS going down with the service (Ctrl-C on `plugyard up`): nothing left to drain
            log.info("%s: the connection closed while stopping (%s)", self.name, type(exc).__name__)
            await nc.close()
        for hook in self.on_stop:
            hook()
        if failure:
            raise failure

    async def _watch_pending(self, nc: Client, stop: asyncio.Event) -> None:
        """Keeps each consumer's pending count and the outbox's backlog fresh for health."""
        while not stop.is_set():
            for consumer in self.consumers.values():
                try:
                    await consumer.refresh_pending()
                except Exception as exc:  # health shows the last figure; the consumer reports its own failures
                    log.debug("pending of %s not refreshed: %s", consumer.durable, exc)
            if self.relay is not None:
                try:
                    self._backlog = await asyncio.to_thread(self.relay.backlog)
                except Exception as exc:
                    log.debug("outbox backlog not read: %s", exc)
            try:
                await asyncio.wait_for(stop.wait(), PENDING_REFRESH_S)
            except asyncio.TimeoutError:
                pass

    def runtime_health(self) -> tuple[dict[str, dict], dict | None, list[str]]:
        """Each consumer's and the outbox's figures, and what has not progressed for `stall_after` seconds while
        work waits (a consumer whose stream went behind it, at once)."""
        now = time.time()
        stats = {durable: consumer.stats for durable, consumer in self.consumers.items()}
        outbox = None
        if self.relay is not None:
            outbox = OutboxStats(self._backlog, self.relay.published, self.relay.last_progress, self.relay.error)
        reports = {durable: consumer_report(s, now) for durable, s in stats.items()}
        return reports, outbox_report(outbox, now) if outbox else None, problems(stats, outbox, self.stall_after, now)
