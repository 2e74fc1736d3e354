"""The marketplace against a real anvil node: deployment recorded and found again, transactions prepared by the
service and signed by the client, purchases mirrored into entitlements, a reorg that removes a purchase, and the
view rebuilt from the event store after a restart. Skipped with the reason when anvil is not installed."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from eth_account import Account

from plugyard_core.embedded_nats import free_port
from plugyard_marketplace.application import MarketplaceApplication, MirrorKey
from plugyard_marketplace.chain import Chain, NotOurContract
from plugyard_marketplace.deployment import ChainConfigError, connect, contracts_for
from plugyard_marketplace.indexer import Indexer
from plugyard_marketplace.transactions import Refused, prepare
from plugyard_schemas.marketplace import PrepareRequest
from plugyard_schemas.registry import InfoReply, VersionInfo

ANVIL = Path(sys.prefix) / "anvil" / "node_modules" / ".bin" / "anvil"
pytestmark = pytest.mark.skipif(not ANVIL.exists(), reason=f"anvil is not installed at {ANVIL} (make setup installs it when npm exists)")
ETH = 10**18


@pytest.fixture
def node(tmp_path):
    port = free_port()
    state = tmp_path / "state.json"
    argv = [str(ANVIL), "--port", str(port), "--silent", "--state", str(state), "--state-interval", "1"]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        yield connect(url, environ={}, wait_s=15)
    finally:
        process.terminate()
        process.wait(10)


def info(name: str, owner: str) -> InfoReply:
    version = VersionInfo(
        version="1.0.0", status="cleared", cid="bafkreif44cx7dhhvvjvhi2ndbvq5atsdo3slx5rycbjo5ht7gojfzfknki", size=100, sha256="00" * 32,
        manifest_sha256="11" * 32, publisher=owner, signature="0x", published_at=datetime.now(UTC), summary="", host=">=0",
        requires=[], dependencies=[], permissions={}, manifest={},
    )
    return InfoReply(name=name, owners=[owner], latest="1.0.0", versions=[version])


def sign_and_send(chain: Chain, key, reply) -> list[dict]:
    results = []
    for tx in reply.transactions:
        signed = key.sign_transaction({
            "type": 2, "chainId": tx.chain_id, "nonce": tx.nonce, "to": tx.to, "data": tx.data, "value": int(tx.value_wei),
            "gas": tx.gas, "maxFeePerGas": int(tx.max_fee_per_gas_wei), "maxPriorityFeePerGas": int(tx.max_priority_fee_per_gas_wei),
        })
        result = chain.relay(signed.raw_transaction)
        assert result["succeeded"], (tx.what, result["revert_reason"])
        results.append(result)
    return results


def mirror(app: MarketplaceApplication, indexer: Indexer) -> None:
    while (step := indexer.step(app.cursor())) is not None:
        app.record_step(step)


def test_list_buy_entitle_reorg_and_restart(node, tmp_path):
    chain = node
    addresses, start = contracts_for(chain, tmp_path / "svc", environ={})
    assert contracts_for(chain, tmp_path / "svc", environ={})[0] == addresses  # recorded, not deployed twice
    seller, buyer, stranger = Account.create(), Account.create(), Account.create()
    for account in (seller, buyer):
        chain.faucet(account.address, ETH)
    plugin = info("bars-paid", seller.address)

    with pytest.raises(Refused, match="not an owner"):
        prepare(chain, PrepareRequest(action="list", account=stranger.address, name="bars-paid", price_wei="1"), plugin, plugin.owners)
    listing = prepare(chain, PrepareRequest(action="list", account=seller.address, name="bars-paid", price_wei=str(ETH // 100)), plugin, plugin.owners)
    assert [t.what.split()[0] for t in listing.transactions] == ["commit", "claim", "record", "list"]
    sign_and_send(chain, seller, listing)

    with pytest.raises(Refused, match="above your maximum"):
        prepare(chain, PrepareRequest(action="buy", account=buyer.address, name="bars-paid", max_price_wei=str(ETH // 1000)), plugin, plugin.owners)
    purchase = prepare(chain, PrepareRequest(action="buy", account=buyer.address, name="bars-paid", max_price_wei=str(ETH // 50)), plugin, plugin.owners)
    [bought] = sign_and_send(chain, buyer, purchase)

    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "events.sqlite")}
    key = MirrorKey(chain.chain_id, addresses.registry, addresses.shop, start)
    app = MarketplaceApplication(env=env, mirror=key)
    indexer = Indexer(chain, confirmations=0, start_block=start)
    mirror(app, indexer)
    assert app.view.entitled("bars-paid", buyer.address, plugin.owners)
    assert not app.view.entitled("bars-paid", stranger.address, plugin.owners)
    assert app.view.releases["bars-paid"]["1.0.0"].args["cid"] == plugin.versions[0].cid

    withdraw = prepare(chain, PrepareRequest(action="withdraw", account=seller.address), None, [])
    before = chain.balance(seller.address)
    [paid] = sign_and_send(chain, seller, withdraw)
    assert chain.owed(seller.address) == 0 and chain.balance(seller.address) > before

    depth = chain.head() - bought["block_number"] + 1
    chain.w3.provider.make_request("anvil_reorg", [depth, []])  # the purchase's block and the rest replaced by empty ones
    mirror(app, indexer)
    assert not app.view.entitled("bars-paid", buyer.address, plugin.owners)
    assert app.view.listing("bars-paid", plugin.owners).listed  # what stayed on the chain is still mirrored

    again = MarketplaceApplication(env=env, mirror=key)  # a restart: the view comes back from the event store
    assert again.cursor().block <= app.cursor().block  # steps that found nothing are stored only now and then
    mirror(again, indexer)
    assert again.cursor().block == app.cursor().block and len(again.view.facts) == len(app.view.facts)
    assert not again.view.entitled("bars-paid", buyer.address, plugin.owners)
    assert again.view.listing("bars-paid", plugin.owners).price_wei == ETH // 100


def test_only_our_contracts_on_this_chain_are_relayed_and_the_faucet_is_for_dev_chains(node, tmp_path):
    chain = node
    contracts_for(chain, tmp_path / "svc", environ={})
    key = Account.create()
    chain.faucet(key.address, ETH)
    elsewhere = key.sign_transaction({"type": 2, "chainId": chain.chain_id, "nonce": 0, "to": key.address, "value": 1, "gas": 21_000,
                                      "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 10**9})
    with pytest.raises(NotOurContract, match="only to the marketplace's contracts"):
        chain.relay(elsewhere.raw_transaction)
    other_chain = key.sign_transaction({"type": 2, "chainId": 1, "nonce": 0, "to": chain.addresses.shop, "value": 0, "gas": 50_000,
                                        "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 10**9, "data": "0x"})
    with pytest.raises(NotOurContract, match="not this chain"):
        chain.relay(other_chain.raw_transaction)
    with pytest.raises(NotOurContract, match="not a signed"):
        chain.relay(b"\x02garbage")
    assert chain.is_dev()


def test_a_chain_without_recorded_contracts_that_is_not_a_dev_chain_names_what_to_set(node, tmp_path, monkeypatch):
    monkeypatch.setattr(Chain, "is_dev", lambda self: False)
    with pytest.raises(ChainConfigError, match="PLUGYARD_REGISTRY_ADDRESS"):
        contracts_for(node, tmp_path / "svc", environ={})
    with pytest.raises(ChainConfigError, match="no contract there"):
        contracts_for(node, tmp_path / "svc", environ={"PLUGYARD_REGISTRY_ADDRESS": "0x" + "1" * 40, "PLUGYARD_SHOP_ADDRESS": "0x" + "2" * 40})


def test_a_node_that_does_not_answer_is_a_clear_error():
    started = time.monotonic()
    with pytest.raises(ChainConfigError, match="did not answer"):
        connect(f"http://127.0.0.1:{free_port()}", environ={}, wait_s=0.5)
    assert time.monotonic() - started < 15


async def test_the_rpcs_answer_over_a_real_bus(node, tmp_path, nats_server, nc):
    """entitlement, show, review, faucet and chain through the service's router on a real nats-server, the registry
    played by a responder."""
    from plugyard_core.rpc import RpcError, call
    from plugyard_core.service import make_broker
    from plugyard_marketplace.handlers import Registry, build_router
    from plugyard_schemas.marketplace import (
        ChainReply, ChainRequest, EntitlementReply, EntitlementRequest, FaucetReply, FaucetRequest, MarketShowReply, MarketShowRequest,
        ReviewReply, ReviewRequest, review_message,
    )
    from eth_account.messages import encode_defunct

    chain = node
    addresses, start = contracts_for(chain, tmp_path / "svc", environ={})
    seller, buyer, stranger = Account.create(), Account.create(), Account.create()
    for account in (seller, buyer):
        chain.faucet(account.address, ETH)
    plugin = info("bars-paid", seller.address)
    sign_and_send(chain, seller, prepare(chain, PrepareRequest(action="list", account=seller.address, name="bars-paid", price_wei="1000"), plugin, plugin.owners))
    sign_and_send(chain, buyer, prepare(chain, PrepareRequest(action="buy", account=buyer.address, name="bars-paid"), plugin, plugin.owners))
    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "events.sqlite")}
    app = MarketplaceApplication(env=env, mirror=MirrorKey(chain.chain_id, addresses.registry, addresses.shop, start))
    mirror(app, Indexer(chain, confirmations=0, start_block=start))

    second = info("bars-two", seller.address)
    second.versions[0].status = "quarantined"

    async def registry_info(msg):
        name = json.loads(msg.data)["name"]
        known = {"bars-paid": plugin, "bars-two": second}
        await msg.respond(known[name].model_dump_json().encode() if name in known else b'{"error": {"code": "not_found", "message": "no such plugin"}}')

    async def registry_search(msg):
        hits = [{"name": n, "version": "1.0.0", "score": 1.0, "summary": "", "status": "cleared", "yanked": False, "keywords": [],
                 "categories": [], "license": None, "publisher": seller.address, "permissions": [], "published_at": datetime.now(UTC).isoformat()}
                for n in ("bars-paid", "bars-two")]
        await msg.respond(json.dumps({"total": 2, "hits": hits, "facets": {}}).encode())

    await nc.subscribe("plugyard.rpc.registry.search", cb=registry_search)

    await nc.subscribe("plugyard.rpc.registry.info", cb=registry_info)

    async def telemetry_show(msg):
        from plugyard_schemas.telemetry import ShowGroup, ShowReply, VersionMark

        reply = ShowReply(name="bars-paid", version=None, since="", until="", step_s=60, times=[], resolution="day",
                          groups=[ShowGroup(key={}, calls=4000, errors=8)],
                          marks=[VersionMark(at="", host="h1", version="1.0.0", event="PluginCrashed")])
        await msg.respond(reply.model_dump_json().encode())

    await nc.subscribe("plugyard.rpc.telemetry.show", cb=telemetry_show)
    registry = Registry()
    registry.connected(nc)
    broker = make_broker(nats_server.url, "marketplace-test")
    broker.include_router(build_router(app, chain, registry, lambda: True, 0))
    await broker.start()
    try:
        paid = await call(nc, "plugyard.rpc.marketplace.entitlement", EntitlementRequest(name="bars-paid", account=buyer.address), EntitlementReply)
        assert paid.listed and paid.price_wei == "1000" and paid.entitled
        other = await call(nc, "plugyard.rpc.marketplace.entitlement", EntitlementRequest(name="bars-paid", account=stranger.address), EntitlementReply)
        assert not other.entitled
        facts = await call(nc, "plugyard.rpc.marketplace.chain", ChainRequest(), ChainReply)
        assert facts.dev_chain and facts.shop.lower() == addresses.shop.lower()

        def review(key, stars: int, text: str) -> ReviewRequest:
            issued = datetime.now(UTC).isoformat()
            message = review_message("bars-paid", "1.0.0", stars, text, key.address, issued, chain.chain_id, addresses.shop)
            signature = key.sign_message(encode_defunct(text=message)).signature.to_0x_hex()
            return ReviewRequest(name="bars-paid", version="1.0.0", stars=stars, text=text, account=key.address, issued_at=issued, signature=signature)

        accepted = await call(nc, "plugyard.rpc.marketplace.review", review(buyer, 5, "works"), ReviewReply)
        assert accepted.accepted and accepted.verified_by == "purchase"
        with pytest.raises(RpcError, match="accepted only from an address that bought"):
            await call(nc, "plugyard.rpc.marketplace.review", review(stranger, 1, "never used it"), ReviewReply)
        signed = review(buyer, 4, "again")
        await call(nc, "plugyard.rpc.marketplace.review", signed, ReviewReply)
        with pytest.raises(RpcError, match="replay"):
            await call(nc, "plugyard.rpc.marketplace.review", signed, ReviewReply)
        shown = await call(nc, "plugyard.rpc.marketplace.show", MarketShowRequest(name="bars-paid"), MarketShowReply)
        assert shown.listing.listed and shown.releases[0].cid == plugin.versions[0].cid and [r.stars for r in shown.reviews] == [4]
        assert 0 <= shown.reputation.score <= 100 and shown.conflict is None
        [stability] = [t for t in shown.reputation.terms if t.term == "stability"]
        assert stability.weight > 0 and "4000" in stability.evidence.replace(",", "")  # telemetry's counts, as observed
        from plugyard_schemas.marketplace import ReputationReply, ReputationRequest

        rated = await call(nc, "plugyard.rpc.marketplace.reputation", ReputationRequest(name="bars-paid"), ReputationReply)
        by_term = {t.term: t for t in rated.publisher.terms}
        assert {"plugin:bars-paid", "plugin:bars-two"} <= set(by_term)  # the publisher's other plugin counts too
        assert by_term["plugin:bars-two"].value < by_term["plugin:bars-paid"].value  # its quarantine weighs on it
        funded = await call(nc, "plugyard.rpc.marketplace.faucet", FaucetRequest(account=stranger.address, amount_wei=str(ETH)), FaucetReply)
        assert int(funded.balance_wei) == ETH
    finally:
        await broker.stop()


def test_a_log_of_our_contracts_that_no_event_decodes_is_recorded_as_rejected_and_never_applied(node, tmp_path):
    from hexbytes import HexBytes

    from plugyard_marketplace.market_view import MarketView

    chain = node
    addresses, _ = contracts_for(chain, tmp_path / "svc", environ={})
    forged = {"address": addresses.shop, "blockNumber": 7, "blockHash": HexBytes("0x" + "11" * 32), "transactionHash": HexBytes("0x" + "22" * 32),
              "logIndex": 0, "topics": [HexBytes("0x" + "33" * 32)], "data": HexBytes("0xdeadbeef")}
    fact = chain.decode(forged)
    assert fact.event == "Rejected" and "no event of the shop contract" in fact.args["reason"]
    assert chain.decode({**forged, "address": "0x" + "44" * 20}) is None  # another contract's log: not ours to judge
    view = MarketView()
    view.add([fact])
    assert view.rejected() == [fact] and not view.listings and not view.purchases


def test_a_node_that_goes_away_and_comes_back_loses_nothing(tmp_path):
    port = free_port()
    state = tmp_path / "state.json"
    argv = [str(ANVIL), "--port", str(port), "--silent", "--state", str(state), "--state-interval", "1"]
    first = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        chain = connect(f"http://127.0.0.1:{port}", environ={}, wait_s=15)
        addresses, start = contracts_for(chain, tmp_path / "svc", environ={})
        seller, buyer = Account.create(), Account.create()
        for account in (seller, buyer):
            chain.faucet(account.address, ETH)
        plugin = info("kept", seller.address)
        sign_and_send(chain, seller, prepare(chain, PrepareRequest(action="list", account=seller.address, name="kept", price_wei="5"), plugin, plugin.owners))
        sign_and_send(chain, buyer, prepare(chain, PrepareRequest(action="buy", account=buyer.address, name="kept"), plugin, plugin.owners))
        time.sleep(1.5)  # the state file is written every second
    finally:
        first.terminate()
        first.wait(10)
    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "events.sqlite")}
    app = MarketplaceApplication(env=env, mirror=MirrorKey(chain.chain_id, addresses.registry, addresses.shop, start))
    indexer = Indexer(chain, confirmations=0, start_block=start)
    with pytest.raises(Exception, match="did not answer"):  # the node is away: the loop retries; nothing is stored
        mirror(app, indexer)
    assert app.view.facts == []
    second = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        connect(f"http://127.0.0.1:{port}", environ={}, wait_s=15)
        assert contracts_for(chain, tmp_path / "svc", environ={})[0] == addresses  # the same contracts, kept in the node's state
        mirror(app, indexer)
        assert app.view.entitled("kept", buyer.address, plugin.owners)
    finally:
        second.terminate()
        second.wait(10)
