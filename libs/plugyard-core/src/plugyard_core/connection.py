"""The one place that opens NATS connections (credentials and TLS will be added here)."""

from __future__ import annotations

import asyncio
import logging

import nats
from nats.aio.client import Client

from plugyard_core import settings

log = logging.getLogger("plugyard.nats")


class NatsUnreachable(ConnectionError):
    """No NATS server answered at the configured URL."""


async def _log_error(error: Exception) -> None:
    # nats-py's default callback prints a traceback for every failed attempt; one line is enough.
    log.warning("nats: %s", error or type(error).__name__)


async def connect(name: str, url: str | None = None, *, connect_timeout: float = 2.0, reconnect: bool = True) -> Client:
    """Connect to NATS; raise NatsUnreachable (with the URL) when nothing answers.

    With `reconnect`, a lost connection is retried forever (services); without it, one attempt (CLI commands).
    """
    target = url or settings.nats_url()
    try:
        return await nats.connect(
            servers=[target],
            name=name,
            connect_timeout=connect_timeout,
            allow_reconnect=reconnect,
            # nats-py treats 0 as "no limit" when picking a server; 1 means a single attempt.
            max_reconnect_attempts=-1 if reconnect else 1,
            reconnect_time_wait=0.5,
            error_cb=_log_error,
        )
    except Exception as exc:  # nats raises several unrelated types for "nobody there"
        raise NatsUnreachable(f"cannot reach NATS at {target}: {exc or type(exc).__name__}") from exc


async def connect_until_stopped(name: str, url: str, stop: asyncio.Event) -> Client | None:
    """Connect (a lost connection is retried forever afterwards); None when `stop` is set before NATS answers."""
    attempt = asyncio.ensure_future(connect(name, url))
    stopped = asyncio.ensure_future(stop.wait())
    await asyncio.wait({attempt, stopped}, return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if not attempt.done():
        attempt.cancel()
        await asyncio.gather(attempt, return_exceptions=True)
        return None
    return attempt.result()
