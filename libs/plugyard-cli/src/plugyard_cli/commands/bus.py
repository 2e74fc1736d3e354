"""`plugyard bus config` and `plugyard bus init`: the bus's identities for an operator who runs NATS themselves."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from plugyard_cli.bus import with_nats
from plugyard_cli.bus_setup import prepare_bus
from plugyard_cli.commands.stack import DataDir, JsonFlag, TlsCa, TlsCert, TlsKey
from plugyard_cli.output import console, print_json
from plugyard_core import settings
from plugyard_core.artifact_store import BUCKETS
from plugyard_core.bus_identities import ADMIN, creds_dir
from plugyard_core.streams import ensure_streams, stream_configs

app = typer.Typer(help="The bus's identities and streams, for an operator of an external NATS.", no_args_is_help=True)


@app.command("config")
def config(
    data_dir: DataDir = None,
    tls_cert: TlsCert = None,
    tls_key: TlsKey = None,
    tls_ca: TlsCa = None,
    out: Annotated[Path | None, typer.Option("--out", help="Also write the server configuration blocks to this file")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Write any missing seed files to <data-dir>/creds/ and print the nats-server `authorization` block (and the
    `tls` block, given a certificate) to put in the server's configuration."""
    directory = settings.data_dir(data_dir)
    directory.mkdir(parents=True, exist_ok=True)
    bus = prepare_bus(directory, cert=tls_cert, key=tls_key, ca=tls_ca)
    text = "\n".join(bus.server_blocks()) + "\n"
    if out is not None:
        out.write_text(text)
    if as_json:
        identities = {name: {"public_key": i.public_key, "seed_file": str(i.seed_file)} for name, i in bus.identities.items()}
        print_json({"creds_dir": str(creds_dir(directory)), "identities": identities, "server_config": text})
        return
    # Plain writes: the block is pasted into a server configuration, so no wrapping or markup.
    sys.stdout.write(f"# Plugyard bus identities; seed files (keep them secret) in {creds_dir(directory)}\n{text}")


@app.command("init")
def init(data_dir: DataDir = None, as_json: JsonFlag = False) -> None:
    """Create or update the streams and buckets, as the admin identity (`plugyard up` does this itself)."""

    async def declare(nc) -> list[str]:
        await ensure_streams(nc.jetstream())
        return [*(c.name for c in stream_configs()), *(f"object store {bucket}" for bucket in BUCKETS)]

    names = with_nats(declare, data_dir=str(data_dir) if data_dir else None, identity=ADMIN)
    if as_json:
        print_json({"streams": names})
    else:
        console.print(f"streams ready: {', '.join(names)}", markup=False, highlight=False)
