"""The JetStream streams Plugyard uses, created or updated idempotently by whoever needs them."""

from __future__ import annotations

import asyncio
import logging

import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from plugyard_core.artifact_store import BUCKETS, ensure_buckets

log = logging.getLogger("plugyard.streams")

EVENTS_STREAM = "PLUGYARD_EVENTS"
EVENTS_SUBJECTS = "plugyard.evt.>"
TELEMETRY_STREAM = "PLUGYARD_TELEMETRY"
TELEMETRY_SUBJECTS = "plugyard.tel.>"

DUPLICATE_WINDOW_S = 300.0  # at least 2 minutes, as the relay may republish after a crash
TELEMETRY_MAX_AGE_S = 7 * 24 * 3600.0
MAX_MESSAGE_BYTES = 1024 * 1024


def event_subject(service: str, event_name: str) -> str:
    return f"plugyard.evt.{service}.{event_name}"


def event_type(service: str, event_name: str) -> str:
    return f"dev.plugyard.{service}.{event_name}"


def event_source(service: str) -> str:
    return f"plugyard/{service}"


def rpc_subject(service: str, verb: str) -> str:
    return f"plugyard.rpc.{service}.{verb}"


def loader_subject(host: str, verb: str) -> str:
    """One loader host's RPCs: `plugyard.rpc.loader.<host>.<verb>`."""
    return rpc_subject("loader", f"{host}.{verb}")


def plugin_subject(name: str, action: str = "*") -> str:
    """Invocations of a plugin's actions, served by every host that has it loaded."""
    return f"plugyard.rpc.plugin.{name}.{action}"


def stream_configs() -> list[StreamConfig]:
    return [
        StreamConfig(
            name=EVENTS_STREAM,
            subjects=[EVENTS_SUBJECTS],
            storage=StorageType.FILE,
            duplicate_window=DUPLICATE_WINDOW_S,
            max_msg_size=MAX_MESSAGE_BYTES,
            discard=DiscardPolicy.OLD,
        ),
        StreamConfig(
            name=TELEMETRY_STREAM,
            subjects=[TELEMETRY_SUBJECTS],
            storage=StorageType.FILE,
            max_age=TELEMETRY_MAX_AGE_S,
            max_msg_size=MAX_MESSAGE_BYTES,
            discard=DiscardPolicy.OLD,
        ),
    ]


async def missing_streams(js: JetStreamContext) -> list[str]:
    """The Plugyard streams that do not exist yet (readable by every identity; only the admin creates them)."""
    missing = []
    for name in [*(c.name for c in stream_configs()), *(f"OBJ_{bucket}" for bucket in BUCKETS)]:
        try:
            await js.stream_info(name)
        except NotFoundError:
            missing.append(name)
    return missing


async def ensure_streams(js: JetStreamContext) -> None:
    """Create each stream, or bring an existing one's settings up to date; safe to call from every service."""
    for config in stream_configs():
        try:
            await js.stream_info(config.name)
        except NotFoundError:
            await js.add_stream(config)
        else:
            await js.update_stream(config)
    await ensure_buckets(js)


async def ensure_streams_until_stopped(nc: Client, stop: asyncio.Event, max_backoff: float = 5.0, *, create: bool = True) -> bool:
    """Declare the streams (`create`), or wait until they exist (on an authenticated bus only the admin may
    create them), retrying while the server is up but JetStream is not answering yet (a server that has just
    restarted); False when asked to stop first."""
    backoff = 0.2
    while not stop.is_set():
        try:
            if create:
                await ensure_streams(nc.jetstream())
                return True
            missing = await missing_streams(nc.jetstream())
            if not missing:
                return True
            log.warning(
                "waiting for %s: only the admin identity creates streams ('plugyard up' does, or 'plugyard bus init')",
                ", ".join(missing),
            )
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
