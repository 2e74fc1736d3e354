"""`plugyard registry …`: running a registry rather than using one. `export DIR` writes what another registry imports."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from nats.aio.client import Client
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

from plugyard_cli.bus import with_nats
from plugyard_cli.export_writer import ExportSummary, write_export
from plugyard_cli.output import EXIT_NO, EXIT_USAGE, CliError, console, err_console, print_json

app = typer.Typer(help="Run a registry: export it for other registries to import.", no_args_is_help=True)


@app.command("export")
def export(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="Where to write index.json and archives/ (created if missing)")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Write every version (with its publisher's signature) and its archive, for an export source of another registry."""
    if directory.exists() and not directory.is_dir():
        raise CliError(f"{directory} exists and is not a directory", code="invalid_request", exit_code=EXIT_USAGE)

    async def run(nc: Client) -> ExportSummary:
        columns = (TextColumn("exporting"), BarColumn(), DownloadColumn())
        with Progress(*columns, console=err_console, transient=True, disable=as_json) as progress:
            task = progress.add_task("archives", total=None)
            return await write_export(
                nc, directory,
                started=lambda entries: progress.update(task, total=sum(entry.size for entry in entries)),
                done_one=lambda entry: progress.advance(task, entry.size),
            )

    try:
        summary = with_nats(run)
    except OSError as exc:
        raise CliError(f"cannot write the export to {directory}: {exc.strerror or exc}", code="invalid_request", exit_code=EXIT_USAGE) from None
    if as_json:
        print_json(summary.as_dict())
    else:
        console.print(
            f"exported {summary.versions} version(s) to {directory} ({summary.written} archive(s) written, {summary.kept} already there)",
            markup=False,
        )
    if summary.missing:
        err_console.print(f"error: {len(summary.missing)} version(s) left out of the export: {'; '.join(summary.missing)}",
                          markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_NO)
