"""Running plugins on a loader host: install, load, unload, reload, ps, and invoke over the bus."""

from __future__ import annotations

import json
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from nats.aio.client import Client
from nats.errors import NoRespondersError, TimeoutError as NatsTimeout
from rich.table import Table

from plugyard_cli.bus import with_nats
from plugyard_cli.loader_hosts import loader_host
from plugyard_cli.output import EXIT_NO, EXIT_UNAVAILABLE, EXIT_USAGE, CliError, console, err_console, print_json
from plugyard_core.json_limits import REPLY_MAX_DEPTH, JsonLimitExceeded, loads_within_limits
from plugyard_core.rpc import call
from plugyard_core.streams import loader_subject, plugin_subject
from plugyard_schemas.loader import (
    INVOKE_TIMEOUT_HEADER,
    AccountProof,
    ChallengeReply,
    ChallengeRequest,
    InstallReply,
    InstallRequest,
    LoadRequest,
    PluginReply,
    PluginStatus,
    PsReply,
    PsRequest,
    ReloadRequest,
    UnloadRequest,
    install_challenge_message,
)
from pydantic import BaseModel

if TYPE_CHECKING:  # eth_account takes half a second to import: only the commands that sign load it
    from eth_account.signers.local import LocalAccount

INSTALL_TIMEOUT_S = 900.0
CHALLENGE_TIMEOUT_S = 10.0
LOAD_TIMEOUT_S = 60.0

Host = Annotated[str | None, typer.Option("--host", help="The loader host (default: PLUGYARD_LOADER_HOST, else the only loader on the bus, else this machine's)")]
Json = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def loader_call(host: str | None, verb: str, request: BaseModel, reply: type[BaseModel], timeout: float) -> Any:
    async def run(nc: Client) -> Any:
        chosen = await loader_host(nc, host)
        return await call(nc, loader_subject(chosen, verb), request, reply, timeout=timeout)

    return with_nats(run)


def proven_install(host: str | None, requirements: list[str], account: LocalAccount | None) -> InstallReply:
    """Install on the chosen loader; with an account, first prove it: sign the host's fresh challenge with its key."""

    async def run(nc: Client) -> InstallReply:
        chosen = await loader_host(nc, host)
        proof = None
        if account is not None:
            challenge: ChallengeReply = await call(nc, loader_subject(chosen, "challenge"), ChallengeRequest(), ChallengeReply, timeout=CHALLENGE_TIMEOUT_S)
            from eth_account.messages import encode_defunct

            signed = account.sign_message(encode_defunct(text=install_challenge_message(chosen, challenge.challenge)))
            proof = AccountProof(account=account.address, challenge=challenge.challenge, signature="0x" + bytes(signed.signature).hex())
        request = InstallRequest(requirements=requirements, proof=proof)
        return await call(nc, loader_subject(chosen, "install"), request, InstallReply, timeout=INSTALL_TIMEOUT_S)

    return with_nats(run)


def install(
    requirements: Annotated[list[str], typer.Argument(metavar="REQ...", help="Plugin requirements, e.g. textkit or 'textkit>=1.0'")],
    host: Host = None,
    key: Annotated[Path | None, typer.Option("--key", help="Your key file: proves your account to the loader, for plugins you bought")] = None,
    as_json: Json = False,
) -> None:
    """Install plugins (and the plugins they require) into a loader's cache: only cleared or warned versions, verified again.
    A paid plugin installs only for an account that bought it: give that account's key with --key."""
    account = None
    if key is not None:
        from plugyard_cli.signing_key import load_signing_key

        account = load_signing_key(key)  # a passphrase prompt comes before the spinner
    with err_console.status(f"installing {' '.join(requirements)}", spinner="dots") if not as_json else nullcontext():
        reply = proven_install(host, requirements, account)
    if as_json:
        print_json(reply.model_dump())
        return
    for one in reply.installed:
        how = "installed" if one.newly_installed else "already installed"
        console.print(f"{how}: {one.name} {one.version} ({one.status}) on {reply.host}", markup=False)


def load(
    name: Annotated[str, typer.Argument(help="An installed plugin")],
    version: Annotated[str | None, typer.Option("--version", help="An installed version (default: the newest)")] = None,
    host: Host = None,
    as_json: Json = False,
) -> None:
    """Start the plugin's sandboxed worker on the host; resets a plugin whose circuit opened after crashes."""
    reply: PluginReply = loader_call(host, "load", LoadRequest(name=name, version=version), PluginReply, LOAD_TIMEOUT_S)
    _print_plugin(reply.plugin, "loaded" if reply.changed else "already loaded", as_json)


def unload(name: Annotated[str, typer.Argument()], host: Host = None, as_json: Json = False) -> None:
    """Stop taking calls for the plugin, let running calls finish, stop its worker."""
    reply: PluginReply = loader_call(host, "unload", UnloadRequest(name=name), PluginReply, LOAD_TIMEOUT_S)
    _print_plugin(reply.plugin, "unloaded", as_json)


def reload(
    name: Annotated[str, typer.Argument()],
    version: Annotated[str | None, typer.Option("--version", help="Switch to this installed version (an upgrade)")] = None,
    host: Host = None,
    as_json: Json = False,
) -> None:
    """Start a new worker, switch calls to it, then drain and stop the old one: no call fails."""
    reply: PluginReply = loader_call(host, "reload", ReloadRequest(name=name, version=version), PluginReply, LOAD_TIMEOUT_S)
    _print_plugin(reply.plugin, "reloaded", as_json)


def ps(host: Host = None, as_json: Json = False) -> None:
    """Each plugin on the host: version, pid, state, uptime, restarts, sandbox layers, cpu, memory, calls, errors."""
    reply: PsReply = loader_call(host, "ps", PsRequest(), PsReply, 10.0)
    if as_json:
        print_json(reply.model_dump())
        return
    missing = {k: v for k, v in reply.layers.items() if v != "available"}
    for layer, why in missing.items():
        err_console.print(f"warning: {reply.host} lacks the {layer} sandbox layer ({why})", markup=False)
    table = Table(box=None, header_style="bold")
    for column in ("plugin", "version", "state", "pid", "uptime", "restarts", "cpu%", "rss", "calls", "errors"):
        table.add_column(column, no_wrap=column in ("plugin", "version"))
    for p in reply.plugins:
        table.add_row(
            p.name + (" (dev)" if p.dev else ""), p.version, p.state, str(p.pid or "-"), f"{p.uptime_s:.0f}s" if p.uptime_s is not None else "-",
            str(p.restarts), f"{p.cpu_percent:.1f}" if p.cpu_percent is not None else "-", _bytes(p.rss_bytes), str(p.calls), str(p.errors),
        )
    console.print(table)
    for p in reply.plugins:  # the layers on lines of their own: a table column would be too narrow to read
        active = [k for k, v in p.layers.items() if v == "active"]
        missing = [f"{k} MISSING ({v})" for k, v in p.layers.items() if v != "active"]
        console.print(f"{p.name} sandbox: {' '.join(active) or 'no layer'}" + (f"; {'; '.join(missing)}" if missing else ""), markup=False)
    if not reply.plugins:
        console.print(f"no plugins loaded on {reply.host}", markup=False)


def invoke(
    name: Annotated[str, typer.Argument()],
    action: Annotated[str, typer.Argument()],
    args: Annotated[str, typer.Option("--args", help="The arguments, a JSON object")] = "{}",
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds the call may take")] = 30.0,
    as_json: Json = False,
) -> None:
    """Call a plugin's action over the bus, on whichever host has it loaded."""
    try:
        arguments = loads_within_limits(args)  # the loader refuses deeper arguments; decoding them could crash this process
    except JsonLimitExceeded as exc:
        raise CliError(f"--args is refused: {exc}", code="invalid_request", exit_code=EXIT_USAGE) from None
    except ValueError as exc:
        raise CliError(f"--args is not JSON: {exc}", code="invalid_request", exit_code=EXIT_USAGE) from None
    if not isinstance(arguments, dict):
        raise CliError("--args must be a JSON object of arguments", code="invalid_request", exit_code=EXIT_USAGE)
    if not 0 < timeout <= 600:
        raise CliError("--timeout must be above 0 and at most 600 seconds", code="invalid_request", exit_code=EXIT_USAGE)
    subject = plugin_subject(name, action)

    async def run(nc: Client) -> dict[str, Any]:
        try:
            msg = await nc.request(subject, json.dumps(arguments).encode(), timeout=timeout + 5, headers={INVOKE_TIMEOUT_HEADER: repr(timeout)})
        except NoRespondersError:
            raise CliError(f"{name} is not loaded on any host (plugyard load {name})", code="not_loaded", exit_code=EXIT_UNAVAILABLE) from None
        except NatsTimeout:
            raise CliError(f"no answer from {name} within {timeout + 5:g} s", code="timeout", exit_code=EXIT_UNAVAILABLE) from None
        try:
            # Whoever answers on the subject wrote these bytes: checked before decoding, which a deep document
            # would turn into a stack overflow (py_ecc raises the recursion limit).
            body = loads_within_limits(msg.data, max_depth=REPLY_MAX_DEPTH)
        except JsonLimitExceeded as exc:
            raise CliError(f"the reply from {name} is refused: {exc}", code="internal") from None
        except ValueError:
            raise CliError(f"the reply from {name} is not JSON", code="internal") from None
        if not isinstance(body, dict):
            raise CliError(f"the reply from {name} is not a JSON object", code="internal")
        return body

    reply = with_nats(run)
    error = reply.get("error")
    if error:
        raise CliError(f"{name}.{action}: {error.get('code')}: {error.get('message')}", code=str(error.get("code", "error")), exit_code=EXIT_NO)
    if as_json:
        print_json(reply)
    else:
        console.print_json(json.dumps(reply.get("result")))


def _print_plugin(status: PluginStatus, verb: str, as_json: bool) -> None:
    if as_json:
        print_json(status.model_dump())
        return
    console.print(f"{verb}: {status.name} {status.version} on {status.host} ({status.state}, pid {status.pid or '-'})", markup=False)
    missing = {k: v for k, v in status.layers.items() if v != "active"}
    for layer, why in missing.items():
        err_console.print(f"warning: {status.name} runs without the {layer} sandbox layer: {why}", markup=False)


def _bytes(value: int | None) -> str:
    if value is None:
        return "-"
    return f"{value / (1 << 20):.1f}M"
