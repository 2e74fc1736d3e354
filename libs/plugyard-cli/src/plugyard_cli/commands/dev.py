"""`plugyard dev DIR`: run a local plugin folder on the loader, unscanned (loudly), and reload it on every save,
after running the scanner's analysis on the change and showing the findings it did not show before."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Annotated

import typer

from plugyard_analysis.report import where
from plugyard_analysis.worker import analyse_in_worker
from plugyard_artifacts.manifest import MANIFEST_NAME, ManifestError, load_manifest
from plugyard_cli.commands.plugins import LOAD_TIMEOUT_S, Host, Json, loader_call
from plugyard_cli.output import EXIT_USAGE, CliError, console, err_console, print_json
from plugyard_schemas.loader import LoadRequest, PluginReply, ReloadRequest, UnloadRequest
from plugyard_schemas.scanner import Finding

FindingKey = tuple[str, str | None, int | None, str]


def _key(finding: Finding) -> FindingKey:
    return (finding.rule, finding.path, finding.line, finding.message)


def _scan(folder: Path, seen: set[FindingKey], as_json: bool) -> set[FindingKey]:
    """Analyse the folder as the scanner would; print the findings not seen before; return every finding's key."""
    with err_console.status("scanning the change", spinner="dots") if not as_json else nullcontext():
        report = analyse_in_worker(folder)
    keys = {_key(f) for f in report.findings}
    new = [f for f in report.findings if _key(f) not in seen]
    if as_json:
        print_json({"event": "scanned", "verdict": report.verdict, "new_findings": [f.model_dump(mode="json") for f in new]})
    else:
        err_console.print(f"scan: {report.verdict} ({len(report.findings)} findings, {len(new)} new)", markup=False)
        for finding in new:
            err_console.print(f"  new {finding.severity} {finding.rule} at {where(finding)}: {finding.message}", markup=False)
    return keys


def _announce(event: str, reply: PluginReply, as_json: bool) -> None:
    status = reply.plugin
    if as_json:
        print_json({"event": event, "plugin": status.model_dump()})
        return
    console.print(f"{event}: {status.name} {status.version} (pid {status.pid or '-'}, {status.state})", markup=False)


def dev(
    folder: Annotated[Path, typer.Argument(metavar="DIR", help="A plugin folder (with plugin.toml)")],
    host: Host = None,
    once: Annotated[bool, typer.Option("--once", help="Load it and exit, without watching (for scripts)")] = False,
    as_json: Json = False,
) -> None:
    """Run a local plugin folder in the sandbox, unscanned, and reload it on every save (watchfiles)."""
    folder = folder.resolve()
    try:
        name = load_manifest(folder / MANIFEST_NAME).plugin.name
    except (ManifestError, OSError) as exc:
        raise CliError(f"{folder}: {exc}", code="invalid_request", exit_code=EXIT_USAGE) from None
    if not as_json:
        err_console.print(f"WARNING: {name} from {folder} is NOT scanned by the registry: running it for development only", markup=False, style="bold yellow")
    seen = _scan(folder, set(), as_json)
    reply: PluginReply = loader_call(host, "load", LoadRequest(name=name, path=str(folder)), PluginReply, LOAD_TIMEOUT_S)
    _announce("loaded", reply, as_json)
    if once:
        return
    from watchfiles import watch  # imported here: only `dev` watches

    try:
        for changes in watch(folder, debounce=300, step=100):
            changed = sorted({Path(path).name for _, path in changes})
            if not as_json:
                err_console.print(f"changed: {', '.join(changed)}", markup=False)
            seen = _scan(folder, seen, as_json)
            try:
                reply = loader_call(host, "reload", ReloadRequest(name=name), PluginReply, LOAD_TIMEOUT_S)
            except CliError as exc:  # a broken save: say so and keep the previous worker serving
                if as_json:
                    print_json({"event": "reload_failed", "error": exc.message})
                else:
                    err_console.print(f"reload failed, the previous worker keeps serving: {exc.message}", markup=False)
                continue
            _announce("reloaded", reply, as_json)
    except KeyboardInterrupt:
        pass
    finally:
        try:
            loader_call(host, "unload", UnloadRequest(name=name), PluginReply, LOAD_TIMEOUT_S)
        except CliError:
            pass

