"""`plugyard bench NAME==VERSION`: a version against a baseline, called alternately on one loader host, compared."""

from __future__ import annotations

import dataclasses
from contextlib import nullcontext
from typing import Annotated, Any

import typer
from packaging.version import InvalidVersion, Version
from rich.table import Table

from plugyard_cli.bench_stats import CONFIDENCE, Comparison, VersionStats, compare
from plugyard_cli.bus import with_nats
from plugyard_cli.commands.plugins import Host, Json, loader_call
from plugyard_cli.commands.registry import split_pin
from plugyard_cli.output import EXIT_NO, EXIT_USAGE, CliError, console, err_console, print_json
from plugyard_core.json_limits import JsonLimitExceeded, loads_within_limits
from plugyard_core.rpc import call
from plugyard_core.streams import rpc_subject
from plugyard_schemas.loader import BenchReply, BenchRequest
from plugyard_schemas.registry import InfoReply, InfoRequest

MAX_CALLS = 10_000  # BenchRequest's bounds, checked here before anything is asked
MAX_TIMEOUT_S = 300.0
START_MARGIN_S = 60.0  # beside the calls: two workers started (15 s each at most), the registry asked, the workers stopped
INSTALLABLE = ("cleared", "warned")


def usage(message: str) -> CliError:
    return CliError(message, code="invalid_request", exit_code=EXIT_USAGE)


def bench_call(host: str | None, request: BenchRequest, timeout: float) -> BenchReply:
    """Ask the loader host that `ps` and `load` would choose."""
    return loader_call(host, "bench", request, BenchReply, timeout)


def registry_info(name: str) -> InfoReply:
    return with_nats(lambda nc: call(nc, rpc_subject("registry", "info"), InfoRequest(name=name), InfoReply))


def baseline_below(info: InfoReply, version: str) -> str:
    """The highest version below `version` that a loader would install: not yanked, cleared or warned."""
    below = []
    for v in info.versions:
        try:
            if not v.yanked and v.status in INSTALLABLE and Version(v.version) < Version(version):
                below.append(v.version)
        except InvalidVersion:
            continue
    if not below:
        raise CliError(f"{info.name} has no installable version below {version} to compare with: name one with --against", code="not_found")
    return max(below, key=Version)


def parse_args(text: str) -> dict[str, Any]:
    try:
        value = loads_within_limits(text)
    except JsonLimitExceeded as exc:
        raise usage(f"--args is refused: {exc}") from None
    except ValueError as exc:
        raise usage(f"--args is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise usage(f"--args must be a JSON object of arguments, not {type(value).__name__}")
    return value


def bench(
    spec: Annotated[str, typer.Argument(metavar="NAME==VERSION", help="The version under test")],
    action: Annotated[str, typer.Option("--action", help="The action to call")],
    args: Annotated[str, typer.Option("--args", help="Its arguments, a JSON object, the same for every call")] = "{}",
    against: Annotated[str | None, typer.Option("--against", metavar="VERSION", help="The baseline (default: the highest installable version below VERSION that is not yanked)")] = None,
    calls: Annotated[int, typer.Option("--calls", help=f"Calls per version (1..{MAX_CALLS})")] = 100,
    timeout: Annotated[float, typer.Option("--timeout", help=f"Seconds one call may take (at most {MAX_TIMEOUT_S:g})")] = 30.0,
    host: Host = None,
    as_json: Json = False,
) -> None:
    """Compare a version with a baseline on one loader host: a temporary worker of each (both must be installed there),
    called alternately, then medians, percentiles, and the ratio of medians with its 95% confidence interval."""
    name, version = split_pin(spec)
    arguments = parse_args(args)
    if not 1 <= calls <= MAX_CALLS:
        raise usage(f"--calls must be from 1 to {MAX_CALLS}, not {calls}")
    if not 0 < timeout <= MAX_TIMEOUT_S:
        raise usage(f"--timeout must be above 0 and at most {MAX_TIMEOUT_S:g} seconds, not {timeout:g}")
    if against == version:
        raise usage(f"--against must name another version than {version}")
    if against is None:
        try:
            Version(version)
        except InvalidVersion:
            raise usage(f"{version!r} is not a version; name the baseline with --against") from None
        against = baseline_below(registry_info(name), version)
    request = BenchRequest(name=name, version=version, against=against, action=action, args=arguments, calls=calls, timeout_s=timeout)
    waiting = f"benching {name} {version} against {against}: {calls} calls of {action} each"
    with err_console.status(waiting, spinner="dots") if not as_json else nullcontext():
        reply = bench_call(host, request, calls * 2 * timeout + START_MARGIN_S)
    with err_console.status("computing the confidence intervals", spinner="dots") if not as_json else nullcontext():
        comparison = compare(reply.version, reply.against, reply.calls, reply.latencies_ms, reply.error_codes)
    if as_json:
        print_json(bench_document(request, reply, comparison))
    else:
        print_comparison(reply, comparison)
    if not comparison.comparable:
        raise typer.Exit(EXIT_NO)


def bench_document(request: BenchRequest, reply: BenchReply, comparison: Comparison) -> dict[str, Any]:
    return {
        **request.model_dump(mode="json"),
        "host": reply.host,
        "stats": {s.version: dataclasses.asdict(s) for s in (comparison.version, comparison.against)},
        "ratio": comparison.ratio,
        "ci": {"confidence": CONFIDENCE, "low": comparison.low, "high": comparison.high},
        "verdict": comparison.verdict,
        "reply": reply.model_dump(mode="json"),
    }


def print_comparison(reply: BenchReply, comparison: Comparison) -> None:
    console.print(f"{reply.name}.{reply.action} on {reply.host}: {reply.calls} calls per version, alternating; latencies in ms", markup=False)
    table = Table(box=None, header_style="bold")
    for column in ("version", "calls", "errors", "median", "p90", "p99", "mean (95% CI)"):
        table.add_column(column, justify="left" if column == "version" else "right", no_wrap=True)
    for stats, role in ((comparison.version, ""), (comparison.against, " (baseline)")):
        table.add_row(
            stats.version + role, str(stats.calls), str(stats.errors), _ms(stats.median_ms), _ms(stats.p90_ms), _ms(stats.p99_ms), _mean(stats),
        )
    console.print(table)
    for stats in (comparison.version, comparison.against):
        if stats.error_codes:
            codes = ", ".join(f"{code} {count}" for code, count in sorted(stats.error_codes.items()))
            console.print(f"{stats.version} errors: {codes}", markup=False)
    console.print(comparison.verdict, markup=False, highlight=False, soft_wrap=True)


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}" if value < 10 else f"{value:.1f}" if value < 1000 else f"{value:.0f}"


def _mean(stats: VersionStats) -> str:
    if stats.mean_ms is None:
        return "-"
    if stats.mean_low_ms is None or stats.mean_high_ms is None:
        return _ms(stats.mean_ms)
    return f"{_ms(stats.mean_ms)} ({_ms(stats.mean_low_ms)}..{_ms(stats.mean_high_ms)})"
