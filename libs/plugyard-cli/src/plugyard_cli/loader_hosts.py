"""Which loader a command talks to: `--host`, else `PLUGYARD_LOADER_HOST`, else the only loader on the bus, else
this machine's loader when several answer (DESIGN: "the CLI's --host defaults to the only loader, or this machine's")."""

from __future__ import annotations

import asyncio
import os

from nats.aio.client import Client
from pydantic import ValidationError

from plugyard_cli.output import EXIT_UNAVAILABLE, EXIT_USAGE, CliError
from plugyard_core import settings
from plugyard_core.json_limits import REPLY_MAX_DEPTH, JsonLimitExceeded, check_json_limits
from plugyard_core.rpc import summarize_validation_error
from plugyard_core.streams import rpc_subject
from plugyard_schemas.loader import HostAnnouncement, HostsRequest

FIRST_REPLY_S = 2.0  # how long to wait for any loader
MORE_REPLIES_S = 0.1  # after the first, how long others get to answer


async def discover_hosts(nc: Client) -> list[str]:
    """Every loader's name: a scatter on `plugyard.rpc.loader.hosts`, gathered until replies stop coming.

    A reply over the JSON limits is refused before it is decoded; it is ignored, as a reply that is not an
    announcement is, unless no valid one comes: then a CliError says what was wrong with the first.
    """
    subject = rpc_subject("loader", "hosts")
    inbox = nc.new_inbox()
    found: set[str] = set()
    problems: list[str] = []
    arrived = asyncio.Event()

    async def collect(msg) -> None:
        if msg.headers and msg.headers.get("Status"):
            return  # the server's own notice (503: no responders), not a loader's reply
        try:
            check_json_limits(msg.data, max_depth=REPLY_MAX_DEPTH)
        except JsonLimitExceeded as exc:
            problems.append(f"refused: {exc}")
            return
        try:
            found.add(HostAnnouncement.model_validate_json(msg.data).host)
        except ValidationError as exc:
            problems.append(f"not a valid {HostAnnouncement.__name__}: {summarize_validation_error(exc)}")
            return
        arrived.set()

    subscription = await nc.subscribe(inbox, cb=collect)
    try:
        await nc.publish(subject, HostsRequest().model_dump_json().encode(), reply=inbox)
        try:
            await asyncio.wait_for(arrived.wait(), FIRST_REPLY_S)
        except asyncio.TimeoutError:
            if problems:
                raise CliError(f"no valid answer on {subject}: a reply is {problems[0]}", code="internal") from None
            return []
        while True:
            arrived.clear()
            try:
                await asyncio.wait_for(arrived.wait(), MORE_REPLIES_S)
            except asyncio.TimeoutError:
                return sorted(found)
    finally:
        await subscription.unsubscribe()


def choose_host(explicit: str | None, hosts: list[str] | None, this_machine: str) -> str:
    """`hosts` is None when no discovery was needed."""
    if explicit:
        return explicit
    if hosts is None:
        return this_machine
    if not hosts:
        raise CliError("no loader answers on the bus (is the stack up? 'plugyard up' starts one)", code="unavailable", exit_code=EXIT_UNAVAILABLE)
    if len(hosts) == 1:
        return hosts[0]
    if this_machine in hosts:
        return this_machine
    raise CliError(f"several loaders answer ({', '.join(hosts)}) and none is this machine's: choose one with --host", code="invalid_request",
                   exit_code=EXIT_USAGE)


async def loader_host(nc: Client, explicit: str | None) -> str:
    if explicit or os.environ.get("PLUGYARD_LOADER_HOST"):
        return choose_host(explicit, None, settings.loader_host())
    return choose_host(None, await discover_hosts(nc), settings.loader_host())
