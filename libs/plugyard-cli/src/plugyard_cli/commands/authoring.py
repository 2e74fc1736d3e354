"""`plugyard init` and `plugyard pack`: an author's first two steps."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from plugyard_artifacts.manifest import ManifestError
from plugyard_artifacts.pack import pack as pack_directory
from plugyard_artifacts.scaffold import scaffold
from plugyard_cli.output import EXIT_USAGE, CliError, console, print_json

JsonFlag = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def init(
    directory: Annotated[Path, typer.Argument(help="Where to create the plugin (must be empty or absent)")],
    name: Annotated[str, typer.Option("--name", help="The plugin's name")],
    as_json: JsonFlag = False,
) -> None:
    """Scaffold a working plugin: manifest, package with a `hello` action, and a test."""
    try:
        written = scaffold(directory, name)
    except (ValueError, FileExistsError, OSError) as exc:
        raise CliError(str(exc), code="invalid_request", exit_code=EXIT_USAGE) from None
    if as_json:
        print_json({"directory": str(directory), "files": [str(p) for p in written]})
    else:
        console.print(f"created plugin in {directory}:", markup=False)
        for path in written:
            console.print(f"  {path}", markup=False)


def pack(
    directory: Annotated[Path, typer.Argument(help="The plugin folder (with plugin.toml)")],
    out: Annotated[Path | None, typer.Option("--out", help="Archive path (default <name>-<version>.tar.gz here)")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Make a byte-for-byte reproducible archive and print its CID."""
    try:
        result = pack_directory(directory, out)
    except (ManifestError, ValueError, OSError) as exc:
        raise CliError(str(exc), code="invalid_request", exit_code=EXIT_USAGE) from None
    fields = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(result).items()}
    if as_json:
        print_json(fields)
    else:
        console.print(f"{result.path}  {result.size} bytes\n  sha256 {result.sha256}\n  cid    {result.cid}", markup=False)
