"""The marketplace service's composition root: chain + contracts + indexer loop + application + RPCs."""

from __future__ import annotations

import logging
from pathlib import Path

from plugyard_core import settings
from plugyard_core.connection import bus_access
from plugyard_core.env_numbers import env_number
from plugyard_core.every import Every
from plugyard_core.runtime_health import stall_after_s
from plugyard_core.service import Service, run_main
from plugyard_marketplace.application import SERVICE, MarketplaceApplication, MirrorKey
from plugyard_marketplace.deployment import ChainConfigError, chain_url, connect, contracts_for
from plugyard_marketplace.handlers import Registry, build_router, subscriptions
from plugyard_marketplace.indexer import Indexer

log = logging.getLogger("plugyard.marketplace")

CONFIRMATIONS_ENV = "PLUGYARD_CHAIN_CONFIRMATIONS"
POLL_ENV = "PLUGYARD_CHAIN_POLL_S"
DEFAULT_CONFIRMATIONS = 2
DEFAULT_POLL_S = 1.0


def mirror_chain(app: MarketplaceApplication, indexer: Indexer) -> int:
    """Mirror every step the chain has ready; the number of steps taken."""
    steps = 0
    while (step := indexer.step(app.cursor())) is not None:
        for purchase in app.record_step(step):
            log.warning("a reorganisation removed the purchase of %s by %s (tx %s)", purchase.name, purchase.buyer, purchase.tx_hash)
        steps += 1
    return steps


def build_service(data_dir: Path | None = None, nats_url: str | None = None) -> Service:
    """Raises ChainConfigError naming what to set when there is no usable chain or contracts (and CredentialsError for
    unreadable bus credentials, checked first: they are wrong whatever the chain)."""
    url = nats_url or settings.nats_url(data_dir)
    bus_access(SERVICE, url, data_dir)
    confirmations = int(env_number(CONFIRMATIONS_ENV, DEFAULT_CONFIRMATIONS, least=0, most=1000, what="a number of blocks", error=ChainConfigError))
    poll_s = env_number(POLL_ENV, DEFAULT_POLL_S, least=0, most=600, strictly_above_least=True, what="a number of seconds", error=ChainConfigError)
    root = settings.data_dir(data_dir)
    chain = connect(chain_url(root))
    addresses, start_block = contracts_for(chain, settings.service_dir(SERVICE, data_dir))
    chain.use(addresses)
    dev = chain.is_dev()
    app = MarketplaceApplication(data_dir=data_dir, mirror=MirrorKey(chain.chain_id, addresses.registry, addresses.shop, start_block))
    indexer = Indexer(chain, confirmations=confirmations, start_block=start_block)
    loop = Every(poll_s, lambda: mirror_chain(app, indexer), "mirroring the chain", stall_after_s())
    registry = Registry()

    def health() -> dict:
        problems = [problem] if (problem := loop.problem()) else []
        return {"chain_id": chain.chain_id, "registry": addresses.registry, "shop": addresses.shop, "dev_chain": dev,
                "indexed_block": app.cursor().block, "facts": len(app.view.facts), "rejected_logs": len(app.view.rejected()),
                "problems": problems}

    return Service(
        name=SERVICE,
        nats_url=url,
        routers=[build_router(app, chain, registry, lambda: dev, confirmations, mined=loop.wake)],
        subscriptions=subscriptions(app),
        outbox=app,
        loops=[loop],
        health=health,
        on_connect=[registry.connected],
    )


def main(data_dir: Path | None = None, nats_url: str | None = None) -> None:
    run_main(SERVICE, lambda: build_service(data_dir, nats_url), (ChainConfigError,))
