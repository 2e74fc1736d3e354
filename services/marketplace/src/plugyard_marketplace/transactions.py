"""Which transactions an action needs, prepared for the client to sign.

`list`: the name claimed on the chain by commit and reveal (when it is not claimed yet: two transactions, the reveal
after the commit is mined), the newest release the registry holds recorded (CID and manifest digest), then the
listing. The registry's record rules: only an owner of the name in the Plugyard registry may list it, and a name
claimed on the chain by someone else cannot be listed (`market show` says so). `buy` pays the quoted price with
`max_price` as the buyer's bound; `withdraw` pulls what the shop owes the account.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from plugyard_marketplace.chain import Chain
from plugyard_schemas.marketplace import PrepareReply, PrepareRequest, UnsignedTransaction
from plugyard_schemas.registry import InfoReply


class Refused(ValueError):
    """An action that cannot be prepared, with the reason for the person who asked."""


def prepare(chain: Chain, request: PrepareRequest, info: InfoReply | None, owners: Sequence[str]) -> PrepareReply:
    account = request.account
    if request.action == "withdraw":
        owed = chain.owed(account)
        if owed == 0:
            raise Refused(f"the shop owes {account} nothing")
        tx = chain.unsigned(f"withdraw {owed} wei from the shop", "withdraw", chain.shop.functions.withdraw(), account, chain.next_nonce(account))
        return PrepareReply(transactions=[UnsignedTransaction(**tx)], balance_wei=str(owed))
    name = request.name
    if not name:
        raise Refused(f"{request.action} needs the plugin's name")
    if info is None:
        raise Refused(f"the Plugyard registry has no plugin {name}")
    if request.action == "buy":
        return _buy(chain, request, name)
    if account.lower() not in {o.lower() for o in owners}:
        raise Refused(f"{account} is not an owner of {name} in the Plugyard registry (owners: {', '.join(owners)})")
    chain_publisher = chain.chain_publisher(name)
    if chain_publisher is not None and chain_publisher != account.lower():
        raise Refused(f"{name} is claimed on the chain by {chain_publisher}, not by {account}: it cannot be listed from this account")
    nonce = chain.next_nonce(account)
    transactions = []
    if request.action == "delist":
        transactions.append(chain.unsigned(f"delist {name}", "delist", chain.shop.functions.delist(name), account, nonce))
        return PrepareReply(transactions=[UnsignedTransaction(**t) for t in transactions])
    if request.price_wei is None:
        raise Refused("list needs a price (0 for free)")
    price = int(request.price_wei)
    if price >= 2**256:
        raise Refused("the price does not fit a uint256")
    if chain_publisher is None:
        salt = os.urandom(32)
        commitment = chain.registry.functions.commitment_for(name, chain.w3.to_checksum_address(account), salt).call()
        transactions.append(chain.unsigned(f"commit to claiming {name} on the chain", "commit", chain.registry.functions.commit(commitment), account, nonce))
        transactions.append(chain.unsigned(f"claim {name} on the chain (reveal)", "claim", chain.registry.functions.claim(name, salt), account, nonce + 1))
        nonce += 2
    newest = next((v for v in info.versions if v.version == info.latest), None)
    if newest is not None and not chain.has_release(name, newest.version):
        digest = bytes.fromhex(newest.manifest_sha256)
        call = chain.registry.functions.record_release(name, newest.version, newest.cid, digest)
        transactions.append(chain.unsigned(f"record {name}=={newest.version} (CID {newest.cid}) on the chain", "record_release", call, account, nonce))
        nonce += 1
    transactions.append(chain.unsigned(f"list {name} at {price} wei", "list", chain.shop.functions.list(name, price), account, nonce))
    return PrepareReply(transactions=[UnsignedTransaction(**t) for t in transactions], price_wei=str(price))


def _buy(chain: Chain, request: PrepareRequest, name: str) -> PrepareReply:
    listed, price = chain.listing(name)
    if not listed:
        raise Refused(f"{name} is not for sale on the chain")
    max_price = int(request.max_price_wei) if request.max_price_wei is not None else price
    if price > max_price:
        raise Refused(f"{name} costs {price} wei, above your maximum of {max_price} wei")
    call = chain.shop.functions.buy(name, max_price)
    tx = chain.unsigned(f"buy {name} for {price} wei", "buy", call, request.account, chain.next_nonce(request.account), value=price)
    return PrepareReply(transactions=[UnsignedTransaction(**tx)], price_wei=str(price))
