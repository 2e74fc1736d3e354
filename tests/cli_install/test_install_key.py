"""`plugyard install NAME --key K`: the CLI asks the loader host for a challenge, signs it with the key (a keystore's
passphrase from the environment), sends the proof with the request; a refusal is the one-line error every RPC error
is. Real `plugyard` processes against the test's nats-server, with a stand-in loader that checks the proof."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest
from eth_account import Account

from plugyard_artifacts.keys import PASSPHRASE_ENV
from plugyard_core.rpc import RpcError, error_reply
from plugyard_core.streams import loader_subject
from plugyard_loader.paid import ChallengeBook, PaymentRequired
from plugyard_schemas.loader import InstalledVersion, InstallReply, InstallRequest

PLUGYARD = str(Path(sys.executable).parent / "plugyard")
HOST = "h1"


async def cli(nats_url: str, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        PLUGYARD, *args, env={**os.environ, "PLUGYARD_NATS_URL": nats_url, "COLUMNS": "300", **(env or {})},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode, out.decode(), err.decode()


class FakeLoader:
    """Issues challenges and verifies proofs as the loader does; `priced` plugins install only for `owners`."""

    def __init__(self) -> None:
        self.book = ChallengeBook(HOST)
        self.requests: list[InstallRequest] = []
        self.owners: set[str] = set()
        self.priced: set[str] = set()

    async def start(self, nc) -> list:
        async def challenge(msg) -> None:
            await msg.respond(self.book.issue().model_dump_json().encode())

        async def install(msg) -> None:
            request = InstallRequest.model_validate_json(msg.data)
            self.requests.append(request)
            try:
                account = self.book.verify(request.proof) if request.proof else None
                for name in request.requirements:
                    if name in self.priced and account not in self.owners:
                        raise PaymentRequired(name, "1.0.0", 10**16, account)
            except RpcError as exc:
                await msg.respond(json.dumps(error_reply(exc.code, exc.message)).encode())
                return
            installed = [InstalledVersion(name=n, version="1.0.0", cid="bafy", status="cleared", path="/x", newly_installed=True)
                         for n in request.requirements]
            await msg.respond(InstallReply(host=HOST, installed=installed).model_dump_json().encode())

        subs = [await nc.subscribe(loader_subject(HOST, "challenge"), cb=challenge), await nc.subscribe(loader_subject(HOST, "install"), cb=install)]
        await nc.flush()
        return subs


@pytest.fixture
async def loader(nc):
    fake = FakeLoader()
    subs = await fake.start(nc)
    yield fake
    for sub in subs:
        await sub.unsubscribe()


def new_key(tmp_path: Path, name: str, passphrase: str | None = None):
    account = Account.create()
    path = tmp_path / f"{name}.key"
    if passphrase is None:
        path.write_text(json.dumps({"insecure_plain": True, "address": account.address, "private_key": "0x" + account.key.hex().removeprefix("0x")}))
    else:
        path.write_text(json.dumps(Account.encrypt(account.key, passphrase, kdf="scrypt", iterations=2**10)))
    return account, path


async def test_install_with_a_key_proves_the_account(nats_server, loader: FakeLoader, tmp_path: Path) -> None:
    account, key = new_key(tmp_path, "buyer", passphrase="s3cret")
    loader.priced.add("bars-paid")
    loader.owners.add(account.address)
    code, out, err = await cli(nats_server.url, "install", "bars-paid", "--key", str(key), "--host", HOST, "--json",
                               env={PASSPHRASE_ENV: "s3cret"})
    assert code == 0, err
    assert json.loads(out)["installed"][0]["name"] == "bars-paid"
    [request] = loader.requests
    assert request.proof is not None and request.proof.account == account.address

    code, out, err = await cli(nats_server.url, "install", "free-one", "--host", HOST)
    assert code == 0 and "installed: free-one 1.0.0 (cleared) on h1" in out, err
    assert loader.requests[-1].proof is None


async def test_a_refused_install_is_one_line_and_exit_1(nats_server, loader: FakeLoader, tmp_path: Path) -> None:
    loader.priced.add("bars-paid")
    _, key = new_key(tmp_path, "stranger")
    code, out, err = await cli(nats_server.url, "install", "bars-paid", "--key", str(key), "--host", HOST, "--json")
    assert code == 1 and "Traceback" not in err
    [line] = err.splitlines()
    assert line.startswith("error: bars-paid 1.0.0 is a paid plugin (0.01 ETH, 10000000000000000 wei)")
    assert "plugyard market buy bars-paid --key K" in line
    assert json.loads(out)["error"]["code"] == "refused"

    code, _, err = await cli(nats_server.url, "install", "bars-paid", "--host", HOST)
    assert code == 1 and "no account was proven (install with --key)" in err


async def test_a_key_that_cannot_be_read_is_a_usage_error(nats_server, loader: FakeLoader, tmp_path: Path) -> None:
    _, locked = new_key(tmp_path, "locked", passphrase="right")
    code, _, err = await cli(nats_server.url, "install", "x", "--key", str(locked), "--host", HOST, env={PASSPHRASE_ENV: "wrong"})
    assert code == 64 and "wrong passphrase" in err and "Traceback" not in err
    code, _, err = await cli(nats_server.url, "install", "x", "--key", str(tmp_path / "absent.key"), "--host", HOST)
    assert code == 64 and "does not exist" in err
    assert loader.requests == []
