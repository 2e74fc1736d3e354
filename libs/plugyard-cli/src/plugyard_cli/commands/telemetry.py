"""`plugyard top`, `plugyard telemetry show|chart|sql`, `plugyard alerts`, `plugyard recommendations`: questions
to the telemetry service (`plugyard.rpc.telemetry.<verb>`) while the stack runs.

Every question goes through `telemetry_call`, one connection per question, so `top` keeps refreshing (and says
so when a refresh fails) across a restart of the telemetry service or of NATS.
"""

from __future__ import annotations

import time
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError

from plugyard_cli.bus import with_nats
from plugyard_cli.commands.audit import Format, print_sql_reply
from plugyard_cli.output import EXIT_USAGE, CliError, console, print_json
from plugyard_cli.telemetry_render import (
    ArgumentProblem,
    alerts_table,
    lines_text,
    parse_duration,
    parse_name_version,
    recommendations_lines,
    show_renderable,
    top_view,
)
from plugyard_core.rpc import call, describe_validation_error
from plugyard_core.streams import rpc_subject
from plugyard_schemas.ledger import SqlReply, SqlRequest
from plugyard_schemas.telemetry import (
    AlertsReply,
    AlertsRequest,
    RecommendationsReply,
    RecommendationsRequest,
    ShowReply,
    ShowRequest,
    TopReply,
    TopRequest,
)

app = typer.Typer(help="Plugin telemetry: trends per plugin, charts, and SQL over the samples.", no_args_is_help=True)

TOP_TIMEOUT_S = 10.0
SHOW_TIMEOUT_S = 30.0
SQL_TIMEOUT_S = 60.0
ALERTS_TIMEOUT_S = 10.0
RECOMMENDATIONS_TIMEOUT_S = 30.0

ReplyT = TypeVar("ReplyT", bound=BaseModel)
ModelT = TypeVar("ModelT", bound=BaseModel)

Json = Annotated[bool, typer.Option("--json", help="Machine-readable output: the service's reply.")]
Plugin = Annotated[str, typer.Argument(metavar="NAME[==VERSION]", help="A plugin, or one version of it (textkit==1.2.0)")]
Since = Annotated[str, typer.Option("--since", help="How far back: 30s, 15m, 1h, 7d, 4w")]


class Grouping(str, Enum):
    action = "action"
    host = "host"
    version = "version"


By = Annotated[Grouping | None, typer.Option("--by", help="One group per action, host or version")]


def telemetry_call(verb: str, request: BaseModel, reply_type: type[ReplyT], timeout: float) -> ReplyT:
    """Ask the telemetry service: one connection, one request, the reply model (errors become CliError)."""
    return with_nats(lambda nc: call(nc, rpc_subject("telemetry", verb), request, reply_type, timeout=timeout))


def _request(model: type[ModelT], **fields: Any) -> ModelT:
    """The request model, with a value out of its bounds reported as a usage error naming the field."""
    try:
        return model(**fields)
    except ValidationError as exc:
        raise CliError(describe_validation_error(exc), code="invalid_request", exit_code=EXIT_USAGE) from None


def _usage(problem: Exception) -> CliError:
    return CliError(str(problem), code="invalid_request", exit_code=EXIT_USAGE)


def _show_request(plugin: str, since: str, by: Grouping | None, points: int) -> ShowRequest:
    try:
        name, version = parse_name_version(plugin)
        since_s = parse_duration(since)
    except ArgumentProblem as problem:
        raise _usage(problem) from None
    if not 2 <= points <= 500:
        raise CliError(f"--points {points}: between 2 and 500 points", code="invalid_request", exit_code=EXIT_USAGE)
    return _request(ShowRequest, name=name, version=version, since_s=since_s, by=by.value if by else None, points=points)


# --- plugyard top ----------------------------------------------------------------------------------------------


def top(
    once: Annotated[bool, typer.Option("--once", help="Print one table and exit")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the service's reply once, machine-readable")] = False,
    window: Annotated[float, typer.Option("--window", help="Rates and percentiles over the last this many seconds")] = 60.0,
    interval: Annotated[float, typer.Option("--interval", help="Seconds between refreshes")] = 2.0,
) -> None:
    """Running plugins across hosts: calls/s, errors, latency, cpu, memory, restarts; refreshed until Ctrl-C."""
    if not 0 < window <= 24 * 3600:
        raise CliError(f"--window {window:g}: above 0 and at most 86400 seconds", code="invalid_request", exit_code=EXIT_USAGE)
    if not 0.1 <= interval <= 3600:
        raise CliError(f"--interval {interval:g}: at least 0.1 and at most 3600 seconds", code="invalid_request", exit_code=EXIT_USAGE)
    request = _request(TopRequest, window_s=window)
    if as_json:
        print_json(telemetry_call("top", request, TopReply, TOP_TIMEOUT_S).model_dump())
        return
    if once:
        console.print(top_view(telemetry_call("top", request, TopReply, TOP_TIMEOUT_S)))
        return
    from rich.live import Live

    try:
        reply = telemetry_call("top", request, TopReply, TOP_TIMEOUT_S)  # the first failure is the command's error
        with Live(top_view(reply), console=console, auto_refresh=False) as live:
            while True:
                time.sleep(interval)
                try:
                    reply = telemetry_call("top", request, TopReply, TOP_TIMEOUT_S)
                    live.update(top_view(reply), refresh=True)
                except CliError as error:  # keep the last table, say what went wrong, try again next time
                    live.update(top_view(reply, problem=f"refresh failed: {error.message} (retrying every {interval:g}s)"), refresh=True)
    except KeyboardInterrupt:
        return


# --- plugyard telemetry show / chart / sql ---------------------------------------------------------------------


@app.command("show")
def show(
    plugin: Plugin,
    since: Since = "1h",
    by: By = None,
    as_json: Json = False,
    points: Annotated[int, typer.Option("--points", help="Points in each trend (2-500)")] = 30,
) -> None:
    """A plugin's calls, errors, latency, cpu and memory over a span, with trends, and its loads/reloads/crashes."""
    request = _show_request(plugin, since, by, points)
    reply = telemetry_call("show", request, ShowReply, SHOW_TIMEOUT_S)
    if as_json:
        print_json(reply.model_dump())
    else:
        console.print(show_renderable(reply))


@app.command("chart")
def chart(
    plugin: Plugin,
    out: Annotated[Path, typer.Option("--out", help="The chart to write: FILE.png or FILE.svg")],
    since: Since = "1h",
    by: By = None,
    points: Annotated[int, typer.Option("--points", help="Points in each line (2-500)")] = 120,
    as_json: Annotated[bool, typer.Option("--json", help='Print {"path": ..., "series": [...]}')] = False,
) -> None:
    """Draw a plugin's latency, calls & errors, cpu and memory over the span, with its version marks, into a file."""
    from plugyard_cli.telemetry_chart import ChartProblem, chart_series, check_chart_path, draw_chart

    try:
        check_chart_path(out)  # before asking anything
    except ChartProblem as problem:
        raise _usage(problem) from None
    request = _show_request(plugin, since, by, points)
    reply = telemetry_call("show", request, ShowReply, SHOW_TIMEOUT_S)
    try:
        written = draw_chart(reply, out)
    except ChartProblem as problem:
        raise CliError(str(problem), code="error") from None
    if as_json:
        print_json({"path": str(written), "series": chart_series(reply)})
    else:
        console.print(f"wrote {written}", markup=False, highlight=False)


@app.command("sql")
def sql(
    statement: Annotated[str, typer.Argument(help="A read-only SELECT over the telemetry tables; anything else is refused.")],
    format: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
    as_json: Annotated[bool, typer.Option("--json", help="Shorthand for --format json.")] = False,
    max_rows: Annotated[int, typer.Option("--max-rows", min=1, help="Return at most this many rows.")] = 10_000,
) -> None:
    """Run ad-hoc read-only SQL over the telemetry samples while the stack runs."""
    request = _request(SqlRequest, sql=statement, max_rows=max_rows)
    reply = telemetry_call("sql", request, SqlReply, SQL_TIMEOUT_S)
    print_sql_reply(reply, Format.json if as_json else format, max_rows)


# --- plugyard alerts / recommendations -------------------------------------------------------------------------


def alerts(
    open_only: Annotated[bool, typer.Option("--open", help="Only the alerts still open")] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000, help="At most this many, newest first")] = 200,
    as_json: Json = False,
) -> None:
    """Alerts raised on plugins: the rule, the metric's value against its threshold, when raised and resolved."""
    reply = telemetry_call("alerts", _request(AlertsRequest, open_only=open_only, limit=limit), AlertsReply, ALERTS_TIMEOUT_S)
    if as_json:
        print_json(reply.model_dump())
    else:
        console.print(alerts_table(reply, open_only=open_only))


def recommendations(
    name: Annotated[str | None, typer.Argument(help="Only this plugin's recommendations")] = None,
    as_json: Json = False,
) -> None:
    """What to change about plugins, each with the measurement behind it, its threshold, and the evidence."""
    request = _request(RecommendationsRequest, name=name)
    reply = telemetry_call("recommendations", request, RecommendationsReply, RECOMMENDATIONS_TIMEOUT_S)
    if as_json:
        print_json(reply.model_dump())
    else:
        console.print(lines_text(recommendations_lines(reply, name)), soft_wrap=True)
