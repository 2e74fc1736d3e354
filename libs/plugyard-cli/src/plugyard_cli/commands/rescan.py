"""`plugyard rescan`: re-judge stored versions after a rule or policy change, one version per request."""

from __future__ import annotations

from typing import Annotated

import typer
from nats.aio.client import Client
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from plugyard_cli.bus import with_nats
from plugyard_cli.output import EXIT_USAGE, CliError, console, err_console, print_json
from plugyard_core.rpc import call
from plugyard_core.streams import rpc_subject
from plugyard_schemas.scanner import RescanPlanReply, RescanReply, RescanRequest

RESCAN_TIMEOUT_S = 180.0


def rescan(
    target: Annotated[str | None, typer.Argument(metavar="[NAME[==VERSION]]", help="A plugin, or one version of it")] = None,
    every: Annotated[bool, typer.Option("--all", help="Rescan every stored version")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Analyse stored versions again under the scanner's current rules and policy; verdicts may move either way."""
    if every == bool(target):
        raise CliError("give NAME, NAME==VERSION or --all (exactly one)", code="invalid_request", exit_code=EXIT_USAGE)
    name, _, version = (target or "").partition("==")
    request = RescanRequest(all=True) if every else RescanRequest(name=name.strip(), version=version.strip() or None)

    async def run(nc: Client) -> list[RescanReply]:
        plan = await call(nc, rpc_subject("scanner", "rescan-plan"), request, RescanPlanReply, timeout=30)
        replies: list[RescanReply] = []
        columns = (TextColumn("rescanning {task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=err_console, transient=True, disable=as_json) as progress:
            task = progress.add_task("", total=len(plan.targets))
            for one in plan.targets:
                progress.update(task, description=f"{one.name} {one.version}")
                one_request = RescanRequest(name=one.name, version=one.version)
                replies.append(await call(nc, rpc_subject("scanner", "rescan"), one_request, RescanReply, timeout=RESCAN_TIMEOUT_S))
                progress.advance(task)
        return replies

    replies = with_nats(run)
    if as_json:
        print_json([reply.model_dump() for reply in replies])
        return
    table = Table(box=None, show_header=True, header_style="bold")
    for column in ("plugin", "version", "was", "now", "reason"):
        table.add_column(column, overflow="fold")
    for reply in replies:
        moved = reply.previous != reply.verdict
        now = f"[bold]{reply.verdict}[/]" if moved else reply.verdict
        table.add_row(reply.name, reply.version, reply.previous or "-", now, reply.reason)
    console.print(table)
    moved = sum(reply.previous != reply.verdict for reply in replies)
    console.print(f"{len(replies)} versions rescanned, {moved} changed verdict", markup=False)
