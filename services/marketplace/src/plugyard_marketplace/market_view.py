"""What the mirrored chain says: who claimed each name, its releases, its listing, who bought it, who withdrew.

Built from the facts in chain order; a reorg drops the facts of the blocks that left the chain and the state is
derived again from those that remain (a few thousand facts: rebuilding is simpler than undoing, and as fast).

Paid plugins: a plugin is restricted when it is listed at a price above zero. An account is entitled to it when it
bought it (a purchase still on the chain), or when it is the name's publisher. Delisting stops sales and lifts the
restriction. A listing counts only when the chain's publisher of the name is the Plugyard registry's publisher of
it (see `conflict`): otherwise anyone could claim a popular name on the chain and sell what they do not own.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from plugyard_marketplace.indexer import ChainFact


@dataclass(frozen=True)
class ChainListing:
    listed: bool
    price_wei: int
    seller: str | None


@dataclass(frozen=True)
class Purchase:
    name: str
    buyer: str
    price_wei: int
    block_number: int
    tx_hash: str


@dataclass
class MarketView:
    facts: list[ChainFact] = field(default_factory=list)
    publishers: dict[str, str] = field(default_factory=dict)
    releases: dict[str, dict[str, ChainFact]] = field(default_factory=dict)
    listings: dict[str, ChainListing] = field(default_factory=dict)
    purchases: dict[tuple[str, str], Purchase] = field(default_factory=dict)
    withdrawn_wei: dict[str, int] = field(default_factory=dict)

    def add(self, facts: list[ChainFact] | tuple[ChainFact, ...]) -> None:
        known = {f.id for f in self.facts}
        for fact in facts:
            if fact.id not in known:  # a range mirrored again after a restart adds nothing twice
                self.facts.append(fact)
                known.add(fact.id)
                self._apply(fact)

    def revert_after(self, block: int) -> list[Purchase]:
        """Drop every fact above `block`; returns the purchases that went with them."""
        before = dict(self.purchases)
        kept = [f for f in self.facts if f.block_number <= block]
        self.facts, self.publishers, self.releases, self.listings, self.purchases, self.withdrawn_wei = [], {}, {}, {}, {}, {}
        self.add(kept)
        return [p for key, p in before.items() if key not in self.purchases]

    def _apply(self, fact: ChainFact) -> None:
        a = fact.args
        if fact.contract == "registry" and fact.event == "NameClaimed":
            self.publishers.setdefault(a["name"], a["publisher"].lower())
        elif fact.contract == "registry" and fact.event == "ReleaseRecorded":
            self.releases.setdefault(a["name"], {}).setdefault(a["version"], fact)
        elif fact.contract == "shop" and fact.event == "Listed":
            self.listings[a["name"]] = ChainListing(True, int(a["price"]), a["seller"].lower())
        elif fact.contract == "shop" and fact.event == "PriceChanged":
            self.listings[a["name"]] = ChainListing(True, int(a["new_price"]), a["seller"].lower())
        elif fact.contract == "shop" and fact.event == "Delisted":
            self.listings[a["name"]] = ChainListing(False, 0, a["seller"].lower())
        elif fact.contract == "shop" and fact.event == "Purchased":
            key = (a["name"], a["buyer"].lower())
            self.purchases[key] = Purchase(a["name"], a["buyer"].lower(), int(a["price"]), fact.block_number, fact.tx_hash)
        elif fact.contract == "shop" and fact.event == "Withdrawn":
            account = a["account"].lower()
            self.withdrawn_wei[account] = self.withdrawn_wei.get(account, 0) + int(a["amount"])

    # ---- answers

    def conflict(self, name: str, owners: Collection[str] | None) -> str | None:
        """Why the chain's record of `name` is not trusted (its publisher is none of the registry's `owners` of the
        name), or None when it is, or when there is no record on one side."""
        chain_publisher = self.publishers.get(name)
        if chain_publisher is None or not owners:
            return None
        if chain_publisher not in {owner.lower() for owner in owners}:
            return (f"the chain's publisher of {name} is {chain_publisher}, not an owner of it in the Plugyard registry "
                    f"({', '.join(sorted(o.lower() for o in owners))}): the registry's record wins, and this chain listing is ignored")
        return None

    def listing(self, name: str, owners: Collection[str] | None) -> ChainListing:
        """The listing that counts for Plugyard: none when the chain's publisher is not an owner in the registry."""
        if self.conflict(name, owners):
            return ChainListing(False, 0, None)
        return self.listings.get(name, ChainListing(False, 0, None))

    def entitled(self, name: str, account: str, owners: Collection[str] | None) -> bool:
        listing = self.listing(name, owners)
        account = account.lower()
        if not listing.listed or listing.price_wei == 0:
            return True
        return account == self.publishers.get(name) or (name, account) in self.purchases

    def rejected(self) -> list[ChainFact]:
        """Logs of our contracts that none of their events decodes: recorded, never applied."""
        return [f for f in self.facts if f.event == "Rejected"]

    def purchasers(self, name: str) -> set[str]:
        return {buyer for (n, buyer) in self.purchases if n == name}
