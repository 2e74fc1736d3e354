"""The one place that opens NATS connections (credentials and TLS will be added here)."""

from __future__ import annotations

import nats
from nats.aio.client import Client

from plugyard_core import settings


class NatsUnreachable(ConnectionError):
    """No NATS server answered at the configured URL."""


async def connect(name: str, url: str | None = None, *, connect_timeout: float = 2.0, reconnect: bool = True) -> Client:
    """Connect to NATS; raise NatsUnreachable (with the URL) when nothing answers."""
    target = url or settings.nats_url()
    options: dict = {
        "servers": [target],
        "name": name,
        "connect_timeout": connect_timeout,
        "allow_reconnect": reconnect,
        "max_reconnect_attempts": -1 if reconnect else 0,
        "reconnect_time_wait": 0.5,
    }
    try:
        return await nats.connect(**options)
    except Exception as exc:  # nats raises several unrelated types for "nobody there"
        raise NatsUnreachable(f"cannot reach NATS at {target}: {exc or type(exc).__name__}") from exc
