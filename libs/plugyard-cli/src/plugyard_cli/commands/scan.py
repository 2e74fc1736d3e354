"""`plugyard scan PATH`: the scanner's analysis, offline, on a plugin folder or archive. No services needed.

Exit status: 0 cleared, 1 warned, 2 quarantined, 3 the scan could not run.
"""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from plugyard_analysis.policy import PolicyError
from plugyard_analysis.report import ScanReport, where
from plugyard_analysis.sarif import to_sarif
from plugyard_analysis.worker import WorkerLimits, analyse_in_worker
from plugyard_cli.output import CliError, console, err_console, print_json

EXIT_SCAN_FAILED = 3
VERDICT_STYLE = {"cleared": "green", "warned": "yellow", "quarantined": "bold red"}
ACTION_STYLE = {"quarantine": "red", "warn": "yellow", "ignore": "dim"}


class Format(str, Enum):
    text = "text"
    json = "json"
    sarif = "sarif"


def scan(
    path: Annotated[Path, typer.Argument(help="A plugin folder (with plugin.toml) or a packed archive (.tar.gz)")],
    output_format: Annotated[Format, typer.Option("--format", help="text for people, json, or sarif (SARIF 2.1.0)")] = Format.text,
    policy: Annotated[Path | None, typer.Option("--policy", help="A policy file (TOML); default: the one shipped with Plugyard")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Same as --format json.")] = False,
    show_ignored: Annotated[bool, typer.Option("--all", help="Also list findings the policy ignores.")] = False,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds the analysis may take", min=1)] = 120.0,
) -> None:
    """Analyse a plugin as the scanner would: exit 0 cleared, 1 warned, 2 quarantined, 3 could not run."""
    chosen = Format.json if as_json else output_format
    if not path.exists():
        raise CliError(f"{path} does not exist", code="invalid_request", exit_code=EXIT_SCAN_FAILED)
    if not path.is_dir() and not path.is_file():
        raise CliError(f"{path} is neither a folder nor a file", code="invalid_request", exit_code=EXIT_SCAN_FAILED)
    policy_text, policy_source = _read_policy(policy)
    limits = WorkerLimits(wall_seconds=timeout, cpu_seconds=int(timeout))
    try:
        with err_console.status(f"scanning {path}…", spinner="dots") if chosen == Format.text and sys.stderr.isatty() else _nothing():
            report = analyse_in_worker(path, policy_text=policy_text, policy_source=policy_source, limits=limits)
    except PolicyError as exc:
        raise CliError(str(exc), code="invalid_request", exit_code=EXIT_SCAN_FAILED) from None
    report.target = str(path)
    if chosen == Format.json:
        print_json(report.as_json())
    elif chosen == Format.sarif:
        sys.stdout.write(json.dumps(to_sarif(report, path if path.is_dir() else None), indent=2) + "\n")
    else:
        print_text(report, show_ignored)
    raise typer.Exit(report.exit_code)


def _read_policy(policy: Path | None) -> tuple[str | None, str]:
    if policy is None:
        return None, "the default policy"
    try:
        return policy.read_text(encoding="utf-8"), str(policy)
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read the policy file {policy}: {exc}", code="invalid_request", exit_code=EXIT_SCAN_FAILED) from None


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *_: object) -> None:
        return None


def print_text(report: ScanReport, show_ignored: bool = False) -> None:
    style = VERDICT_STYLE[report.verdict]
    console.print(f"[{style}]{report.verdict.upper()}[/]  {report.target}")
    if report.verdict != "cleared":
        console.print(f"  {report.reason}", markup=False, highlight=False)
    shown = [f for f in report.findings if show_ignored or f.action != "ignore"]
    if shown:
        table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
        for column in ("action", "severity", "rule", "where", "finding"):
            table.add_column(column, overflow="fold")
        for f in shown:
            table.add_row(f"[{ACTION_STYLE.get(f.action or '', '')}]{f.action}[/]", f.severity, f.rule, where(f), f.message)
        console.print(table)
    hidden = len(report.findings) - len(shown)
    capabilities = ", ".join(report.capabilities) or "none"
    console.print(
        f"capabilities: {capabilities}\n{report.files} files, {report.python_files} Python ({report.lines} lines) in {report.duration_ms} ms"
        + (f"; {hidden} ignored findings hidden (--all shows them)" if hidden else ""),
        markup=False,
        highlight=False,
    )
