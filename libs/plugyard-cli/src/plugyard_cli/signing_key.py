"""Loading a publisher's key for the commands that sign: a plain key needs nothing, a keystore its passphrase."""

from __future__ import annotations

from pathlib import Path

from plugyard_artifacts.keys import KeyFileError, PassphraseError, load_key, passphrase_from_env_or_prompt
from plugyard_cli.output import EXIT_USAGE, CliError


def load_signing_key(path: Path):
    try:
        try:
            return load_key(path, passphrase=None)
        except (KeyFileError, PassphraseError) as exc:
            if "passphrase" not in str(exc).lower():
                raise
        return load_key(path, passphrase=passphrase_from_env_or_prompt(False))
    except (KeyFileError, PassphraseError) as exc:
        raise CliError(str(exc), code="invalid_request", exit_code=EXIT_USAGE) from None
