"""The marketplace's write model: its mirror of one chain's contracts, and the reviews it accepted.

The mirror is one aggregate per (chain, registry, shop): each step of the indexer that found something is one
event holding the facts and the new cursor, so facts and position are stored together and a restart resumes
exactly after the last step stored. Reviews are one aggregate per (plugin, version, account).
"""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

MARKETPLACE_NAMESPACE = uuid5(NAMESPACE_URL, "https://plugyard.dev/marketplace")


def mirror_id(chain_id: int, registry: str, shop: str) -> UUID:
    return uuid5(MARKETPLACE_NAMESPACE, f"mirror/{chain_id}/{registry.lower()}/{shop.lower()}")


def review_id(name: str, version: str, account: str) -> UUID:
    return uuid5(MARKETPLACE_NAMESPACE, f"review/{name}/{version}/{account.lower()}")


class ChainMirror(Aggregate):
    @staticmethod
    def create_id(chain_id: int, registry: str, shop: str, **_: Any) -> UUID:
        return mirror_id(chain_id, registry, shop)

    @event("MirrorStarted")
    def __init__(self, chain_id: int, registry: str, shop: str, start_block: int) -> None:
        self.block = start_block - 1
        self.hashes: dict[str, str] = {}

    @event("BlocksMirrored")
    def mirrored(self, last_block: int, hashes: dict[str, str], facts: list[dict[str, Any]]) -> None:
        """`facts` (ChainFact.to_json) found up to `last_block`; `hashes` of recent blocks (keys: block numbers)."""
        self.block, self.hashes = last_block, hashes

    @event("ChainReorganised")
    def reorganised(self, ancestor_block: int, hashes: dict[str, str], reverted_purchases: list[dict[str, Any]]) -> None:
        """The blocks after `ancestor_block` left the chain; the purchases they held are gone."""
        self.block, self.hashes = ancestor_block, hashes


class ReviewOf(Aggregate):
    @staticmethod
    def create_id(name: str, version: str, account: str, **_: Any) -> UUID:
        return review_id(name, version, account)

    @event("ReviewAccepted")
    def __init__(self, name: str, version: str, account: str, stars: int, text: str, issued_at: str, verified_by: str,
                 signature: str, replaces: str | None = None) -> None:
        self.issued_at = issued_at

    @event("ReviewReplaced")
    def replace(self, name: str, version: str, account: str, stars: int, text: str, issued_at: str, verified_by: str,
                signature: str, replaces: str | None = None) -> None:
        self.issued_at = issued_at


def install_id(name: str, account: str) -> UUID:
    return uuid5(MARKETPLACE_NAMESPACE, f"install/{name}/{account.lower()}")


class InstallSeen(Aggregate):
    """A loader installed the plugin for a proven account: that account may review it."""

    @staticmethod
    def create_id(name: str, account: str, **_: Any) -> UUID:
        return install_id(name, account)

    @event("InstallRecorded")
    def __init__(self, name: str, account: str, host: str, version: str) -> None:
        pass
