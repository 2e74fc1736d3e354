"""`plugyard keys new`: a publisher key (secp256k1) in an encrypted keystore."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from plugyard_artifacts.keys import KeyFileError, PassphraseError, new_key, passphrase_from_env_or_prompt, save_key
from plugyard_cli.output import EXIT_USAGE, CliError, console, print_json

app = typer.Typer(help="Publisher keys (Ethereum-style secp256k1).", no_args_is_help=True)


@app.command("new")
def new(
    out: Annotated[Path, typer.Option("--out", help="Where to write the key file (must not exist)")],
    insecure_plain: Annotated[bool, typer.Option("--insecure-plain", help="Write the private key unencrypted (tests only)")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Make a publisher key; the passphrase comes from PLUGYARD_KEY_PASSPHRASE or a prompt."""
    account = new_key()
    try:
        passphrase = None if insecure_plain else passphrase_from_env_or_prompt(True)
        save_key(account, out, passphrase=passphrase, plain=insecure_plain)
    except (KeyFileError, PassphraseError, FileExistsError, OSError, ValueError) as exc:
        raise CliError(str(exc), code="invalid_request", exit_code=EXIT_USAGE) from None
    if as_json:
        print_json({"address": account.address, "path": str(out), "encrypted": not insecure_plain})
    else:
        console.print(f"publisher key {account.address} written to {out}" + (" (UNENCRYPTED)" if insecure_plain else ""), markup=False)
