"""Publisher key files: encrypted keystores, plain test keys, passphrases and addresses."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from eth_account import Account

from plugyard_artifacts import keys
from plugyard_artifacts.keys import (
    DEFAULT_SCRYPT_N,
    KeyFileError,
    PassphraseError,
    load_key,
    new_key,
    normalize_address,
    passphrase_from_env_or_prompt,
    save_key,
)

FAST_SCRYPT_N = 2**10  # tests only: the real default takes about a second per save or load
PASSPHRASE = "correct horse battery staple"


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_new_key_has_a_checksum_address() -> None:
    account = new_key()
    assert account.address == normalize_address(account.address.lower())
    assert new_key().address != account.address


def test_keystore_round_trip_with_passphrase(tmp_path: Path) -> None:
    account = new_key()
    path = tmp_path / "publisher.json"
    save_key(account, path, passphrase=PASSPHRASE, scrypt_n=FAST_SCRYPT_N)

    document = json.loads(path.read_text())
    assert document["version"] == 3
    assert document["crypto"]["kdf"] == "scrypt"
    assert document["crypto"]["kdfparams"]["n"] == FAST_SCRYPT_N
    assert bytes(account.key).hex() not in path.read_text()

    loaded = load_key(path, passphrase=PASSPHRASE)
    assert loaded.address == account.address
    assert loaded.key == account.key


def test_default_kdf_is_full_strength_scrypt(tmp_path: Path) -> None:
    account = new_key()
    path = tmp_path / "publisher.json"
    save_key(account, path, passphrase=PASSPHRASE)
    kdfparams = json.loads(path.read_text())["crypto"]["kdfparams"]
    assert (kdfparams["n"], kdfparams["r"], kdfparams["p"]) == (DEFAULT_SCRYPT_N, 8, 1) == (2**18, 8, 1)
    assert load_key(path, passphrase=PASSPHRASE).address == account.address


def test_wrong_passphrase_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "publisher.json"
    save_key(new_key(), path, passphrase=PASSPHRASE, scrypt_n=FAST_SCRYPT_N)
    with pytest.raises(KeyFileError, match=f"^wrong passphrase for keystore {path}$"):
        load_key(path, passphrase="not it")


def test_keystore_without_passphrase_asks_for_one(tmp_path: Path) -> None:
    path = tmp_path / "publisher.json"
    save_key(new_key(), path, passphrase=PASSPHRASE, scrypt_n=FAST_SCRYPT_N)
    with pytest.raises(KeyFileError, match="passphrase is required") as caught:
        load_key(path, passphrase=None)
    assert str(path) in str(caught.value) and "PLUGYARD_KEY_PASSPHRASE" in str(caught.value)


@pytest.mark.parametrize("umask", [0o000, 0o277])
@pytest.mark.parametrize("plain", [False, True])
def test_key_files_are_0600_whatever_the_umask(tmp_path: Path, plain: bool, umask: int) -> None:
    path = tmp_path / "publisher.json"
    previous = os.umask(umask)
    try:
        save_key(new_key(), path, passphrase=None if plain else PASSPHRASE, plain=plain, scrypt_n=FAST_SCRYPT_N)
    finally:
        os.umask(previous)
    assert mode_of(path) == 0o600


@pytest.mark.parametrize("plain", [False, True])
def test_refuses_to_overwrite(tmp_path: Path, plain: bool) -> None:
    path = tmp_path / "publisher.json"
    path.write_text("precious")
    with pytest.raises(KeyFileError, match=f"key file {path} already exists"):
        save_key(new_key(), path, passphrase=None if plain else PASSPHRASE, plain=plain, scrypt_n=FAST_SCRYPT_N)
    assert path.read_text() == "precious"


def test_refuses_to_write_through_a_symlink(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("untouched")
    link = tmp_path / "publisher.json"
    link.symlink_to(target)
    with pytest.raises(KeyFileError, match="already exists"):
        save_key(new_key(), link, passphrase=None, plain=True)
    assert target.read_text() == "untouched"


def test_missing_directory_is_a_key_file_error(tmp_path: Path) -> None:
    path = tmp_path / "no-such-dir" / "publisher.json"
    with pytest.raises(KeyFileError, match=f"cannot create key file {path}"):
        save_key(new_key(), path, passphrase=None, plain=True)


def test_encrypting_needs_a_real_passphrase(tmp_path: Path) -> None:
    path = tmp_path / "publisher.json"
    with pytest.raises(KeyFileError, match="passphrase is required"):
        save_key(new_key(), path, passphrase=None)
    with pytest.raises(KeyFileError, match="empty passphrase"):
        save_key(new_key(), path, passphrase="")
    with pytest.raises(ValueError, match="not both"):
        save_key(new_key(), path, passphrase=PASSPHRASE, plain=True)
    assert not path.exists()


def test_plain_key_round_trip(tmp_path: Path) -> None:
    account = new_key()
    path = tmp_path / "test-key.json"
    save_key(account, path, passphrase=None, plain=True)
    assert json.loads(path.read_text()) == {
        "address": account.address,
        "private_key": "0x" + bytes(account.key).hex(),
        "insecure_plain": True,
    }
    assert load_key(path, passphrase=None).address == account.address
    assert load_key(path, passphrase="ignored for plain keys").address == account.address


def test_reads_keystores_made_by_other_tools(tmp_path: Path) -> None:
    account = new_key()
    path = tmp_path / "geth-style.json"
    document = Account.encrypt(account.key, PASSPHRASE, kdf="pbkdf2", iterations=1000)
    document["Crypto"] = document.pop("crypto")  # geth writes the capitalized key
    path.write_text(json.dumps(document))
    assert load_key(path, passphrase=PASSPHRASE).address == account.address


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "does not exist"),
        ("{not json", "is not JSON"),
        (b"\xff\xfe\x00", "is not JSON"),
        ("[1, 2]", "is not a keystore"),
        ('{"hello": "world"}', "is not a keystore"),
        ('{"insecure_plain": true, "private_key": "0x1234"}', "has no valid private_key"),
        ('{"insecure_plain": true}', "has no valid private_key"),
        ('{"version": 4, "crypto": {}}', "only version 3"),
        ('{"version": 3, "crypto": {"kdf": "scrypt"}}', "is damaged"),
    ],
)
def test_unreadable_key_files_name_the_file(tmp_path: Path, content: str | bytes | None, reason: str) -> None:
    path = tmp_path / "key.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(KeyFileError, match=reason) as caught:
        load_key(path, passphrase=PASSPHRASE)
    assert str(path) in str(caught.value)


def test_directory_is_not_a_key_file(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match=f"key file {tmp_path} is a directory"):
        load_key(tmp_path, passphrase=None)


def test_address_that_does_not_match_the_key_is_refused(tmp_path: Path) -> None:
    account, other = new_key(), new_key()
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps({"address": other.address, "private_key": "0x" + bytes(account.key).hex(), "insecure_plain": True}))
    with pytest.raises(KeyFileError, match="holds the key of"):
        load_key(plain, passphrase=None)

    keystore = tmp_path / "keystore.json"
    document = Account.encrypt(account.key, PASSPHRASE, kdf="scrypt", iterations=FAST_SCRYPT_N)
    document["address"] = other.address[2:]
    keystore.write_text(json.dumps(document))
    with pytest.raises(KeyFileError, match="holds the key of"):
        load_key(keystore, passphrase=PASSPHRASE)


class FakeStdin:
    def __init__(self, tty: bool) -> None:
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_passphrase_from_env_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLUGYARD_KEY_PASSPHRASE", "from-env")
    monkeypatch.setattr(keys.getpass, "getpass", lambda prompt="": pytest.fail("must not prompt"))
    monkeypatch.setattr(keys.sys, "stdin", FakeStdin(tty=True))
    assert passphrase_from_env_or_prompt(confirm=True) == "from-env"


@pytest.mark.parametrize("stdin", [FakeStdin(tty=False), None])
def test_no_env_and_no_terminal_says_to_set_the_env_var(monkeypatch: pytest.MonkeyPatch, stdin: FakeStdin | None) -> None:
    monkeypatch.setenv("PLUGYARD_KEY_PASSPHRASE", "")  # set but empty counts as unset
    monkeypatch.setattr(keys.getpass, "getpass", lambda prompt="": pytest.fail("must not prompt"))
    monkeypatch.setattr(keys.sys, "stdin", stdin)
    with pytest.raises(PassphraseError, match="set PLUGYARD_KEY_PASSPHRASE"):
        passphrase_from_env_or_prompt(confirm=False)


def test_prompts_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLUGYARD_KEY_PASSPHRASE", raising=False)
    monkeypatch.setattr(keys.sys, "stdin", FakeStdin(tty=True))
    prompts: list[str] = []

    def answer(prompt: str = "") -> str:
        prompts.append(prompt)
        return "typed"

    monkeypatch.setattr(keys.getpass, "getpass", answer)
    assert passphrase_from_env_or_prompt(confirm=False) == "typed"
    assert len(prompts) == 1
    assert passphrase_from_env_or_prompt(confirm=True) == "typed"
    assert len(prompts) == 3


def test_confirmation_must_match(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLUGYARD_KEY_PASSPHRASE", raising=False)
    monkeypatch.setattr(keys.sys, "stdin", FakeStdin(tty=True))
    answers = iter(["first", "second"])
    monkeypatch.setattr(keys.getpass, "getpass", lambda prompt="": next(answers))
    with pytest.raises(PassphraseError, match="differ"):
        passphrase_from_env_or_prompt(confirm=True)


CHECKSUMMED = "0x5ce9454909639D2D17A3F753ce7d93fa0b9aB12E"


@pytest.mark.parametrize("text", [CHECKSUMMED, CHECKSUMMED.lower(), "0x" + CHECKSUMMED[2:].upper(), f"  {CHECKSUMMED}\n"])
def test_normalize_address_gives_the_checksum_form(text: str) -> None:
    assert normalize_address(text) == CHECKSUMMED


def test_normalize_address_catches_a_typo_in_a_checksummed_address() -> None:
    typo = CHECKSUMMED.replace("D2D", "d2D")
    with pytest.raises(ValueError, match=f"wrong EIP-55 checksum.*{CHECKSUMMED}"):
        normalize_address(typo)


@pytest.mark.parametrize("text", ["", "0x", CHECKSUMMED[2:], CHECKSUMMED + "00", CHECKSUMMED[:-1] + "g", "hello", None, 42])
def test_normalize_address_refuses_non_addresses(text: object) -> None:
    with pytest.raises(ValueError, match="is not an address"):
        normalize_address(text)  # type: ignore[arg-type]
