"""Credentials and server configuration for a stack's bus: what `plugyard up` and `plugyard bus config` share."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from plugyard_cli.output import EXIT_USAGE, CliError
from plugyard_core.bus_config import TlsFiles, authorization_block, tls_block
from plugyard_core.bus_identities import Identity, ensure_identities
from plugyard_core.bus_permissions import bus_identities
from plugyard_core.settings import NATS_CA_FILE


@dataclass(frozen=True)
class BusSetup:
    identities: dict[str, Identity]
    tls: TlsFiles | None

    def server_blocks(self) -> tuple[str, ...]:
        blocks = [authorization_block(self.identities)]
        if self.tls:
            blocks.append(tls_block(self.tls))
        return tuple(blocks)


def tls_files(cert: Path | None, key: Path | None) -> TlsFiles | None:
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        raise CliError("TLS needs both --tls-cert and --tls-key", code="invalid_request", exit_code=EXIT_USAGE)
    for path, what in ((cert, "certificate"), (key, "key")):
        if not path.is_file():
            raise CliError(f"the TLS {what} {path} is not a readable file", code="invalid_request", exit_code=EXIT_USAGE)
    return TlsFiles(cert.resolve(), key.resolve())


def prepare_bus(directory: Path, *, cert: Path | None = None, key: Path | None = None, ca: Path | None = None) -> BusSetup:
    """Write any missing seed files (never replacing one), and the CA every command then trusts."""
    tls = tls_files(cert, key)
    if ca is not None:
        if not ca.is_file():
            raise CliError(f"the CA certificate {ca} is not a readable file", code="invalid_request", exit_code=EXIT_USAGE)
        shutil.copyfile(ca, directory / NATS_CA_FILE)
    return BusSetup(ensure_identities(bus_identities(), directory), tls)
