"""The chain indexer and the market view over a fake chain: confirmations, ranges, reorgs, conflicts."""

from __future__ import annotations

import hashlib

import pytest

from plugyard_marketplace.indexer import ChainFact, Cursor, Indexer
from plugyard_marketplace.market_view import MarketView

SELLER = "0x" + "a" * 40
BUYER = "0x" + "b" * 40
SQUATTER = "0x" + "c" * 40


class FakeChain:
    """Blocks as lists of (contract, event, args); a block's hash depends on its parent's and its own content."""

    def __init__(self) -> None:
        self.blocks: list[list[tuple[str, str, dict]]] = [[]]  # genesis
        self.salt = ""
        self.calls = 0

    def mine(self, *logs: tuple[str, str, dict]) -> int:
        self.blocks.append(list(logs))
        return len(self.blocks) - 1

    def reorg(self, depth: int, *replacement: list[tuple[str, str, dict]]) -> None:
        del self.blocks[len(self.blocks) - depth:]
        self.salt += "x"  # the new branch's blocks hash differently even with the same content
        for logs in replacement:
            self.blocks.append(logs)

    def head(self) -> int:
        return len(self.blocks) - 1

    def block_hash(self, number: int) -> str | None:
        if not 0 <= number < len(self.blocks):
            return None
        parent = ""
        for n in range(number + 1):
            salt = self.salt if n > 0 else ""
            parent = hashlib.sha256(f"{parent}|{salt}|{self.blocks[n]!r}|{n}".encode()).hexdigest()
        return "0x" + parent

    def facts(self, first: int, last: int) -> list[ChainFact]:
        self.calls += 1
        found = []
        for n in range(first, min(last, self.head()) + 1):
            for i, (contract, event, args) in enumerate(self.blocks[n]):
                found.append(ChainFact(n, self.block_hash(n), f"0x{n:04x}{i:02x}", i, contract, event, args))
        return found


def listed(name: str, price: int, seller: str = SELLER) -> tuple[str, str, dict]:
    return ("shop", "Listed", {"name": name, "seller": seller, "price": str(price)})


def claimed(name: str, publisher: str = SELLER) -> tuple[str, str, dict]:
    return ("registry", "NameClaimed", {"name": name, "publisher": publisher})


def bought(name: str, buyer: str = BUYER, price: int = 10) -> tuple[str, str, dict]:
    return ("shop", "Purchased", {"name": name, "buyer": buyer, "seller": SELLER, "price": str(price), "fee": "0"})


def run(indexer: Indexer, cursor: Cursor, view: MarketView) -> tuple[Cursor, list]:
    reverted = []
    while (step := indexer.step(cursor)) is not None:
        if step.reverted_to is not None:
            reverted += view.revert_after(step.reverted_to)
        view.add(step.added)
        cursor = step.cursor
    return cursor, reverted


def test_a_purchase_counts_once_it_is_confirmed():
    chain, view = FakeChain(), MarketView()
    chain.mine(claimed("paid"), listed("paid", 10))
    chain.mine()
    chain.mine()
    chain.mine(bought("paid"))
    indexer = Indexer(chain, confirmations=2)
    cursor, _ = run(indexer, Cursor(), view)
    assert view.listing("paid", [SELLER]).listed
    assert not view.entitled("paid", BUYER, [SELLER])  # its block is not 2 deep yet
    chain.mine()
    chain.mine()
    cursor, _ = run(indexer, cursor, view)
    assert view.entitled("paid", BUYER, [SELLER])
    assert view.entitled("paid", SELLER, [SELLER])  # the publisher
    assert not view.entitled("paid", SQUATTER, [SELLER])
    assert view.entitled("free", SQUATTER, [SELLER])  # never listed: installs as today


def test_a_reorg_that_removes_a_purchase_removes_the_entitlement():
    chain, view = FakeChain(), MarketView()
    chain.mine(claimed("paid"), listed("paid", 10))
    chain.mine(bought("paid"))
    indexer = Indexer(chain, confirmations=0)
    cursor, _ = run(indexer, Cursor(), view)
    assert view.entitled("paid", BUYER, [SELLER])
    chain.reorg(1, [], [])  # the purchase's block replaced by two empty ones
    cursor, reverted = run(indexer, cursor, view)
    assert [p.buyer for p in reverted] == [BUYER]
    assert not view.entitled("paid", BUYER, [SELLER])
    assert view.listing("paid", [SELLER]).price_wei == 10  # what stayed on the chain is still mirrored
    assert cursor.block == chain.head()


def test_a_purchase_that_comes_back_on_the_new_branch_is_kept():
    chain, view = FakeChain(), MarketView()
    chain.mine(claimed("paid"), listed("paid", 10))
    chain.mine(bought("paid"))
    indexer = Indexer(chain, confirmations=0)
    cursor, _ = run(indexer, Cursor(), view)
    chain.reorg(1, [], [bought("paid")])  # included again, one block later
    cursor, _ = run(indexer, cursor, view)
    assert view.entitled("paid", BUYER, [SELLER])
    assert view.purchases[("paid", BUYER)].block_number == 3


def test_mirroring_a_range_again_adds_nothing_twice():
    chain, view = FakeChain(), MarketView()
    chain.mine(claimed("paid"), listed("paid", 10), bought("paid"))
    indexer = Indexer(chain, confirmations=0)
    run(indexer, Cursor(), view)
    run(indexer, Cursor(), view)  # a restart that lost its cursor reads everything again
    assert len(view.facts) == 3


def test_logs_are_read_in_ranges_of_at_most_max_range_blocks():
    chain, view = FakeChain(), MarketView()
    for _ in range(25):
        chain.mine()
    indexer = Indexer(chain, confirmations=0, max_range=10)
    cursor, _ = run(indexer, Cursor(), view)
    assert cursor.block == 25 and chain.calls == 3


def test_a_chain_listing_by_someone_else_than_the_registrys_publisher_is_ignored():
    chain, view = FakeChain(), MarketView()
    chain.mine(claimed("popular", SQUATTER), listed("popular", 10**18, SQUATTER))
    run(Indexer(chain, confirmations=0), Cursor(), view)
    assert view.conflict("popular", [SELLER]) and "registry's record wins" in view.conflict("popular", [SELLER])
    assert not view.listing("popular", [SELLER]).listed
    assert view.entitled("popular", BUYER, [SELLER])  # nobody has to buy it from the squatter


def test_delisting_lifts_the_restriction_and_a_price_change_applies():
    chain, view = FakeChain(), MarketView()
    chain.mine(claimed("paid"), listed("paid", 10))
    chain.mine(("shop", "PriceChanged", {"name": "paid", "seller": SELLER, "old_price": "10", "new_price": "20"}))
    indexer = Indexer(chain, confirmations=0)
    cursor, _ = run(indexer, Cursor(), view)
    assert view.listing("paid", [SELLER]).price_wei == 20 and not view.entitled("paid", BUYER, [SELLER])
    chain.mine(("shop", "Delisted", {"name": "paid", "seller": SELLER}))
    run(indexer, cursor, view)
    assert view.entitled("paid", BUYER, [SELLER])


def test_a_reorg_deeper_than_the_kept_hashes_mirrors_again_from_the_start():
    chain, view = FakeChain(), MarketView()
    chain.mine(claimed("paid"), listed("paid", 10))
    chain.mine(bought("paid"))
    indexer = Indexer(chain, confirmations=0)
    cursor, _ = run(indexer, Cursor(), view)
    chain.reorg(chain.head(), [claimed("paid"), listed("paid", 10)])  # every block after genesis replaced
    cursor, reverted = run(indexer, cursor, view)
    assert reverted and not view.entitled("paid", BUYER, [SELLER])
    assert view.listing("paid", [SELLER]).listed


@pytest.mark.parametrize(("confirmations", "max_range"), [(-1, 10), (0, 0)])
def test_nonsense_settings_are_refused(confirmations, max_range):
    with pytest.raises(ValueError):
        Indexer(FakeChain(), confirmations=confirmations, max_range=max_range)


def test_logs_read_while_the_chain_reorganises_are_not_taken():
    chain, view = FakeChain(), MarketView()
    chain.mine(claimed("paid"), listed("paid", 10))
    chain.mine(bought("paid"))
    read = chain.facts

    def facts_then_reorg(first, last):
        found = read(first, last)
        chain.reorg(1, [])  # the purchase's block is replaced just after its log was read
        return found

    chain.facts = facts_then_reorg
    indexer = Indexer(chain, confirmations=0)
    assert indexer.step(Cursor()) is None  # the last block's hash changed under the read: nothing taken
    chain.facts = read
    run(indexer, Cursor(), view)
    assert not view.entitled("paid", BUYER, [SELLER])
