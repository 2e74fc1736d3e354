"""The `plugyard` command: one place that assembles the sub-commands and turns failures into exit codes."""

from __future__ import annotations

import sys

import typer

from plugyard_cli.commands import audit, authoring, bench, bus, cid, dev, events, keys, market, plugins, registry, registry_admin, rescan, scan, stack, telemetry, verdict
import logging

from plugyard_cli.output import EXIT_INTERNAL, EXIT_USAGE, CliError, report_error

app = typer.Typer(
    name="plugyard",
    help="Plugyard: find, check, run and watch third-party plugins.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("up")(stack.up)
app.command("status")(stack.status)
app.command("service")(stack.service)
app.add_typer(bus.app, name="bus")
app.add_typer(events.app, name="events")
app.add_typer(audit.app, name="audit")
app.add_typer(keys.app, name="keys")
app.add_typer(market.app, name="market")
app.command("init")(authoring.init)
app.command("pack")(authoring.pack)
app.command("cid")(cid.cid)
app.command("publish")(registry.publish)
app.command("yank")(registry.yank)
app.command("deprecate")(registry.deprecate)
app.add_typer(registry.owners_app, name="owners")
app.command("info")(registry.info)
app.command("search")(registry.search)
app.command("resolve")(registry.resolve)
app.command("verdict")(verdict.verdict)
app.add_typer(registry_admin.app, name="registry")
app.command("scan")(scan.scan)
app.command("rescan")(rescan.rescan)
app.command("install")(plugins.install)
app.command("load")(plugins.load)
app.command("unload")(plugins.unload)
app.command("reload")(plugins.reload)
app.command("ps")(plugins.ps)
app.command("invoke")(plugins.invoke)
app.command("dev")(dev.dev)
app.command("bench")(bench.bench)
app.command("top")(telemetry.top)
app.add_typer(telemetry.app, name="telemetry")
app.command("alerts")(telemetry.alerts)
app.command("recommendations")(telemetry.recommendations)


def run() -> None:
    """Console entry point: usage errors exit 64, our errors print one line, never a traceback."""
    logging.getLogger("plugyard.nats").setLevel(logging.ERROR)  # the CLI reports unreachable NATS itself
    as_json = "--json" in sys.argv or "--format=json" in sys.argv or ("--format" in sys.argv and "json" in sys.argv)
    try:
        code = app(standalone_mode=False)
    except CliError as error:
        report_error(error, as_json=as_json)
        sys.exit(error.exit_code)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except typer.Abort:
        sys.exit(130)
    except typer.TyperException as error:  # typer's usage errors
        report_error(CliError(error.format_message(), code="invalid_request", exit_code=EXIT_USAGE), as_json=as_json)
        sys.exit(EXIT_USAGE)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as error:  # the last line of defence: one line, exit 70
        report_error(CliError(f"internal error: {type(error).__name__}: {error}", code="internal", exit_code=EXIT_INTERNAL), as_json=as_json)
        sys.exit(EXIT_INTERNAL)
    sys.exit(code if isinstance(code, int) else 0)
