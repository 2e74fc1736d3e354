"""The one place that opens NATS connections: which credentials (nkey seed) and TLS trust each identity uses."""

from __future__ import annotations

import asyncio
import logging
import ssl
from dataclasses import dataclass

import nats
from nats.aio.client import Client

from plugyard_core import settings
from plugyard_core.bus_identities import CLIENT, CredentialsError, Identity, credentials_for

log = logging.getLogger("plugyard.nats")


class NatsUnreachable(ConnectionError):
    """No NATS server answered at the configured URL."""


class NatsRefused(NatsUnreachable):
    """The server answered but refused these credentials (or their absence)."""


@dataclass(frozen=True)
class BusAccess:
    """How one identity connects: its seed (None on a server without authentication) and TLS trust."""

    identity: Identity | None
    ssl_context: ssl.SSLContext | None

    def nats_options(self) -> dict:
        options: dict = {}
        if self.identity is not None:
            options["nkeys_seed"] = str(self.identity.seed_file)
            if self.identity.inbox_prefix:
                options["inbox_prefix"] = self.identity.inbox_prefix
        if self.ssl_context is not None:
            options["tls"] = self.ssl_context
        return options

    def describe(self) -> str:
        return f"credentials {self.identity.seed_file}" if self.identity else "no credentials"


def bus_access(identity: str, url: str, data_directory=None, *, from_env: bool = True) -> BusAccess:
    """The seed (`PLUGYARD_NATS_CREDS`, else `<data-dir>/creds/<identity>.nk`) and, for a `tls://` URL or a
    configured CA (`PLUGYARD_NATS_CA`, else `<data-dir>/nats-ca.pem`), a TLS context that verifies the server."""
    ca = settings.nats_ca(data_directory)
    context = None
    if ca is not None or url.startswith("tls://"):
        context = ssl.create_default_context(cafile=str(ca) if ca else None)
    return BusAccess(credentials_for(identity, data_directory, from_env=from_env), context)


async def _log_error(error: Exception) -> None:
    # nats-py's default callback prints a traceback for every failed attempt; one line is enough.
    log.warning("nats: %s", error or type(error).__name__)


async def connect(
    name: str,
    url: str | None = None,
    *,
    identity: str = CLIENT,
    connect_timeout: float = 2.0,
    reconnect: bool = True,
    access: BusAccess | None = None,
    data_directory=None,
) -> Client:
    """Connect to NATS as `identity`; raise NatsUnreachable (with the URL) when nothing answers, NatsRefused when
    the server refuses the credentials.

    With `reconnect`, a lost connection is retried forever (services); without it, one attempt (CLI commands).
    """
    target = url or settings.nats_url()
    try:
        access = access or bus_access(identity, target, data_directory)
    except CredentialsError as exc:
        raise NatsRefused(str(exc)) from None
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
            **access.nats_options(),
        )
    except Exception as exc:  # nats raises several unrelated types for "nobody there"
        text = str(exc) or type(exc).__name__
        if "authorization" in text.lower() or "authentication" in text.lower():
            raise NatsRefused(
                f"NATS at {target} refused the connection with {access.describe()} ({text}); "
                f"set PLUGYARD_NATS_CREDS to this stack's {identity}.nk or PLUGYARD_DATA_DIR to its data directory"
            ) from exc
        raise NatsUnreachable(f"cannot reach NATS at {target}: {exc or type(exc).__name__}") from exc


async def connect_until_stopped(name: str, url: str, stop: asyncio.Event, *, identity: str = CLIENT) -> Client | None:
    """Connect (a lost connection is retried forever afterwards); None when `stop` is set before NATS answers."""
    attempt = asyncio.ensure_future(connect(name, url, identity=identity))
    stopped = asyncio.ensure_future(stop.wait())
    await asyncio.wait({attempt, stopped}, return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if not attempt.done():
        attempt.cancel()
        await asyncio.gather(attempt, return_exceptions=True)
        return None
    return attempt.result()
