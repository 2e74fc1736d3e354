"""What `plugyard status` reports: NATS, the streams and each service's health RPC."""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, field

from nats.aio.client import Client
from nats.js.errors import NotFoundError

from plugyard_core.rpc import RpcError, call
from plugyard_core.services import SERVICES
from plugyard_core.streams import EVENTS_STREAM, TELEMETRY_STREAM, rpc_subject
from plugyard_schemas.rpc import HealthReply, HealthRequest

HEALTH_TIMEOUT_S = 2.0


@dataclass
class StreamState:
    name: str
    exists: bool
    messages: int = 0
    bytes: int = 0
    consumers: int = 0


@dataclass
class ServiceState:
    name: str
    healthy: bool
    error: str | None = None
    details: dict = field(default_factory=dict)
    consumers: dict = field(default_factory=dict)
    outbox: dict | None = None
    problems: list[str] = field(default_factory=list)


@dataclass
class StackStatus:
    nats_url: str
    nats_ok: bool
    nats_error: str | None = None
    streams: list[StreamState] = field(default_factory=list)
    services: list[ServiceState] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return self.nats_ok and all(s.exists for s in self.streams) and all(s.healthy for s in self.services)

    def to_json(self) -> dict:
        return {**asdict(self), "healthy": self.healthy}


async def stream_state(nc: Client, name: str) -> StreamState:
    try:
        info = await nc.jetstream().stream_info(name)
    except NotFoundError:
        return StreamState(name=name, exists=False)
    return StreamState(name=name, exists=True, messages=info.state.messages, bytes=info.state.bytes, consumers=info.state.consumer_count)


async def service_state(nc: Client, name: str) -> ServiceState:
    try:
        reply = await call(nc, rpc_subject(name, "health"), HealthRequest(), HealthReply, timeout=HEALTH_TIMEOUT_S)
    except RpcError as exc:
        return ServiceState(name=name, healthy=False, error=exc.message)
    return ServiceState(
        name=name, healthy=reply.healthy, details=dict(reply.details), error="; ".join(reply.problems) or None,
        consumers={durable: c.model_dump() for durable, c in reply.consumers.items()},
        outbox=reply.outbox.model_dump() if reply.outbox else None, problems=list(reply.problems),
    )


async def collect(nc: Client, url: str, names: tuple[str, ...] = SERVICES) -> StackStatus:
    streams = await asyncio.gather(*(stream_state(nc, n) for n in (EVENTS_STREAM, TELEMETRY_STREAM)))
    services = await asyncio.gather(*(service_state(nc, n) for n in names))
    return StackStatus(nats_url=url, nats_ok=True, streams=list(streams), services=list(services))
