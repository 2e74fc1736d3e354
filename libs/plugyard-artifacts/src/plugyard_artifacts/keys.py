"""Publisher keys: secp256k1 accounts (eth-account) kept in encrypted Ethereum V3 keystores.

A key file is either a standard V3 keystore (scrypt, readable by geth and other Ethereum tools) or,
for tests only, a plain JSON file marked `"insecure_plain": true`. Both are created with mode 0600
and never overwrite an existing file. Addresses are EIP-55 checksum strings everywhere.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_keyfile.exceptions import EthKeyfileValueError
from eth_utils import to_checksum_address

PASSPHRASE_ENV = "PLUGYARD_KEY_PASSPHRASE"
# eth-account's own default (N=2^18, r=8, p=1, as geth uses): about 1 s to save or load here.
DEFAULT_SCRYPT_N = 2**18

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


class KeyFileError(ValueError):
    """A key file that cannot be written, read or unlocked; the message names the file."""


class PassphraseError(ValueError):
    """No passphrase could be had (no env var and no terminal), or the two entries differed."""


def normalize_address(text: str) -> str:
    """The EIP-55 checksum form of an address; mixed case must already be a valid checksum."""
    candidate = text.strip() if isinstance(text, str) else ""
    if not _ADDRESS.fullmatch(candidate):
        raise ValueError(f"{text!r} is not an address: expected 0x followed by 40 hex digits")
    checksummed = to_checksum_address(candidate)
    digits = candidate[2:]
    # All-lower or all-upper carries no checksum; mixed case does, and a mismatch means a typo.
    if digits != digits.lower() and digits != digits.upper() and candidate != checksummed:
        raise ValueError(f"{candidate} has a wrong EIP-55 checksum (a typo?); the checksummed form of these digits is {checksummed}")
    return checksummed


def new_key() -> LocalAccount:
    """A fresh random publisher key."""
    return Account.create()


def save_key(
    account: LocalAccount,
    path: str | Path,
    *,
    passphrase: str | None,
    plain: bool = False,
    scrypt_n: int = DEFAULT_SCRYPT_N,
) -> None:
    """Write `account` to a new file at `path` (mode 0600), encrypted with `passphrase` unless `plain`.

    `scrypt_n` is the scrypt work factor; only tests should lower it.
    """
    path = Path(path)
    if plain:
        if passphrase is not None:
            raise ValueError("a plain key file is not encrypted: give a passphrase or plain=True, not both")
        document: dict[str, Any] = {
            "address": account.address,
            "private_key": "0x" + bytes(account.key).hex(),
            "insecure_plain": True,
        }
    else:
        if passphrase is None:
            raise KeyFileError(f"a passphrase is required to encrypt keystore {path} (set {PASSPHRASE_ENV})")
        if passphrase == "":
            raise KeyFileError(f"an empty passphrase would leave keystore {path} unprotected; choose a passphrase")
        document = Account.encrypt(account.key, passphrase, kdf="scrypt", iterations=scrypt_n)
    _write_new_private_file(path, json.dumps(document, indent=2) + "\n")


def load_key(path: str | Path, *, passphrase: str | None) -> LocalAccount:
    """Read a key file, telling a V3 keystore (needs `passphrase`) from a plain one (ignores it)."""
    path = Path(path)
    document = _read_json(path)
    if not isinstance(document, dict):
        raise KeyFileError(f"key file {path} is not a keystore: expected a JSON object")
    if document.get("insecure_plain") is True:
        return _load_plain(path, document)
    if "crypto" in (str(key).lower() for key in document):
        return _decrypt_keystore(path, document, passphrase)
    raise KeyFileError(f"key file {path} is not a keystore: neither an Ethereum V3 keystore nor a plain Plugyard key")


def passphrase_from_env_or_prompt(confirm: bool, *, prompt: str = "Key passphrase: ") -> str:
    """`PLUGYARD_KEY_PASSPHRASE` if set and not empty, else asked on the terminal (twice if `confirm`)."""
    from_env = os.environ.get(PASSPHRASE_ENV)
    if from_env:
        return from_env
    if sys.stdin is None or not sys.stdin.isatty():
        raise PassphraseError(f"no passphrase: set {PASSPHRASE_ENV}, or run in a terminal to be asked for one")
    passphrase = getpass.getpass(prompt)
    if confirm and getpass.getpass("Repeat the passphrase: ") != passphrase:
        raise PassphraseError("the two passphrases differ")
    return passphrase


def _write_new_private_file(path: Path, text: str) -> None:
    try:
        # O_EXCL refuses an existing file, and a symlink planted at the path, atomically.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyFileError(f"key file {path} already exists; refusing to overwrite it") from None
    except OSError as exc:
        raise KeyFileError(f"cannot create key file {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), 0o600)  # the umask may have narrowed it further; the owner must read it back
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def _read_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise KeyFileError(f"key file {path} does not exist") from None
    except IsADirectoryError:
        raise KeyFileError(f"key file {path} is a directory") from None
    except UnicodeDecodeError:
        raise KeyFileError(f"key file {path} is not JSON (not even UTF-8 text)") from None
    except OSError as exc:
        raise KeyFileError(f"cannot read key file {path}: {exc.strerror}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise KeyFileError(f"key file {path} is not JSON ({exc.msg} at line {exc.lineno})") from None


def _load_plain(path: Path, document: dict[str, Any]) -> LocalAccount:
    try:
        account = Account.from_key(document["private_key"])
    except Exception:
        raise KeyFileError(f"plain key file {path} has no valid private_key") from None
    _check_stored_address(path, document.get("address"), account)
    return account


def _decrypt_keystore(path: Path, document: dict[str, Any], passphrase: str | None) -> LocalAccount:
    if document.get("version") != 3:
        raise KeyFileError(f"keystore {path} has version {document.get('version')!r}; only version 3 keystores hold secp256k1 keys")
    if passphrase is None:
        raise KeyFileError(f"keystore {path} is encrypted: a passphrase is required (set {PASSPHRASE_ENV} or run in a terminal)")
    try:
        private_key = Account.decrypt(document, passphrase)
    except EthKeyfileValueError as exc:
        if "MAC mismatch" in str(exc):
            raise KeyFileError(f"wrong passphrase for keystore {path}") from None
        raise KeyFileError(f"keystore {path} is damaged: {exc}") from None
    except Exception as exc:  # eth-keyfile reports missing or malformed fields as KeyError, TypeError, ...
        raise KeyFileError(f"keystore {path} is damaged: {type(exc).__name__}: {exc}") from None
    account = Account.from_key(private_key)
    stored = document.get("address")
    if isinstance(stored, str) and not stored.startswith(("0x", "0X")):
        stored = "0x" + stored
    _check_stored_address(path, stored, account)
    return account


def _check_stored_address(path: Path, stored: Any, account: LocalAccount) -> None:
    if stored is None:
        return
    if not isinstance(stored, str) or stored.lower() != account.address.lower():
        raise KeyFileError(f"key file {path} is damaged: it names address {stored!r} but holds the key of {account.address}")
