"""A stand-in for the marketplace service on a real nats-server: it answers `plugyard.rpc.marketplace.<verb>` with
replies built from the schema models, and records every request it received (validated by the same models)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from eth_account import Account
from eth_account.typed_transactions import TypedTransaction
from eth_utils import keccak
from hexbytes import HexBytes
from nats.aio.client import Client
from pydantic import BaseModel

from plugyard_core.rpc import error_reply
from plugyard_schemas.marketplace import (
    ChainReply,
    ChainRelease,
    ChainRequest,
    EntitlementReply,
    EntitlementRequest,
    FaucetReply,
    FaucetRequest,
    Listing,
    MarketShowReply,
    MarketShowRequest,
    PrepareReply,
    PrepareRequest,
    Reputation,
    ReputationReply,
    ReputationRequest,
    ReputationTerm,
    Review,
    ReviewReply,
    ReviewRequest,
    SubmitReply,
    SubmitRequest,
    UnsignedTransaction,
)

SHOP = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
REGISTRY = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
CHAIN_ID = 31337
CID = "bafkreif44cx7dhhvvjvhi2ndbvq5atsdo3slx5rycbjo5ht7gojfzfknki"

REQUESTS: dict[str, type[BaseModel]] = {
    "chain": ChainRequest,
    "prepare": PrepareRequest,
    "submit": SubmitRequest,
    "faucet": FaucetRequest,
    "entitlement": EntitlementRequest,
    "show": MarketShowRequest,
    "review": ReviewRequest,
    "reputation": ReputationRequest,
}


class Refuse(Exception):
    """Raised by an answer to send a typed error reply."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def unsigned(what: str, *, nonce: int, value_wei: int = 0, data: str = "0xa9059cbb", to: str = SHOP, gas: int = 120_000) -> UnsignedTransaction:
    return UnsignedTransaction(
        what=what, to=to.lower(), data=data, value_wei=str(value_wei), gas=gas, nonce=nonce, chain_id=CHAIN_ID,
        max_fee_per_gas_wei=str(3 * 10**9), max_priority_fee_per_gas_wei=str(10**9),
    )


def chain_reply(**overrides: Any) -> ChainReply:
    fields = dict(chain_id=CHAIN_ID, dev_chain=True, registry=REGISTRY, shop=SHOP, fee_bps=250, head_block=40, indexed_block=38, confirmations=2)
    return ChainReply(**{**fields, **overrides})


def reputation(subject: str = "bars-paid", score: float = 72.5) -> Reputation:
    return Reputation(subject=subject, score=score, terms=[
        ReputationTerm(term="scanner verdicts", value=1.0, weight=0.4, contribution=40.0, evidence="2 of 2 versions cleared"),
        ReputationTerm(term="reviews", value=0.65, weight=0.5, contribution=32.5, evidence="2 reviews from buyers, mean 3.6 stars"),
        ReputationTerm(term="yanks", value=0.0, weight=0.1, contribution=0.0, evidence="no version yanked"),
    ])


def show_reply(**overrides: Any) -> MarketShowReply:
    fields = dict(
        name="bars-paid",
        registry_publisher="0x1111111111111111111111111111111111111111",
        chain_publisher="0x1111111111111111111111111111111111111111",
        conflict=None,
        listing=Listing(listed=True, price_wei=str(10**16), seller="0x1111111111111111111111111111111111111111"),
        releases=[
            ChainRelease(version="1.9.0", cid=CID, manifest_digest="ab" * 32, block_number=12, tx_hash="0x" + "12" * 32),
            ChainRelease(version="1.10.0", cid=CID.replace("kre", "kra"), manifest_digest="cd" * 32, block_number=11, tx_hash="0x" + "11" * 32),
            ChainRelease(version="1.2.0", cid=CID.replace("kre", "krb"), manifest_digest="ef" * 32, block_number=13, tx_hash="0x" + "13" * 32),
        ],
        reviews=[Review(name="bars-paid", version="1.9.0", account="0x2222222222222222222222222222222222222222", stars=4, text="does the job",
                        issued_at="2026-01-02T03:04:05+00:00", verified_by="purchase")],
        reputation=reputation(),
    )
    return MarketShowReply(**{**fields, **overrides})


def decode(raw: str) -> tuple[dict[str, Any], str, str]:
    """A signed raw transaction: its fields, the address that signed it, and its hash."""
    data = HexBytes(raw)
    fields = TypedTransaction.from_bytes(data).as_dict()
    return fields, Account.recover_transaction(data), "0x" + keccak(data).hex()


class FakeMarketplace:
    """`answers[verb]` is a function of the request returning a reply model (or raising Refuse); `received[verb]`
    the requests in order. `submit` by default decodes the transaction, and `fail_submit` maps the 1-based index
    of a submit to the chain's reason for reverting it."""

    def __init__(self, nc: Client) -> None:
        self.nc = nc
        self.received: dict[str, list[BaseModel]] = defaultdict(list)
        self.fail_submit: dict[int, str | None] = {}
        self.block = 100
        self.answers: dict[str, Callable[[Any], BaseModel]] = {
            "chain": lambda request: chain_reply(),
            "show": lambda request: show_reply(name=request.name),
            "reputation": lambda request: ReputationReply(plugin=reputation(request.name), publisher=reputation("0x1111111111111111111111111111111111111111", 80.0)),
            "review": lambda request: ReviewReply(accepted=True, replaced=False, verified_by="purchase"),
            "faucet": lambda request: FaucetReply(account=request.account, balance_wei=str(int(request.amount_wei) + 5)),
            "submit": self.submit,
            "entitlement": self.entitlement,
        }
        self.subscription = None

    async def start(self) -> FakeMarketplace:
        self.subscription = await self.nc.subscribe("plugyard.rpc.marketplace.*", cb=self._handle)
        await self.nc.flush()
        return self

    async def stop(self) -> None:
        if self.subscription is not None:
            await self.subscription.unsubscribe()

    async def _handle(self, msg) -> None:
        verb = msg.subject.rsplit(".", 1)[-1]
        request = REQUESTS[verb].model_validate_json(msg.data)
        self.received[verb].append(request)
        try:
            body = self.answers[verb](request).model_dump()
        except Refuse as refusal:
            body = error_reply(refusal.code, refusal.message)
        await msg.respond(json.dumps(body).encode())

    def submit(self, request: SubmitRequest) -> SubmitReply:
        _, _, tx_hash = decode(request.raw_transaction)
        self.block += 1
        index = len(self.received["submit"])
        if index in self.fail_submit:
            return SubmitReply(tx_hash=tx_hash, block_number=self.block, succeeded=False, gas_used=30_000, revert_reason=self.fail_submit[index])
        return SubmitReply(tx_hash=tx_hash, block_number=self.block, succeeded=True, gas_used=50_000 + index)

    def entitlement(self, request: EntitlementRequest) -> EntitlementReply:
        """Confirmed from the second question on (a purchase or a listing takes a moment to be mirrored); the price is the
        last one listed, else 0.01 ETH."""
        confirmed = len(self.received["entitlement"]) >= 2
        listed = [r.price_wei for r in self.received["prepare"] if r.action == "list"]
        price = listed[-1] if listed and confirmed else str(10**16)
        return EntitlementReply(name=request.name, account=request.account.lower(), listed=True, price_wei=price,
                                entitled=confirmed, indexed_block=self.block)

    def prepare_with(self, transactions: list[UnsignedTransaction], **fields: Any) -> None:
        self.answers["prepare"] = lambda request: PrepareReply(transactions=transactions, **fields)
