"""`plugyard up`, `plugyard status`, `plugyard service`: run the stack and ask how it is."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from plugyard_cli.bus_setup import BusSetup, prepare_bus
from plugyard_cli.chain_node import CHAIN_PORT_ENV, CHAIN_URL_ENV, NO_CHAIN, anvil_argv, anvil_path
from plugyard_cli.health import ServiceState, StackStatus, collect, service_state
from plugyard_cli.output import EXIT_UNAVAILABLE, EXIT_USAGE, CliError, console, print_json
from plugyard_cli.supervisor import Supervisor
from plugyard_core import settings
from plugyard_core.connection import NatsUnreachable, connect
from plugyard_core.bus_identities import ensure_identities
from plugyard_core.bus_permissions import stack_identities
from plugyard_core.embedded_nats import EmbeddedNats, free_port, port_is_free
from plugyard_core.services import GATEWAY, SERVICES, service_module

STACK_SERVICES_FILE = "services.txt"

DEFAULT_NATS_PORT = 4222
GATEWAY_PORT_ENV = "PLUGYARD_GATEWAY_PORT"

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Where the stack keeps its data (default ./.plugyard)")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
TlsCert = Annotated[Path | None, typer.Option("--tls-cert", help="Serve NATS over TLS with this certificate (PEM)")]
TlsKey = Annotated[Path | None, typer.Option("--tls-key", help="The certificate's private key (PEM)")]
TlsCa = Annotated[Path | None, typer.Option("--tls-ca", help="The CA that signed the server certificate; every command then trusts it")]


def up(
    data_dir: DataDir = None,
    nats_port: Annotated[int | None, typer.Option("--nats-port", min=1, max=65535, help="Port for the embedded nats-server")] = None,
    nats_url: Annotated[str | None, typer.Option("--nats-url", help="Use this NATS instead of starting one")] = None,
    no_sync_always: Annotated[bool, typer.Option("--no-sync-always", help="Let nats-server batch fsyncs (faster, can lose acknowledged writes on power loss)")] = False,
    tls_cert: TlsCert = None,
    tls_key: TlsKey = None,
    tls_ca: TlsCa = None,
) -> None:
    """Start the embedded nats-server (authentication on: one identity per service, `client`, `admin`), every
    service and the HTTP gateway (its URL in <data-dir>/gateway.url); Ctrl-C or SIGTERM stops them all."""
    if nats_port is not None and nats_url is not None:
        raise CliError("give either --nats-port or --nats-url, not both", code="invalid_request", exit_code=EXIT_USAGE)
    directory = settings.data_dir(data_dir)
    directory.mkdir(parents=True, exist_ok=True)
    bus = prepare_bus(directory, cert=tls_cert, key=tls_key, ca=tls_ca)
    # The gateway's identity too: `plugyard up` runs it beside the services (the deployment files do not, yet).
    bus = BusSetup({**bus.identities, **ensure_identities(stack_identities(), directory)}, bus.tls)
    gateway_port = _gateway_port()
    embedded = None
    if nats_url is None:
        port = nats_port or DEFAULT_NATS_PORT
        if not port_is_free(port):
            if nats_port is not None:
                raise CliError(
                    f"port {port} on 127.0.0.1 is taken: choose a free one with --nats-port, or use the NATS already there with --nats-url nats://127.0.0.1:{port}",
                    code="unavailable",
                    exit_code=EXIT_UNAVAILABLE,
                )
            port = free_port()
            console.print(f"port {DEFAULT_NATS_PORT} is taken (another NATS?); the embedded nats-server uses port {port} instead", markup=False)
        embedded = EmbeddedNats(
            directory / "nats", port, sync_always=not no_sync_always, log_file=directory / "nats-server.log",
            extra_blocks=bus.server_blocks(), tls=bus.tls is not None,
        )
        nats_url = embedded.url
    services, chain_argv, chain_port = SERVICES, None, 0
    if not os.environ.get(CHAIN_URL_ENV, "").strip():
        anvil = anvil_path()
        if anvil is None:
            services = tuple(s for s in SERVICES if s != "marketplace")
            console.print(NO_CHAIN, markup=False, highlight=False)
        else:
            chain_port = _chain_port()
            chain_argv = anvil_argv(anvil, chain_port, directory)
    (directory / STACK_SERVICES_FILE).write_text("\n".join(services) + "\n")
    supervisor = Supervisor(
        directory, nats_url, services, embedded, say=lambda text: console.print(text, markup=False, highlight=False),
        chain_argv=chain_argv, chain_port=chain_port, gateway_port=gateway_port, services_file=directory / STACK_SERVICES_FILE,
    )
    code = asyncio.run(supervisor.run())
    if code:
        raise typer.Exit(code)


def _chain_port() -> int:
    text = os.environ.get(CHAIN_PORT_ENV, "").strip()
    if not text:
        return free_port()
    if not text.isdigit() or not 1 <= int(text) <= 65535 or not port_is_free(int(text)):
        raise CliError(f"{CHAIN_PORT_ENV}={text} is not a free port on 127.0.0.1: choose another, or unset it for any free one",
                       code="unavailable", exit_code=EXIT_UNAVAILABLE)
    return int(text)


def _gateway_port() -> int:
    """`PLUGYARD_GATEWAY_PORT` when set (it must be free), else a free port: chosen once, so a restarted gateway keeps
    its URL."""
    text = os.environ.get(GATEWAY_PORT_ENV, "").strip()
    if not text or text == "0":
        return free_port()
    if not text.isdigit() or not 1 <= int(text) <= 65535 or not port_is_free(int(text)):
        raise CliError(f"{GATEWAY_PORT_ENV}={text} is not a free port on 127.0.0.1: choose another, or unset it for any free one",
                       code="unavailable", exit_code=EXIT_UNAVAILABLE)
    return int(text)


def runs_gateway(directory: Path) -> bool:
    """Whether the stack in `directory` runs the HTTP gateway (`plugyard up` lists it once it starts it)."""
    try:
        return GATEWAY in (line.strip() for line in (directory / STACK_SERVICES_FILE).read_text().splitlines())
    except OSError:
        return False


def stack_services(directory: Path) -> tuple[str, ...]:
    """The services the stack in `directory` runs (`plugyard up` writes them: the marketplace only with a chain)."""
    try:
        named = tuple(line.strip() for line in (directory / STACK_SERVICES_FILE).read_text().splitlines() if line.strip() in SERVICES)
    except OSError:
        return SERVICES
    return named or SERVICES


def status(data_dir: DataDir = None, as_json: JsonFlag = False) -> None:
    """NATS reachable, streams and their counts, each service's health (and the HTTP gateway's, when the stack runs
    one). Exit 0 only when all are healthy."""
    url = settings.nats_url(data_dir)
    directory = settings.data_dir(data_dir)

    async def gather() -> tuple[StackStatus, ServiceState | None]:
        try:
            nc = await connect("plugyard-status", url, reconnect=False, data_directory=data_dir)
        except NatsUnreachable as exc:
            return StackStatus(nats_url=url, nats_ok=False, nats_error=str(exc)), None
        try:
            result = await collect(nc, url, stack_services(directory))
            return result, (await service_state(nc, GATEWAY) if runs_gateway(directory) else None)
        finally:
            await nc.close()

    result, gateway = asyncio.run(gather())
    healthy = result.healthy and (gateway is None or gateway.healthy)
    if as_json:
        print_json({**result.to_json(), "gateway": asdict(gateway) if gateway else None, "healthy": healthy})
    else:
        shown = StackStatus(result.nats_url, result.nats_ok, result.nats_error, result.streams, [*result.services, *([gateway] if gateway else [])])
        show_status(shown)
    if not result.nats_ok:
        raise typer.Exit(EXIT_UNAVAILABLE)
    if not healthy:
        raise typer.Exit(1)


def show_status(result: StackStatus) -> None:
    console.print(f"NATS {result.nats_url}: {'[green]reachable[/]' if result.nats_ok else '[red]unreachable[/]'}")
    if not result.nats_ok:
        if result.nats_error:
            console.print(result.nats_error, markup=False, highlight=False)
        return
    streams = Table("stream", "messages", "bytes", "consumers")
    for s in result.streams:
        streams.add_row(s.name, str(s.messages) if s.exists else "[red]missing[/]", str(s.bytes), str(s.consumers))
    console.print(streams)
    services = Table("service", "health", "details")
    for s in result.services:
        health = "[green]healthy[/]" if s.healthy else f"[red]{escape(s.error or 'unhealthy')}[/]"
        services.add_row(s.name, health, escape(", ".join([*(f"{k}={v}" for k, v in s.details.items()), *flow_summary(s)])))
    console.print(services)


def flow_summary(service: ServiceState) -> list[str]:
    """One phrase per consumer and for the outbox: what waits and what was refused."""
    parts = [f"{durable}: {c['pending']} pending, {c['rejected']} rejected" for durable, c in service.consumers.items()]
    if service.outbox is not None:
        parts.append(f"outbox: {service.outbox['backlog']} to publish")
    return parts


def service(
    name: Annotated[str, typer.Argument(help=f"One of: {', '.join(SERVICES)}")],
    data_dir: DataDir = None,
) -> None:
    """Run one service in the foreground (what `plugyard up`, docker-compose and Tilt start)."""
    if name not in SERVICES:
        raise CliError(f"unknown service {name!r}: choose one of {', '.join(SERVICES)}", code="invalid_request", exit_code=EXIT_USAGE)
    if data_dir is not None:
        os.environ["PLUGYARD_DATA_DIR"] = str(data_dir)
    os.execv(sys.executable, [sys.executable, "-m", service_module(name)])
