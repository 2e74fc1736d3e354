"""`plugyard cid FILE`: the CID `ipfs add --cid-version 1 --raw-leaves FILE` prints, computed here. No services needed."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from plugyard_cli.output import EXIT_USAGE, CliError, print_json


def cid(
    file: Annotated[Path, typer.Argument(help="The file (an archive from `plugyard pack`, or any file)")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output: file, size, cid, blocks.")] = False,
) -> None:
    """Print the file's IPFS CID, the one `ipfs add --cid-version 1 --raw-leaves` prints (256 KiB chunks, balanced
    DAG of 174 links a node): an archive's identity in Plugyard. The file is read a chunk at a time."""
    from plugyard_artifacts.unixfs import root_of  # here, not at the top: the CLI starts without it

    if file.is_dir():
        raise CliError(f"{file}: a directory, not a file", code="invalid_request", exit_code=EXIT_USAGE)
    try:
        root = root_of(file)
    except OSError as exc:
        raise CliError(f"{file}: {exc.strerror or exc}", code="invalid_request", exit_code=EXIT_USAGE) from None
    if as_json:
        print_json({"file": str(file), "size": root.size, "cid": root.cid, "blocks": root.blocks})
    else:
        sys.stdout.write(root.cid + "\n")
