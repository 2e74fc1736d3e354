"""The one place Plugyard speaks to a chain (web3.py, JSON-RPC over HTTP): the indexer's questions, the views of
the contracts, deployment, and relaying transactions that clients signed themselves.

Only transactions to the marketplace's own two contracts are relayed: the marketplace is not a general relay.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.typed_transactions import TypedTransaction
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import ContractLogicError, TimeExhausted, TransactionNotFound
from web3.logs import DISCARD

from plugyard_marketplace import contracts
from plugyard_marketplace.indexer import ChainFact

DEV_CLIENTS = ("anvil", "hardhat", "ganache")
REJECTED = "Rejected"  # the event name of a log of our contracts that none of their events decodes
MAX_REJECTED_DATA = 2 + 2 * 1024
DEV_CHAIN_ID = 31337
RECEIPT_TIMEOUT_S = 60.0
# Gas limits for the transactions prepared before the ones they depend on are mined (so they cannot be
# estimated): about twice what the contracts' tests measured.
GAS_LIMITS = {"commit": 120_000, "claim": 250_000, "record_release": 400_000, "list": 200_000, "delist": 120_000,
              "buy": 250_000, "withdraw": 150_000}


class ChainError(RuntimeError):
    """The node is unreachable, or answered something that cannot be used."""


class NotOurContract(ValueError):
    """A transaction to relay that is not addressed to the marketplace's contracts, or not a transaction."""


@dataclass(frozen=True)
class Addresses:
    registry: str
    shop: str


class Chain:
    def __init__(self, url: str, addresses: Addresses | None = None, *, timeout_s: float = 10.0) -> None:
        self.url = url
        self.w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": timeout_s}))
        self._chain_id: int | None = None
        self.addresses: Addresses | None = None
        if addresses is not None:
            self.use(addresses)

    def use(self, addresses: Addresses) -> None:
        self.addresses = Addresses(Web3.to_checksum_address(addresses.registry), Web3.to_checksum_address(addresses.shop))
        self.registry = self.w3.eth.contract(address=self.addresses.registry, abi=contracts.load("ReleaseRegistry")["abi"])
        self.shop = self.w3.eth.contract(address=self.addresses.shop, abi=contracts.load("Shop")["abi"])
        self._by_address = {self.addresses.registry.lower(): ("registry", self.registry), self.addresses.shop.lower(): ("shop", self.shop)}
        # Each event by its topic0 (the hash of its signature): a log is decoded by the one event it can be.
        self._events = {
            (kind, HexBytes(event.topic).to_0x_hex()): event
            for kind, contract in self._by_address.values() for event in contract.events
        }

    # ---- the node

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = self._call(lambda: self.w3.eth.chain_id)
        return self._chain_id

    def is_dev(self) -> bool:
        """A local development chain: anvil (or its kin) on the development chain id. Only there may the faucet run."""
        client = str(self._call(lambda: self.w3.client_version)).lower()
        return self.chain_id == DEV_CHAIN_ID and client.startswith(DEV_CLIENTS)

    def has_code(self, address: str) -> bool:
        return len(self._call(lambda: self.w3.eth.get_code(Web3.to_checksum_address(address)))) > 0

    # ---- the indexer's questions (plugyard_marketplace.indexer.ChainReader)

    def head(self) -> int:
        return int(self._call(lambda: self.w3.eth.block_number))

    def block_hash(self, number: int) -> str | None:
        if number < 0:
            return None
        try:
            block = self._call(lambda: self.w3.eth.get_block(number))
        except ChainError as exc:
            if "not found" in str(exc).lower():
                return None
            raise
        return HexBytes(block["hash"]).to_0x_hex()

    def facts(self, first: int, last: int) -> list[ChainFact]:
        logs = self._call(lambda: self.w3.eth.get_logs({
            "fromBlock": first, "toBlock": last, "address": [self.addresses.registry, self.addresses.shop],
        }))
        found = []
        for log in logs:
            fact = self.decode(log)
            if fact is not None:
                found.append(fact)
        return found

    def decode(self, log: Any) -> ChainFact | None:
        """The fact a log records; a log of our contracts that no event of theirs decodes is kept as a `Rejected`
        fact naming why (recorded, never applied); None for a log of another address."""
        kind, contract = self._by_address.get(str(log["address"]).lower(), (None, None))
        if contract is None:
            return None
        place = dict(
            block_number=int(log["blockNumber"]), block_hash=HexBytes(log["blockHash"]).to_0x_hex(),
            tx_hash=HexBytes(log["transactionHash"]).to_0x_hex(), log_index=int(log["logIndex"]), contract=kind,
        )
        topics = [HexBytes(t).to_0x_hex() for t in log.get("topics", [])]
        event = self._events.get((kind, topics[0])) if topics else None
        if event is not None:
            [decoded] = event().process_receipt({"logs": [log]}, errors=DISCARD) or [None]
            if decoded is not None:
                return ChainFact(**place, event=decoded["event"], args=_json_safe(dict(decoded["args"])))
        return ChainFact(**place, event=REJECTED, args={
            "reason": f"no event of the {kind} contract decodes this log (topic0 {topics[0] if topics else 'missing'})",
            "topics": topics[:4], "data": HexBytes(log.get("data", b"")).to_0x_hex()[:MAX_REJECTED_DATA],
        })

    # ---- the contracts' views

    def chain_publisher(self, name: str) -> str | None:
        publisher = self._call(lambda: self.registry.functions.publisher_of(name).call())
        return None if int(publisher, 16) == 0 else publisher.lower()

    def has_release(self, name: str, version: str) -> bool:
        return bool(self._call(lambda: self.registry.functions.has_release(name, version).call()))

    def listing(self, name: str) -> tuple[bool, int]:
        listed, price = self._call(lambda: self.shop.functions.listing(name).call())
        return bool(listed), int(price)

    def owed(self, account: str) -> int:
        return int(self._call(lambda: self.shop.functions.balances(Web3.to_checksum_address(account)).call()))

    def fee_bps(self) -> int:
        return int(self._call(lambda: self.shop.functions.fee_bps().call()))

    def balance(self, account: str) -> int:
        return int(self._call(lambda: self.w3.eth.get_balance(Web3.to_checksum_address(account))))

    # ---- transactions

    def unsigned(self, what: str, function: str, call: Any, account: str, nonce: int, value: int = 0) -> dict[str, Any]:
        """An unsigned type-2 transaction calling `call` from `account`, for the client to sign."""
        fees = self.fees()
        return {
            "what": what, "to": call.address, "data": call._encode_transaction_data(), "value_wei": str(value),
            "gas": GAS_LIMITS[function], "nonce": nonce, "chain_id": self.chain_id,
            "max_fee_per_gas_wei": str(fees[0]), "max_priority_fee_per_gas_wei": str(fees[1]),
        }

    def fees(self) -> tuple[int, int]:
        """(max fee, priority fee) per gas: twice the latest base fee plus the node's suggested tip."""
        latest = self._call(lambda: self.w3.eth.get_block("latest"))
        tip = int(self._call(lambda: self.w3.eth.max_priority_fee))
        return 2 * int(latest.get("baseFeePerGas", 0)) + tip, tip

    def next_nonce(self, account: str) -> int:
        return int(self._call(lambda: self.w3.eth.get_transaction_count(Web3.to_checksum_address(account), "pending")))

    def relay(self, raw: bytes) -> dict[str, Any]:
        """Send a client-signed transaction to one of our contracts and wait for its receipt."""
        try:
            decoded = TypedTransaction.from_bytes(HexBytes(raw)).as_dict()
            sender = Account.recover_transaction(raw)
        except Exception as exc:  # eth-account raises many kinds for bytes that are not a typed transaction
            raise NotOurContract(f"not a signed type-2 transaction: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
        to = HexBytes(decoded.get("to") or b"").to_0x_hex().lower()
        if to not in self._by_address:
            raise NotOurContract(f"transactions are relayed only to the marketplace's contracts, not to {to or 'a new contract'}")
        if int(decoded.get("chainId", 0)) != self.chain_id:
            raise NotOurContract(f"signed for chain {decoded.get('chainId')}, not this chain ({self.chain_id})")
        tx_hash = self._call(lambda: self.w3.eth.send_raw_transaction(raw))
        try:
            receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=RECEIPT_TIMEOUT_S)
        except TimeExhausted:
            raise ChainError(f"transaction {HexBytes(tx_hash).to_0x_hex()} was not mined within {RECEIPT_TIMEOUT_S:.0f} s") from None
        reason = None if receipt["status"] == 1 else self._revert_reason(decoded, sender, receipt["blockNumber"])
        return {"tx_hash": HexBytes(tx_hash).to_0x_hex(), "block_number": int(receipt["blockNumber"]),
                "succeeded": receipt["status"] == 1, "gas_used": int(receipt["gasUsed"]), "revert_reason": reason}

    def _revert_reason(self, decoded: dict[str, Any], sender: str, block: int) -> str:
        """Why the chain reverted it: the same call replayed on the state before its block."""
        try:
            self.w3.eth.call({"from": sender, "to": Web3.to_checksum_address(HexBytes(decoded["to"]).to_0x_hex()),
                              "data": HexBytes(decoded["data"]), "value": int(decoded.get("value", 0))}, block - 1)
        except ContractLogicError as exc:
            return str(exc.message or exc)
        except Exception as exc:  # the node may not replay; the receipt's status is what counts
            return f"reverted ({type(exc).__name__})"
        return "reverted"

    # ---- the development chain only

    def faucet(self, account: str, amount: int) -> int:
        """Add `amount` wei to `account` (anvil's setBalance); the new balance."""
        balance = self.balance(account) + amount
        self._call(lambda: self.w3.provider.make_request("anvil_setBalance", [Web3.to_checksum_address(account), hex(balance)]))
        return balance

    def deploy(self, fee_bps: int = 0, treasury: str | None = None) -> Addresses:
        """Deploy both contracts from the node's first unlocked account (a development chain gives one)."""
        deployer = self._call(lambda: self.w3.eth.accounts)[0]
        registry = self._deploy(contracts.load("ReleaseRegistry"), deployer)
        shop = self._deploy(contracts.load("Shop"), deployer, registry, Web3.to_checksum_address(treasury or deployer), fee_bps)
        addresses = Addresses(registry, shop)
        self.use(addresses)
        return addresses

    def _deploy(self, artifact: dict[str, Any], deployer: str, *args: Any) -> str:
        factory = self.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
        tx_hash = self._call(lambda: factory.constructor(*args).transact({"from": deployer}))
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=RECEIPT_TIMEOUT_S)
        if receipt["status"] != 1:
            raise ChainError(f"deploying {artifact.get('contract', 'a contract')} failed")
        return receipt["contractAddress"]

    def _call(self, function):
        try:
            return function()
        except (ContractLogicError, TransactionNotFound):
            raise
        except Exception as exc:  # requests' and web3's errors for a node that is down or answers nonsense
            raise ChainError(f"the chain at {self.url} did not answer: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None


def _json_safe(args: dict[str, Any]) -> dict[str, Any]:
    safe = {}
    for key, value in args.items():
        if isinstance(value, bool):
            safe[key] = value
        elif isinstance(value, int):
            safe[key] = str(value)
        elif isinstance(value, (bytes, bytearray)):
            safe[key] = HexBytes(value).to_0x_hex()
        else:
            safe[key] = value if isinstance(value, str) else str(value)
    return safe
