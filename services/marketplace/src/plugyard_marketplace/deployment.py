"""Which chain the marketplace uses and where its contracts are.

The chain: `PLUGYARD_CHAIN_URL`, else the local node `plugyard up` started (its URL in `<data-dir>/chain.url`).
The contracts: `PLUGYARD_REGISTRY_ADDRESS` and `PLUGYARD_SHOP_ADDRESS` when set; else those recorded for this chain
in `<service-dir>/contracts.json`; else, on a local development chain only, deployed now and recorded. On any
other chain without addresses the service stops with a message saying which variables to set.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from pathlib import Path

from plugyard_core.env_numbers import env_number
from plugyard_marketplace.chain import Addresses, Chain, ChainError

CHAIN_URL_ENV = "PLUGYARD_CHAIN_URL"
CHAIN_ID_ENV = "PLUGYARD_CHAIN_ID"
REGISTRY_ENV = "PLUGYARD_REGISTRY_ADDRESS"
SHOP_ENV = "PLUGYARD_SHOP_ADDRESS"
FEE_ENV = "PLUGYARD_MARKET_FEE_BPS"
TREASURY_ENV = "PLUGYARD_MARKET_TREASURY"
CHAIN_URL_FILE = "chain.url"
CONTRACTS_FILE = "contracts.json"
CONNECT_WAIT_S = 30.0


class ChainConfigError(ValueError):
    """No chain configured, or contracts that cannot be found or deployed: the service cannot start."""


def chain_url(data_dir: Path, environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    explicit = env.get(CHAIN_URL_ENV, "").strip()
    if explicit:
        return explicit
    recorded = data_dir / CHAIN_URL_FILE
    if recorded.exists():
        return recorded.read_text().strip()
    raise ChainConfigError(f"no chain: set {CHAIN_URL_ENV} to a JSON-RPC node, or run `plugyard up` with anvil installed (make setup)")


def connect(url: str, environ: Mapping[str, str] | None = None, wait_s: float = CONNECT_WAIT_S) -> Chain:
    """A chain that answers, checked against PLUGYARD_CHAIN_ID when that is set."""
    env = os.environ if environ is None else environ
    chain = Chain(url)
    deadline = time.monotonic() + wait_s
    while True:
        try:
            chain_id = chain.chain_id
            break
        except ChainError as exc:
            if time.monotonic() > deadline:
                raise ChainConfigError(str(exc)) from None
            time.sleep(0.5)
    expected = env.get(CHAIN_ID_ENV, "").strip()
    if expected and expected != str(chain_id):
        raise ChainConfigError(f"{CHAIN_ID_ENV} is {expected}, but the chain at {url} is chain {chain_id}")
    return chain


def contracts_for(chain: Chain, service_dir: Path, environ: Mapping[str, str] | None = None) -> tuple[Addresses, int]:
    """The contracts' addresses and the block to mirror from; deploys on a development chain when needed."""
    env = os.environ if environ is None else environ
    registry, shop = env.get(REGISTRY_ENV, "").strip(), env.get(SHOP_ENV, "").strip()
    if registry or shop:
        if not (registry and shop):
            raise ChainConfigError(f"set both {REGISTRY_ENV} and {SHOP_ENV}, or neither")
        for name, address in ((REGISTRY_ENV, registry), (SHOP_ENV, shop)):
            if not chain.has_code(address):
                raise ChainConfigError(f"{name} is {address}, but the chain {chain.chain_id} has no contract there")
        return Addresses(registry, shop), 0
    record = service_dir / CONTRACTS_FILE
    recorded = _read(record).get(str(chain.chain_id))
    if recorded and chain.has_code(recorded["registry"]) and chain.has_code(recorded["shop"]):
        return Addresses(recorded["registry"], recorded["shop"]), int(recorded.get("block", 0))
    if not chain.is_dev():
        raise ChainConfigError(f"no marketplace contracts known on chain {chain.chain_id}: set {REGISTRY_ENV} and {SHOP_ENV}")
    fee = int(env_number(FEE_ENV, 0, least=0, most=1000, what="basis points", error=ChainConfigError, environ=env))
    start = chain.head()
    addresses = chain.deploy(fee_bps=fee, treasury=env.get(TREASURY_ENV, "").strip() or None)
    data = _read(record)
    data[str(chain.chain_id)] = {"registry": addresses.registry, "shop": addresses.shop, "block": start}
    service_dir.mkdir(parents=True, exist_ok=True)
    temporary = record.with_suffix(".tmp")
    temporary.write_text(json.dumps(data, indent=2) + "\n")
    temporary.replace(record)
    return addresses, start


def _read(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
