"""Shop: listings, purchases, entitlements and pull payments, with balances checked to the wei (gas
included), and the attacks: re-entry into withdraw and buy, a recipient that reverts, a price raised between
quote and purchase, overflow at the edges, someone else than the publisher listing."""

from __future__ import annotations

import os

import pytest
from eth_utils import keccak

from plugyard_marketplace import contracts

from .conftest import FEE_BPS, GAS, Chain, refused

ETH = 10**18
MAX_UINT = 2**256 - 1
ZERO = "0x" + "0" * 40
LOCKED = "execution reverted: b''"  # how eth-tester words a revert without data: Vyper's reentrancy lock


def fee(price: int, bps: int = FEE_BPS) -> int:
    return price * bps // 10_000


def listed(chain: Chain, name: str, price: int, seller: str | None = None) -> str:
    seller = seller or chain.accounts[1]
    chain.claim(name, seller)
    chain.transact(chain.shop.functions.list(name, price), seller)
    return seller


def balance(chain: Chain, account: str) -> int:
    return chain.w3.eth.get_balance(account)


def test_list_buy_entitle_withdraw_to_the_wei(chain: Chain) -> None:
    seller, buyer = chain.accounts[1], chain.accounts[2]
    price = ETH // 100
    chain.claim("paid-plugin", seller)
    receipt = chain.transact(chain.shop.functions.list("paid-plugin", price), seller)
    (event,) = chain.events(chain.shop, "Listed", receipt)
    assert event["args"]["name_hash"] == keccak(text="paid-plugin")
    assert (event["args"]["seller"], event["args"]["price"]) == (seller, price)
    assert chain.shop.functions.listing("paid-plugin").call() == [True, price]
    assert chain.shop.functions.seller_of("paid-plugin").call() == seller
    assert not chain.shop.functions.entitled("paid-plugin", buyer).call()

    # buy: the buyer pays the price and gas, nothing else; the shop holds the price
    before = balance(chain, buyer)
    receipt = chain.transact(chain.shop.functions.buy("paid-plugin", price), buyer, value=price)
    assert balance(chain, buyer) == before - price - chain.gas_cost(receipt)
    assert balance(chain, chain.shop.address) == price
    (event,) = chain.events(chain.shop, "Purchased", receipt)
    assert dict(event["args"]) == {
        "name_hash": keccak(text="paid-plugin"), "buyer": buyer, "seller": seller,
        "name": "paid-plugin", "price": price, "fee": fee(price),
    }
    assert chain.shop.functions.entitled("paid-plugin", buyer).call()
    assert chain.shop.functions.balances(seller).call() == price - fee(price)
    assert chain.shop.functions.balances(chain.treasury).call() == fee(price)

    # the seller pulls its share
    before = balance(chain, seller)
    receipt = chain.transact(chain.shop.functions.withdraw(), seller)
    assert balance(chain, seller) == before + price - fee(price) - chain.gas_cost(receipt)
    assert chain.shop.functions.balances(seller).call() == 0
    (event,) = chain.events(chain.shop, "Withdrawn", receipt)
    assert dict(event["args"]) == {"account": seller, "recipient": seller, "amount": price - fee(price)}
    with refused("nothing to withdraw"):
        chain.transact(chain.shop.functions.withdraw(), seller)

    # the treasury pulls the fee; the shop is empty
    before = balance(chain, chain.treasury)
    receipt = chain.transact(chain.shop.functions.withdraw(), chain.treasury)
    assert balance(chain, chain.treasury) == before + fee(price) - chain.gas_cost(receipt)
    assert balance(chain, chain.shop.address) == 0


def test_free_listing_entitles_without_payment(chain: Chain) -> None:
    buyer = chain.accounts[2]
    listed(chain, "free-plugin", 0)
    with refused("value must equal the price"):
        chain.transact(chain.shop.functions.buy("free-plugin", 0), buyer, value=1)
    receipt = chain.transact(chain.shop.functions.buy("free-plugin", 0), buyer)
    (event,) = chain.events(chain.shop, "Purchased", receipt)
    assert (event["args"]["price"], event["args"]["fee"]) == (0, 0)
    assert chain.shop.functions.entitled("free-plugin", buyer).call()
    assert chain.shop.functions.balances(chain.accounts[1]).call() == 0
    assert chain.shop.functions.balances(chain.treasury).call() == 0
    assert balance(chain, chain.shop.address) == 0


def test_buy_refusals(chain: Chain) -> None:
    buyer = chain.accounts[2]
    chain.claim("unlisted", chain.accounts[1])
    with refused("not listed"):  # claimed but never listed: a price of 0 does not make it free
        chain.transact(chain.shop.functions.buy("unlisted", 0), buyer)
    with refused("not listed"):
        chain.transact(chain.shop.functions.buy("nobody-has-this", 0), buyer)
    listed(chain, "priced", 1000)
    with refused("value must equal the price"):
        chain.transact(chain.shop.functions.buy("priced", 1000), buyer, value=999)
    with refused("value must equal the price"):  # no overpayment to strand in the contract
        chain.transact(chain.shop.functions.buy("priced", 2000), buyer, value=1001)
    with refused("price is above max_price"):
        chain.transact(chain.shop.functions.buy("priced", 999), buyer, value=1000)
    chain.transact(chain.shop.functions.buy("priced", 1000), buyer, value=1000)
    with refused("already entitled"):  # nobody pays twice
        chain.transact(chain.shop.functions.buy("priced", 1000), buyer, value=1000)
    assert balance(chain, chain.shop.address) == 1000


def test_price_raised_between_quote_and_purchase_is_refused(chain: Chain) -> None:
    """The buyer quotes 1000 wei; the seller's raise to 5000 is mined first, in the same block; the buyer's
    purchase with max_price = the quote fails and costs only its gas."""
    seller, buyer = listed(chain, "bait", 1000), chain.accounts[2]
    listed_, quote = chain.shop.functions.listing("bait").call()
    assert listed_ and quote == 1000
    before = balance(chain, buyer)
    with chain.one_block():
        raise_ = chain.shop.functions.list("bait", 5000).transact({"from": seller, "gas": GAS})
        # the buyer even sends the new price: max_price still stops it
        purchase = chain.shop.functions.buy("bait", quote).transact({"from": buyer, "gas": GAS, "value": 5000})
    raise_receipt = chain.w3.eth.get_transaction_receipt(raise_)
    purchase_receipt = chain.w3.eth.get_transaction_receipt(purchase)
    assert raise_receipt["blockNumber"] == purchase_receipt["blockNumber"]
    assert (raise_receipt["status"], purchase_receipt["status"]) == (1, 0)
    (changed,) = chain.events(chain.shop, "PriceChanged", raise_receipt)
    assert (changed["args"]["old_price"], changed["args"]["new_price"]) == (1000, 5000)
    assert balance(chain, buyer) == before - chain.gas_cost(purchase_receipt)
    assert not chain.shop.functions.entitled("bait", buyer).call()
    assert balance(chain, chain.shop.address) == 0


def test_only_the_publisher_lists_reprices_and_delists(chain: Chain) -> None:
    alice, mallory, buyer = chain.accounts[1], chain.accounts[3], chain.accounts[2]
    with refused("name not claimed"):
        chain.transact(chain.shop.functions.list("unclaimed", 1), mallory)
    listed(chain, "alices", 100, alice)
    with refused("only the name's publisher"):
        chain.transact(chain.shop.functions.list("alices", 1), mallory)
    with refused("only the name's publisher"):
        chain.transact(chain.shop.functions.delist("alices"), mallory)
    assert chain.shop.functions.listing("alices").call() == [True, 100]

    chain.transact(chain.shop.functions.buy("alices", 100), buyer, value=100)
    receipt = chain.transact(chain.shop.functions.delist("alices"), alice)
    assert len(chain.events(chain.shop, "Delisted", receipt)) == 1
    with refused("not listed"):
        chain.transact(chain.shop.functions.buy("alices", 100), mallory, value=100)
    with refused("not listed"):
        chain.transact(chain.shop.functions.delist("alices"), alice)
    assert chain.shop.functions.entitled("alices", buyer).call()  # bought entitlements stay


def test_entitled(chain: Chain) -> None:
    alice, buyer, other = chain.accounts[1], chain.accounts[2], chain.accounts[3]
    listed(chain, "ent", 10, alice)
    chain.transact(chain.shop.functions.buy("ent", 10), buyer, value=10)
    entitled = chain.shop.functions.entitled
    assert entitled("ent", buyer).call() and entitled("ent", alice).call()  # the publisher always is
    assert not entitled("ent", other).call()
    assert not entitled("ent", ZERO).call()
    assert not entitled("no-such", ZERO).call()  # the zero address is not the publisher of an unclaimed name
    assert not entitled("other-name", buyer).call()


# ---- overflow at the edges ---------------------------------------------------------------------------


@pytest.mark.parametrize("price", [0, 1, 9_999, 10_000, 10_001, ETH, 2**255, MAX_UINT - 10_000, MAX_UINT])
def test_fee_never_overflows(chain: Chain, price: int) -> None:
    assert chain.shop.functions.fee_of(price).call() == fee(price)


def test_price_at_the_top_of_uint256(chain: Chain) -> None:
    buyer = chain.accounts[2]
    seller = listed(chain, "priceless", MAX_UINT)
    assert chain.shop.functions.listing("priceless").call() == [True, MAX_UINT]
    with refused("value must equal the price"):
        chain.transact(chain.shop.functions.buy("priceless", MAX_UINT), buyer, value=ETH)
    chain.transact(chain.shop.functions.list("priceless", MAX_UINT - 1), seller)  # repricing at the edge
    assert chain.shop.functions.listing("priceless").call() == [True, MAX_UINT - 1]
    with pytest.raises(Exception):  # a price beyond uint256 does not even encode
        chain.shop.functions.list("priceless", MAX_UINT + 1).build_transaction({"from": seller, "gas": GAS})


@pytest.mark.parametrize("bps", [1001, 10_000, MAX_UINT])
def test_fee_above_1000_bps_is_refused_at_deploy(chain: Chain, bps: int) -> None:
    with refused("fee above 1000 basis points"):
        chain.deploy(contracts.load("Shop"), chain.registry.address, chain.treasury, bps)


def test_fee_needs_a_treasury_and_a_registry_contract(chain: Chain) -> None:
    with refused("a fee needs a treasury"):
        chain.deploy(contracts.load("Shop"), chain.registry.address, ZERO, 1)
    with refused("registry is not a contract"):
        chain.deploy(contracts.load("Shop"), chain.accounts[4], chain.treasury, 0)


def test_fee_at_its_bounds(chain: Chain) -> None:
    seller, buyer = chain.accounts[1], chain.accounts[2]
    no_fee = chain.deploy(contracts.load("Shop"), chain.registry.address, ZERO, 0)
    top_fee = chain.deploy(contracts.load("Shop"), chain.registry.address, chain.treasury, 1000)
    assert top_fee.functions.fee_of(MAX_UINT).call() == MAX_UINT // 10
    chain.claim("bounds", seller)
    price = 10_001  # fee floor(1000.1) = 1000 at the top rate
    for shop, expected_fee in ((no_fee, 0), (top_fee, 1000)):
        chain.transact(shop.functions.list("bounds", price), seller)
        chain.transact(shop.functions.buy("bounds", price), buyer, value=price)
        assert shop.functions.balances(seller).call() == price - expected_fee
        assert shop.functions.balances(chain.treasury).call() == expected_fee
        assert shop.functions.balances(ZERO).call() == 0
    chain.transact(top_fee.functions.list("bounds", 9), seller)  # below 10 wei the fee rounds to 0
    chain.transact(top_fee.functions.buy("bounds", 9), chain.accounts[3], value=9)
    assert top_fee.functions.balances(seller).call() == price - 1000 + 9


# ---- re-entry and hostile recipients ----------------------------------------------------------------


def attacker_seller(chain: Chain, name: str, price: int) -> object:
    """An Attacker contract that publishes `name`, lists it at `price`, has sold it once and holds `price` wei
    of its own; the shop also holds an honest seller's money and the treasury's fees, which a re-entry could
    try to take."""
    attacker = chain.attacker()
    salt = os.urandom(32)
    commitment = chain.registry.functions.commitment_for(name, attacker.address, salt).call()
    chain.transact(attacker.functions.commit(commitment), chain.accounts[6])
    chain.transact(attacker.functions.claim(name, salt), chain.accounts[6])
    assert chain.registry.functions.publisher_of(name).call() == attacker.address
    chain.transact(attacker.functions.list(name, price), chain.accounts[6])
    chain.transact(chain.shop.functions.buy(name, price), chain.accounts[2], value=price)
    listed(chain, "honest", price, chain.accounts[1])
    chain.transact(chain.shop.functions.buy("honest", price), chain.accounts[2], value=price)
    # ether of its own, to pay for a re-entrant buy (sent while its receive code still just accepts)
    chain.w3.eth.wait_for_transaction_receipt(
        chain.w3.eth.send_transaction({"from": chain.accounts[7], "to": attacker.address, "value": price})
    )
    assert attacker.functions.received().call() == price
    return attacker


@pytest.mark.parametrize("mode", [1, 3], ids=["withdraw", "buy"])
def test_reentry_during_withdraw_fails_the_withdrawal(chain: Chain, mode: int) -> None:
    """The attacker's receive re-enters withdraw (mode 1) or buy (mode 3) and lets the failure propagate:
    the shop's reentrancy lock refuses the inner call (a bare revert, before any check of the function's own:
    without the lock the inner buy would succeed, the inner withdraw fail on its zeroed balance), the
    whole withdrawal reverts, and the attacker keeps exactly its balance for a later honest withdrawal."""
    price = ETH // 10
    attacker = attacker_seller(chain, "evil", price)
    share = price - fee(price)
    chain.transact(attacker.functions.set_mode(mode, "honest", price), chain.accounts[6])
    shop_before = balance(chain, chain.shop.address)
    with refused(LOCKED):
        chain.transact(attacker.functions.withdraw(), chain.accounts[6])
    assert chain.shop.functions.balances(attacker.address).call() == share
    assert balance(chain, chain.shop.address) == shop_before
    assert not chain.shop.functions.entitled("honest", attacker.address).call()
    # a well-behaved withdrawal afterwards gets exactly the share
    chain.transact(attacker.functions.set_mode(0, "", 0), chain.accounts[6])
    chain.transact(attacker.functions.withdraw(), chain.accounts[6])
    assert attacker.functions.received().call() == price + share  # the funding, then its share
    assert balance(chain, chain.shop.address) == shop_before - share


@pytest.mark.parametrize("mode", [2, 4], ids=["withdraw", "buy"])
def test_reentry_swallowed_gets_nothing_more(chain: Chain, mode: int) -> None:
    """The attacker's receive re-enters withdraw (mode 2) or buy (mode 4) and ignores the failure: the
    outer withdrawal pays exactly its share once; the re-entry itself got nowhere."""
    price = ETH // 10
    attacker = attacker_seller(chain, "sly", price)
    share = price - fee(price)
    chain.transact(attacker.functions.set_mode(mode, "honest", price), chain.accounts[6])
    shop_before = balance(chain, chain.shop.address)
    attacker_before = balance(chain, attacker.address)
    receipt = chain.transact(attacker.functions.withdraw(), chain.accounts[6])
    assert attacker.functions.attempts().call() == 1
    assert not attacker.functions.reentered().call()
    assert balance(chain, attacker.address) == attacker_before + share
    assert balance(chain, chain.shop.address) == shop_before - share
    assert chain.shop.functions.balances(attacker.address).call() == 0
    assert not chain.shop.functions.entitled("honest", attacker.address).call()
    assert len(chain.events(chain.shop, "Withdrawn", receipt)) == 1
    assert chain.events(chain.shop, "Purchased", receipt) == []
    # everyone else's money is still there, to the wei
    assert chain.shop.functions.balances(chain.accounts[1]).call() == share
    assert chain.shop.functions.balances(chain.treasury).call() == 2 * fee(price)
    assert balance(chain, chain.shop.address) == share + 2 * fee(price)


def test_recipient_that_reverts_locks_only_itself(chain: Chain) -> None:
    price = ETH // 10
    attacker = attacker_seller(chain, "stubborn", price)
    share = price - fee(price)
    chain.transact(attacker.functions.set_mode(5, "", 0), chain.accounts[6])
    with refused("this recipient refuses ether"):
        chain.transact(attacker.functions.withdraw(), chain.accounts[6])
    assert chain.shop.functions.balances(attacker.address).call() == share
    # the honest seller and the treasury withdraw as usual
    honest = chain.accounts[1]
    before = balance(chain, honest)
    receipt = chain.transact(chain.shop.functions.withdraw(), honest)
    assert balance(chain, honest) == before + share - chain.gas_cost(receipt)
    chain.transact(chain.shop.functions.withdraw(), chain.treasury)
    assert balance(chain, chain.shop.address) == share
    # and the stubborn contract can still send its money elsewhere
    elsewhere = chain.accounts[8]
    before = balance(chain, elsewhere)
    with refused("no recipient"):
        chain.transact(attacker.functions.withdraw_to(ZERO), chain.accounts[6])
    receipt = chain.transact(attacker.functions.withdraw_to(elsewhere), chain.accounts[6])
    assert balance(chain, elsewhere) == before + share
    (event,) = chain.events(chain.shop, "Withdrawn", receipt)
    assert dict(event["args"]) == {"account": attacker.address, "recipient": elsewhere, "amount": share}
    assert balance(chain, chain.shop.address) == 0


def test_many_buyers_and_sellers_balance_exactly(chain: Chain) -> None:
    """The shop's ether always equals the sum of what it owes."""
    sellers = chain.accounts[1:3]
    prices = {"one": 123_456_789, "two": 10**15 + 7}
    for (name, price), seller in zip(prices.items(), sellers, strict=True):
        listed(chain, name, price, seller)
    for buyer in chain.accounts[3:8]:
        for name, price in prices.items():
            chain.transact(chain.shop.functions.buy(name, price), buyer, value=price)
    owed = sum(chain.shop.functions.balances(a).call() for a in [*sellers, chain.treasury])
    assert owed == balance(chain, chain.shop.address) == 5 * sum(prices.values())
    assert chain.shop.functions.balances(chain.treasury).call() == 5 * sum(fee(p) for p in prices.values())
