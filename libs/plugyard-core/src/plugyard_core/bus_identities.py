"""Who is who on the bus: one nkey per service, `client` and `admin`, each a seed file in `<data-dir>/creds/`.

A seed file holds the identity's private nkey seed (`SU…`) and nothing else; nats-py reads it with
`nkeys_seed=`. The server's configuration holds only the public keys (`U…`).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import nkeys

from plugyard_core import settings

CLIENT = "client"
ADMIN = "admin"
CREDS_DIR = "creds"
SEED_SUFFIX = ".nk"
CREDS_ENV = "PLUGYARD_NATS_CREDS"


class CredentialsError(ValueError):
    """A seed file that cannot be read or is not a user nkey seed."""


@dataclass(frozen=True)
class Identity:
    name: str
    seed_file: Path
    public_key: str

    @property
    def inbox_prefix(self) -> str | None:
        """None for `client`: plain nats-py clients of other systems use the default `_INBOX.`."""
        return None if self.name == CLIENT else private_inbox_prefix(self.public_key)


def private_inbox_prefix(public_key: str) -> str:
    # A service's replies come to inboxes under its own public key, outside `_INBOX.>` where every client
    # subscribes, so the server lets no other identity read them.
    return f"_INBOX_{public_key}"


def creds_dir(data_directory: str | Path | None = None) -> Path:
    return settings.data_dir(data_directory) / CREDS_DIR


def seed_path(identity: str, data_directory: str | Path | None = None) -> Path:
    return creds_dir(data_directory) / f"{identity}{SEED_SUFFIX}"


def new_seed() -> bytes:
    return nkeys.encode_seed(secrets.token_bytes(32), nkeys.PREFIX_BYTE_USER)


def read_identity(path: Path, name: str | None = None) -> Identity:
    try:
        seed = path.read_bytes().strip()
    except OSError as exc:
        raise CredentialsError(f"cannot read the NATS credentials {path}: {exc.strerror or exc}") from None
    try:
        key = nkeys.from_seed(bytearray(seed))
        public = key.public_key.decode()
    except Exception:  # nkeys raises its own error per way a seed can be malformed
        raise CredentialsError(f"{path} is not an nkey seed file (expected one line starting with 'SU')") from None
    if not public.startswith("U"):
        raise CredentialsError(f"{path} holds a {public[:1]!r} nkey; a connection needs a user nkey ('SU…' seed)")
    return Identity(name or path.name.removesuffix(SEED_SUFFIX), path, public)


def ensure_identity(name: str, data_directory: str | Path | None = None) -> Identity:
    """The identity's seed file, created (0600, in a 0700 folder) when missing; never overwritten."""
    path = seed_path(name, data_directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(new_seed() + b"\n")
    return read_identity(path, name)


def ensure_identities(names: list[str] | tuple[str, ...], data_directory: str | Path | None = None) -> dict[str, Identity]:
    return {name: ensure_identity(name, data_directory) for name in names}


def credentials_for(identity: str, data_directory: str | Path | None = None, *, from_env: bool = True) -> Identity | None:
    """The seed this process connects with: `PLUGYARD_NATS_CREDS` (unless not `from_env`), else
    `<data-dir>/creds/<identity>.nk` when it exists, else None (a server without authentication)."""
    explicit = os.environ.get(CREDS_ENV) if from_env else None
    if explicit:
        return read_identity(Path(explicit))
    path = seed_path(identity, data_directory)
    return read_identity(path, identity) if path.exists() else None
