"""The marketplace service: its RPCs (`plugyard.rpc.marketplace.<verb>`) and events (`plugyard.evt.marketplace.<Name>`).

The marketplace is the only part of Plugyard that talks to a chain. Clients never hold a chain connection: they
ask it to `prepare` the transactions an action needs, sign them with their own key, and hand the signed bytes to
`submit`, which relays them and waits for the receipt. Amounts in wei travel as decimal strings: a uint256 does
not fit a JSON number that every client can read.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Address = Field(pattern=r"^0x[0-9a-fA-F]{40}$")
Wei = Field(pattern=r"^[0-9]{1,78}$", description="An amount in wei, as a decimal string")
Name = Field(min_length=1, max_length=100)
Version = Field(min_length=1, max_length=64)
HexBytes = Field(pattern=r"^0x([0-9a-fA-F]{2})*$", max_length=262_144)
Signature = Field(pattern=r"^0x[0-9a-fA-F]{130}$", description="65 bytes: r, s, v")
MarketAction = Literal["list", "delist", "buy", "withdraw"]


# --- the chain --------------------------------------------------------------------------------------------------


class ChainRequest(BaseModel):
    pass


class ChainReply(BaseModel):
    chain_id: int
    dev_chain: bool = Field(description="A local development chain (anvil): the faucet works only there")
    registry: str = Field(description="Address of the ReleaseRegistry contract")
    shop: str = Field(description="Address of the Shop contract")
    fee_bps: int = Field(description="The shop's fee to its treasury, in basis points of each price")
    head_block: int
    indexed_block: int = Field(description="The newest block the marketplace has mirrored (head minus confirmations, once caught up)")
    confirmations: int


# --- transactions: prepared by the marketplace, signed by the client, relayed by the marketplace --------------------


class PrepareRequest(BaseModel):
    action: MarketAction
    account: str = Address
    name: str | None = Field(default=None, min_length=1, max_length=100, description="The plugin (every action but withdraw)")
    price_wei: str | None = Field(default=None, pattern=r"^[0-9]{1,78}$", description="list: the price; 0 for free")
    max_price_wei: str | None = Field(default=None, pattern=r"^[0-9]{1,78}$", description="buy: refuse if the price is higher")


class UnsignedTransaction(BaseModel):
    what: str = Field(description="What it does, for the person signing it")
    to: str = Address
    data: str = HexBytes
    value_wei: str = Wei
    gas: int = Field(ge=21_000, le=30_000_000)
    nonce: int = Field(ge=0)
    chain_id: int = Field(ge=1)
    max_fee_per_gas_wei: str = Wei
    max_priority_fee_per_gas_wei: str = Wei


class PrepareReply(BaseModel):
    transactions: list[UnsignedTransaction] = Field(description="To sign and submit in order, each after the one before is mined")
    price_wei: str | None = Field(default=None, description="buy and list: the price the transactions pay or set")
    balance_wei: str | None = Field(default=None, description="withdraw: what the account has to withdraw")
    notes: list[str] = Field(default_factory=list)


class SubmitRequest(BaseModel):
    raw_transaction: str = HexBytes


class SubmitReply(BaseModel):
    tx_hash: str
    block_number: int
    succeeded: bool
    gas_used: int
    revert_reason: str | None = Field(default=None, description="Why the chain reverted it, where the node says")


class FaucetRequest(BaseModel):
    account: str = Address
    amount_wei: str = Wei


class FaucetReply(BaseModel):
    account: str
    balance_wei: str


# --- what the marketplace mirrors -------------------------------------------------------------------------------


class EntitlementRequest(BaseModel):
    name: str = Name
    account: str = Address


class EntitlementReply(BaseModel):
    name: str
    account: str
    listed: bool = Field(description="Whether the plugin is for sale on the chain at all; unlisted plugins install as free ones")
    price_wei: str = Wei
    entitled: bool = Field(description="Bought by the account, or the account is the plugin's publisher, or the price is 0")
    indexed_block: int = Field(description="The newest block this answer has seen")


class MarketShowRequest(BaseModel):
    name: str = Name


class Listing(BaseModel):
    listed: bool
    price_wei: str = Wei
    seller: str | None = None


class ChainRelease(BaseModel):
    version: str
    cid: str
    manifest_digest: str
    block_number: int
    tx_hash: str


class Review(BaseModel):
    name: str
    version: str
    account: str
    stars: int
    text: str
    issued_at: str
    verified_by: Literal["purchase", "install", "publisher"]


class ReputationTerm(BaseModel):
    term: str
    value: float
    weight: float
    contribution: float
    evidence: str = Field(description="The observed facts the value rests on")


class Reputation(BaseModel):
    subject: str = Field(description="The plugin or publisher the score is for")
    score: float = Field(description="0 to 100")
    terms: list[ReputationTerm] = Field(default_factory=list)


class MarketShowReply(BaseModel):
    name: str
    registry_publisher: str | None = Field(description="Who published the name in the Plugyard registry")
    chain_publisher: str | None = Field(description="Who claimed the name on the chain's ReleaseRegistry")
    conflict: str | None = Field(default=None, description="Why the chain's record is not trusted for this plugin, when it is not")
    listing: Listing
    releases: list[ChainRelease]
    reviews: list[Review]
    reputation: Reputation


class ReviewRequest(BaseModel):
    """A signed statement: `account` signs `review_message(...)` (EIP-191) with its own key."""

    name: str = Name
    version: str = Version
    stars: int = Field(ge=1, le=5)
    text: str = Field(max_length=2000)
    account: str = Address
    issued_at: str = Field(max_length=40, description="When it was signed, ISO 8601 with a time zone; stale ones are refused")
    signature: str = Signature


class ReviewReply(BaseModel):
    accepted: bool
    replaced: bool = Field(default=False, description="A review of the same version by the same account was replaced")
    verified_by: str


class ReputationRequest(BaseModel):
    name: str = Name


class ReputationReply(BaseModel):
    plugin: Reputation
    publisher: Reputation | None = None


def review_message(name: str, version: str, stars: int, text: str, account: str, issued_at: str, chain_id: int, shop: str) -> str:
    """The text a reviewer signs: bound to the plugin version, the account, the time, the chain and the shop, so a
    signature is good for one review on one marketplace only."""
    return (
        "Plugyard review\n"
        f"plugin: {name}=={version}\nstars: {stars}\naccount: {account.lower()}\nissued_at: {issued_at}\n"
        f"chain_id: {chain_id}\nshop: {shop.lower()}\ntext: {text}"
    )


# --- events (`plugyard.evt.marketplace.<Name>`, CloudEvents whose data is the event's own fields) ----------------


class MirrorStarted(BaseModel):
    """The marketplace began mirroring a chain's contracts."""

    chain_id: int
    registry: str
    shop: str
    start_block: int


class BlocksMirrored(BaseModel):
    """One step of the indexer: the contracts' logs (decoded) found up to `last_block`, once confirmed."""

    last_block: int
    hashes: dict[str, str] = Field(description="Recent block hashes by block number: how a later reorganisation is noticed")
    facts: list[dict] = Field(description="Each log: block_number, block_hash, tx_hash, log_index, contract, event, args")


class ChainReorganised(BaseModel):
    """The blocks after `ancestor_block` left the chain: what they held is no longer mirrored."""

    ancestor_block: int
    hashes: dict[str, str]
    reverted_purchases: list[dict] = Field(description="The purchases that went with them: their entitlements are gone")


class ReviewAccepted(BaseModel):
    name: str
    version: str
    account: str
    stars: int
    text: str
    issued_at: str
    verified_by: str
    signature: str
    replaces: str | None = None


class ReviewReplaced(ReviewAccepted):
    """A later review by the same account of the same version, in place of the one before."""


class InstallRecorded(BaseModel):
    """A loader installed the plugin for a proven account: that account may review it."""

    name: str
    account: str
    host: str
    version: str


MARKETPLACE_EVENTS: dict[str, type[BaseModel]] = {
    model.__name__: model for model in (MirrorStarted, BlocksMirrored, ChainReorganised, ReviewAccepted, ReviewReplaced, InstallRecorded)
}
