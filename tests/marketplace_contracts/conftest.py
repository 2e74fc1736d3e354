"""An in-process chain (eth-tester on py-evm, through web3's EthereumTesterProvider) with the marketplace's
contracts deployed from their committed artifacts.

The chain and the contracts are made once per module; every test starts from a snapshot of that state and
the chain is reverted to it afterwards, so the tests are independent and fast.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_tester import EthereumTester, PyEVMBackend
from eth_tester.exceptions import TransactionFailed
from web3 import EthereumTesterProvider, Web3
from web3.contract import Contract
from web3.logs import DISCARD

from plugyard_marketplace import contracts
from plugyard_marketplace.contract_build import compile_file

HERE = Path(__file__).resolve().parent
FEE_BPS = 250  # 2.5%
GAS = 1_000_000  # explicit gas for transactions that are meant to fail inside a block


@dataclass
class Chain:
    tester: EthereumTester
    w3: Web3
    keys: list[str]  # private keys (0x hex) of the funded accounts, in the order of `accounts`
    accounts: list[str]
    registry: Contract
    shop: Contract
    treasury: str
    deployer: str
    _attacker_artifact: dict[str, Any] | None = field(default=None, repr=False)

    # ---- transactions -------------------------------------------------------------------------
    def transact(self, call: Any, sender: str, value: int = 0, **extra: Any) -> Any:
        """Send `call` from `sender`, mine it, return the receipt (raises TransactionFailed on a revert)."""
        tx_hash = call.transact({"from": sender, "value": value, **extra})
        return self.w3.eth.wait_for_transaction_receipt(tx_hash)

    def events(self, contract: Contract, event: str, receipt: Any) -> list[Any]:
        """The `event` logs of `contract` in `receipt` (other contracts' logs left aside)."""
        return list(getattr(contract.events, event)().process_receipt(receipt, errors=DISCARD))

    def gas_cost(self, receipt: Any) -> int:
        return receipt["gasUsed"] * receipt["effectiveGasPrice"]

    def deploy(self, artifact: dict[str, Any], *args: Any, sender: str | None = None) -> Contract:
        factory = self.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
        receipt = self.transact(factory.constructor(*args), sender or self.deployer)
        return self.w3.eth.contract(address=receipt["contractAddress"], abi=artifact["abi"])

    def attacker(self) -> Contract:
        """A fresh Attacker contract (tests/marketplace_contracts/Attacker.vy) aimed at this chain's shop."""
        if self._attacker_artifact is None:
            self._attacker_artifact = compile_file(HERE / "Attacker.vy")
        return self.deploy(self._attacker_artifact, self.shop.address, self.registry.address)

    # ---- registry helpers ---------------------------------------------------------------------
    def claim(self, name: str, publisher: str, salt: bytes | None = None) -> Any:
        """Claim `name` for the externally owned `publisher` by commit-reveal (two blocks)."""
        salt = salt or os.urandom(32)
        commitment = self.registry.functions.commitment_for(name, publisher, salt).call()
        self.transact(self.registry.functions.commit(commitment), publisher)
        return self.transact(self.registry.functions.claim(name, salt), publisher)

    def sign_claim(
        self,
        key: str,
        name: str,
        *,
        nonce: int | None = None,
        deadline: int | None = None,
        chain_id: int | None = None,
        contract: str | None = None,
        publisher: str | None = None,
    ) -> tuple[str, int, bytes]:
        """(publisher, deadline, signature) of an EIP-712 Claim, made with eth-account (an independent encoder)."""
        signer = Account.from_key(key).address
        publisher = publisher or signer
        deadline = self.now() + 3600 if deadline is None else deadline
        message = {
            "name": name,
            "publisher": publisher,
            "nonce": self.registry.functions.nonces(publisher).call() if nonce is None else nonce,
            "deadline": deadline,
        }
        types = {"Claim": [
            {"name": "name", "type": "string"},
            {"name": "publisher", "type": "address"},
            {"name": "nonce", "type": "uint256"},
            {"name": "deadline", "type": "uint256"},
        ]}
        signed = Account.sign_typed_data(key, self.domain(chain_id, contract), types, message)
        return publisher, deadline, bytes(signed.signature)

    def sign_release(
        self,
        key: str,
        name: str,
        version: str,
        cid: str,
        digest: bytes,
        *,
        nonce: int | None = None,
        deadline: int | None = None,
        chain_id: int | None = None,
        contract: str | None = None,
    ) -> tuple[int, bytes]:
        publisher = Account.from_key(key).address
        deadline = self.now() + 3600 if deadline is None else deadline
        message = {
            "name": name,
            "version": version,
            "cid": cid,
            "manifestDigest": digest,
            "publisher": publisher,
            "nonce": self.registry.functions.nonces(publisher).call() if nonce is None else nonce,
            "deadline": deadline,
        }
        types = {"Release": [
            {"name": "name", "type": "string"},
            {"name": "version", "type": "string"},
            {"name": "cid", "type": "string"},
            {"name": "manifestDigest", "type": "bytes32"},
            {"name": "publisher", "type": "address"},
            {"name": "nonce", "type": "uint256"},
            {"name": "deadline", "type": "uint256"},
        ]}
        signed = Account.sign_typed_data(key, self.domain(chain_id, contract), types, message)
        return deadline, bytes(signed.signature)

    def domain(self, chain_id: int | None = None, contract: str | None = None) -> dict[str, Any]:
        return {
            "name": "Plugyard ReleaseRegistry",
            "version": "1",
            "chainId": self.chain_id() if chain_id is None else chain_id,
            "verifyingContract": contract or self.registry.address,
        }

    def chain_id(self) -> int:
        """The id the EVM's CHAINID opcode returns (what the contracts see)."""
        return self.tester.backend.chain.chain_id

    def now(self) -> int:
        return self.w3.eth.get_block("pending")["timestamp"]

    # ---- blocks with several transactions ------------------------------------------------------
    @contextmanager
    def one_block(self) -> Iterator[None]:
        """Transactions sent inside go into one block, in the order sent, mined on exit (one per sender:
        eth-tester checks each against the state before the block)."""
        self.tester.disable_auto_mine_transactions()
        try:
            yield
        finally:
            self.tester.enable_auto_mine_transactions()  # mines what is pending


def new_chain(chain_id: int | None = None) -> Chain:
    backend = PyEVMBackend()
    if chain_id is not None:
        # Another chain: the CHAINID opcode and eth-tester's transaction signing both read this.
        backend.chain.chain_id = chain_id
    tester = EthereumTester(backend)
    w3 = Web3(EthereumTesterProvider(tester))
    keys = [key.to_hex() for key in backend.account_keys]
    accounts = list(w3.eth.accounts)
    assert [Account.from_key(k).address for k in keys] == accounts
    deployer, treasury = accounts[0], accounts[9]
    chain = Chain(tester, w3, keys, accounts, None, None, treasury, deployer)  # type: ignore[arg-type]
    chain.registry = chain.deploy(contracts.load("ReleaseRegistry"))
    chain.shop = chain.deploy(contracts.load("Shop"), chain.registry.address, treasury, FEE_BPS)
    return chain


@pytest.fixture(scope="module")
def _module_chain() -> Chain:
    return new_chain()


@pytest.fixture
def chain(_module_chain: Chain) -> Iterator[Chain]:
    snapshot = _module_chain.tester.take_snapshot()
    try:
        yield _module_chain
    finally:
        _module_chain.tester.enable_auto_mine_transactions()
        _module_chain.tester.revert_to_snapshot(snapshot)


@contextmanager
def refused(reason: str) -> Iterator[None]:
    """The transaction or call inside reverts, with `reason` in its message."""
    with pytest.raises(TransactionFailed) as caught:
        yield
    assert reason in str(caught.value), f"reverted for another reason: {caught.value}"


def cid_of(n: int) -> str:
    """A well-formed CIDv1 (base32, raw codec) text, distinct per n."""
    return "bafkrei" + format(n, "052x").translate(str.maketrans("0189", "wxyz"))
