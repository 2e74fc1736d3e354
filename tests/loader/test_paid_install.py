"""Paid plugins at install, on the test's own nats-server with a registry and a loader, and a stand-in for the
marketplace answering `plugyard.rpc.marketplace.entitlement` as a test says."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct

from plugyard_core.rpc import RpcError
from plugyard_loader import paid
from plugyard_schemas.loader import AccountProof, ChallengeReply, ChallengeRequest, InstallReply, InstallRequest, install_challenge_message
from plugyard_schemas.marketplace import EntitlementReply, EntitlementRequest
from tests.loader.conftest import HOST, Stack
from tests.loader.support import publish_verdict, write_plugin

PRICE = 10**16  # 0.01 ETH
ZERO = "0x" + "0" * 40


class FakeMarketplace:
    """Answers entitlement requests: `priced` plugins cost PRICE, `owners` maps a plugin to the accounts that bought it."""

    def __init__(self, nc) -> None:
        self.nc = nc
        self.priced: set[str] = set()
        self.owners: dict[str, set[str]] = {}
        self.asked: list[EntitlementRequest] = []
        self.answer: Callable[[EntitlementRequest], bytes | None] | None = None  # overrides the honest answer
        self.sub = None

    async def start(self) -> FakeMarketplace:
        self.sub = await self.nc.subscribe(paid.ENTITLEMENT_SUBJECT, cb=self._respond)
        await self.nc.flush()
        return self

    async def stop(self) -> None:
        await self.sub.unsubscribe()
        await self.nc.flush()

    async def _respond(self, msg) -> None:
        request = EntitlementRequest.model_validate_json(msg.data)
        self.asked.append(request)
        if self.answer is not None:
            body = self.answer(request)
            if body is not None:
                await msg.respond(body)
            return
        listed = request.name in self.priced
        entitled = not listed or request.account.lower() in self.owners.get(request.name, set())
        reply = EntitlementReply(name=request.name, account=request.account, listed=listed, price_wei=str(PRICE if listed else 0),
                                 entitled=entitled, indexed_block=7)
        await msg.respond(reply.model_dump_json().encode())


@pytest.fixture
async def market(stack: Stack):
    fake = await FakeMarketplace(stack.nc).start()
    yield fake
    if fake.sub is not None:
        try:
            await fake.stop()
        except Exception:
            pass


async def prove(stack: Stack, account, host: str = HOST) -> AccountProof:
    challenge = (await stack.rpc("challenge", ChallengeRequest(), ChallengeReply)).challenge
    signature = account.sign_message(encode_defunct(text=install_challenge_message(host, challenge))).signature
    return AccountProof(account=account.address, challenge=challenge, signature="0x" + bytes(signature).hex())


async def install(stack: Stack, name: str, proof: AccountProof | None = None) -> InstallReply:
    return await stack.rpc("install", InstallRequest(requirements=[name], proof=proof), InstallReply)


async def refused(stack: Stack, name: str, proof: AccountProof | None = None) -> RpcError:
    with pytest.raises(RpcError) as caught:
        await install(stack, name, proof)
    return caught.value


async def installed_events(stack: Stack, count: int) -> list[dict]:
    for _ in range(200):
        if len(stack.of_type("PluginInstalled")) >= count:
            break
        await asyncio.sleep(0.05)
    return stack.of_type("PluginInstalled")


def cached(stack: Stack, name: str) -> bool:
    return (stack.data_dir / "loader" / "cache" / "plugins" / name).exists()


async def test_a_priced_plugin_installs_only_for_an_entitled_account(stack: Stack, market: FakeMarketplace, tmp_path: Path) -> None:
    await publish_verdict(stack.nc, tmp_path, write_plugin(tmp_path / "src", "bars-paid"))
    market.priced.add("bars-paid")
    buyer, stranger, second = Account.create(), Account.create(), Account.create()
    market.owners["bars-paid"] = {buyer.address.lower(), second.address.lower()}

    anonymous = await refused(stack, "bars-paid")
    assert anonymous.code == "refused"
    for part in ("bars-paid 1.0.0", "0.01 ETH", "10000000000000000 wei", "plugyard market buy bars-paid --key K",
                 "plugyard install bars-paid --key K"):
        assert part in anonymous.message, part
    assert market.asked[-1].account == ZERO and market.asked[-1].name == "bars-paid"

    not_bought = await refused(stack, "bars-paid", await prove(stack, stranger))
    assert f"account {stranger.address} has not bought it" in not_bought.message and "0.01 ETH" in not_bought.message
    assert market.asked[-1].account == stranger.address and not cached(stack, "bars-paid")

    reply = await install(stack, "bars-paid", await prove(stack, buyer))
    assert [(i.name, i.newly_installed) for i in reply.installed] == [("bars-paid", True)]
    [event] = await installed_events(stack, 1)
    assert (event["name"], event["account"]) == ("bars-paid", buyer.address)

    # A copy in this host's cache is no licence: refused again without an entitled account.
    assert "0.01 ETH" in (await refused(stack, "bars-paid", await prove(stack, stranger))).message
    # Another entitled account: already installed, and recorded for that account too (once).
    again = await install(stack, "bars-paid", await prove(stack, second))
    assert not again.installed[0].newly_installed
    await install(stack, "bars-paid", await prove(stack, second))
    await installed_events(stack, 2)
    await asyncio.sleep(0.3)
    assert [e["account"] for e in stack.of_type("PluginInstalled")] == [buyer.address, second.address]


async def test_proofs_are_checked_at_install(stack: Stack, market: FakeMarketplace, tmp_path: Path) -> None:
    await publish_verdict(stack.nc, tmp_path, write_plugin(tmp_path / "src", "free-one"))
    account = Account.create()
    good = await prove(stack, account)
    forged = good.model_copy(update={"account": Account.create().address})
    assert "account proof is refused" in (await refused(stack, "free-one", forged)).message
    assert (await install(stack, "free-one", good)).installed[0].name == "free-one"
    assert "already used" in (await refused(stack, "free-one", good)).message
    elsewhere = await prove(stack, account, host="other-host")
    assert "over this host's challenge" in (await refused(stack, "free-one", elsewhere)).message
    unknown = AccountProof(account=account.address, challenge="0x" + "00" * 32, signature=good.signature)
    assert "not issued by loader" in (await refused(stack, "free-one", unknown)).message


async def test_a_free_plugin_installs_as_before_with_or_without_a_key(stack: Stack, market: FakeMarketplace, tmp_path: Path) -> None:
    await publish_verdict(stack.nc, tmp_path, write_plugin(tmp_path / "src", "free-tool"))
    plain = await install(stack, "free-tool")
    assert plain.installed[0].newly_installed
    [event] = await installed_events(stack, 1)
    assert event["account"] is None
    account = Account.create()
    keyed = await install(stack, "free-tool", await prove(stack, account))
    assert not keyed.installed[0].newly_installed
    events = await installed_events(stack, 2)
    assert events[-1]["account"] == account.address
    assert [a.name for a in market.asked] == ["free-tool", "free-tool"]


async def test_without_any_marketplace_install_proceeds(stack: Stack, tmp_path: Path) -> None:
    await publish_verdict(stack.nc, tmp_path, write_plugin(tmp_path / "src", "nomarket"))
    reply = await install(stack, "nomarket", await prove(stack, Account.create()))
    assert reply.installed[0].newly_installed


async def test_a_marketplace_that_fails_fails_the_install_closed(
    stack: Stack, market: FakeMarketplace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(paid, "ENTITLEMENT_TIMEOUT_S", 0.5)
    await publish_verdict(stack.nc, tmp_path, write_plugin(tmp_path / "src", "closed"))

    market.answer = lambda request: None  # subscribed (only the marketplace may), silent
    silent = await refused(stack, "closed")
    assert "the marketplace did not answer (no reply on plugyard.rpc.marketplace.entitlement within 0.5 s)" in silent.message

    market.answer = lambda request: json.dumps({"error": {"code": "internal", "message": "chain node unreachable"}}).encode()
    error = await refused(stack, "closed")
    assert error.code == "unavailable" and "chain node unreachable" in error.message and "closed 1.0.0 is paid for" in error.message

    market.answer = lambda request: b'{"name": "closed"}'
    assert "not a valid EntitlementReply" in (await refused(stack, "closed")).message

    market.answer = lambda request: EntitlementReply(name="other", account=request.account, listed=False, price_wei="0", entitled=True,
                                                     indexed_block=1).model_dump_json().encode()
    assert "not closed" in (await refused(stack, "closed")).message

    await market.stop()  # it answered before: now gone is down, not absent
    assert "answered this loader before" in (await refused(stack, "closed")).message
    assert not cached(stack, "closed")


async def test_no_answer_is_refused_where_a_marketplace_ran_before(stack: Stack, tmp_path: Path) -> None:
    await publish_verdict(stack.nc, tmp_path, write_plugin(tmp_path / "src", "listed-before"))
    await stack.nc.jetstream().publish(paid.MARKETPLACE_SUBJECT, json.dumps({"last_block": 1, "hashes": {}, "facts": []}).encode())
    error = await refused(stack, "listed-before")
    assert error.code == "unavailable" and "one has run on this bus" in error.message
