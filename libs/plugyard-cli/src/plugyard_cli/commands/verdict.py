"""`plugyard verdict`: a registry admin clears or quarantines a version by hand, overriding the scanner."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from plugyard_artifacts.signing import VerdictStatement, sign
from plugyard_cli.bus import with_nats
from plugyard_cli.commands.registry import JsonFlag, build, now, rpc, show, split_pin, usage
from plugyard_cli.signing_key import load_signing_key
from plugyard_core.rpc import call
from plugyard_schemas.registry import VerdictReply, VerdictRequest


def verdict(
    pin: Annotated[str, typer.Argument(metavar="NAME==VERSION")],
    reason: Annotated[str, typer.Option("--reason", help="Why (shown with the version's status)")],
    key: Annotated[Path, typer.Option("--key", help="A registry admin's key file (an address in PLUGYARD_REGISTRY_ADMINS)")],
    clear: Annotated[bool, typer.Option("--clear", help="Make the version installable")] = False,
    quarantine: Annotated[bool, typer.Option("--quarantine", help="Stop the version resolving, installing and running")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Clear or quarantine a version by hand; the scanner's later verdicts do not move it, only another admin's."""
    if clear == quarantine:
        raise usage("give exactly one of --clear or --quarantine")
    if not reason.strip():
        raise usage("--reason must say why")
    name, version = split_pin(pin)
    wanted = "cleared" if clear else "quarantined"
    statement = build(VerdictStatement, name=name, version=version, verdict=wanted, reason=reason, issued_at=now())
    request = VerdictRequest(
        name=statement.name, version=statement.version, verdict=wanted, reason=reason, issued_at=statement.issued_at,
        signature=sign(statement, load_signing_key(key)),
    )
    reply = with_nats(lambda nc: call(nc, rpc("verdict"), request, VerdictReply))
    text = f"{reply.name} {reply.version} " + (f"{reply.status} by {reply.by}" if reply.changed else f"was already {reply.status} by an admin's verdict")
    show(reply.model_dump(), as_json, text)
