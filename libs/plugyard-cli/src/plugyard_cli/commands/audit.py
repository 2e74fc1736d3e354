"""`plugyard audit sql` and `plugyard audit verify`: read-only questions to the ledger's warehouse."""

from __future__ import annotations

import csv
import sys
from enum import Enum
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from plugyard_cli.bus import with_nats
from plugyard_cli.output import EXIT_NO, console, print_json
from plugyard_core.rpc import call
from plugyard_core.streams import rpc_subject
from plugyard_schemas.ledger import SqlReply, SqlRequest, VerifyReply, VerifyRequest

app = typer.Typer(help="Query and verify the audit warehouse (every event on the bus).", no_args_is_help=True)

QUERY_TIMEOUT_S = 60.0


class Format(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


@app.command("sql")
def sql(
    statement: Annotated[str, typer.Argument(help="A read-only SELECT; anything that would modify is refused.")],
    format: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
    as_json: Annotated[bool, typer.Option("--json", help="Shorthand for --format json.")] = False,
    max_rows: Annotated[int, typer.Option("--max-rows", min=1, help="Return at most this many rows.")] = 10_000,
) -> None:
    """Run ad-hoc read-only SQL over the `events` table while the stack runs."""
    reply = with_nats(
        lambda nc: call(nc, rpc_subject("ledger", "sql"), SqlRequest(sql=statement, max_rows=max_rows), SqlReply, timeout=QUERY_TIMEOUT_S)
    )
    print_sql_reply(reply, Format.json if as_json else format, max_rows)


def print_sql_reply(reply: SqlReply, fmt: Format, max_rows: int) -> None:
    """An SQL answer as JSON, CSV or a table (shared by `audit sql` and `telemetry sql`)."""
    if fmt is Format.json:
        print_json(reply.model_dump())
    elif fmt is Format.csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(reply.columns)
        writer.writerows(reply.rows)
    else:
        table = Table(show_lines=False)
        for column in reply.columns:
            table.add_column(Text(str(column)))
        for row in reply.rows:  # cells are data, never rich markup: "[/x]" in a value prints as itself
            table.add_row(*(Text("" if v is None else str(v)) for v in row))
        console.print(table)
        if reply.truncated:
            console.print(f"[yellow]only the first {max_rows} rows are shown (--max-rows)[/]")


@app.command("verify")
def verify(as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False) -> None:
    """Recompute the warehouse's SHA-256 hash chain; exit 1 naming the first broken row."""
    reply = with_nats(lambda nc: call(nc, rpc_subject("ledger", "verify"), VerifyRequest(), VerifyReply, timeout=600.0))
    if as_json:
        print_json(reply.model_dump())
    elif reply.ok:
        console.print(f"chain verified: {reply.rows_checked} rows, no break")
    else:
        console.print(
            f"chain broken at row {reply.first_broken_row} (id {reply.broken_id!r}, source {reply.broken_source!r}): {reply.reason}",
            markup=False,
        )
    if not reply.ok:
        raise typer.Exit(EXIT_NO)
