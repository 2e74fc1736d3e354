"""Run one async job against the stack's NATS, mapping what can go wrong to CLI errors."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from nats.aio.client import Client

from plugyard_cli.output import EXIT_NO, EXIT_UNAVAILABLE, EXIT_USAGE, CliError
from plugyard_core import settings
from plugyard_core.bus_identities import CLIENT
from plugyard_core.connection import NatsUnreachable, connect
from plugyard_core.rpc import RpcError, ServiceUnavailable

T = TypeVar("T")

_EXIT_FOR_CODE = {"invalid_request": EXIT_USAGE, "unavailable": EXIT_UNAVAILABLE}


def with_nats(job: Callable[[Client], Awaitable[T]], *, data_dir: str | None = None, identity: str = CLIENT) -> T:
    async def runner() -> T:
        url = settings.nats_url(data_dir)
        try:
            nc = await connect("plugyard-cli", url, identity=identity, reconnect=False, data_directory=data_dir)
        except NatsUnreachable as exc:
            raise CliError(f"{exc} (is the stack up? set PLUGYARD_NATS_URL or run 'plugyard up')", code="unavailable", exit_code=EXIT_UNAVAILABLE) from None
        try:
            return await job(nc)
        except ServiceUnavailable as exc:
            raise CliError(exc.message, code="unavailable", exit_code=EXIT_UNAVAILABLE) from None
        except RpcError as exc:
            raise CliError(exc.message, code=exc.code, exit_code=_EXIT_FOR_CODE.get(exc.code, EXIT_NO)) from None
        finally:
            await nc.close()

    return asyncio.run(runner())
