"""The marketplace's RPCs. Thin: decode, ask the chain, the registry or the application, encode.

Calls to the chain block, so they run in threads of their own; answers about what was mirrored come from the
application's view without touching the chain.
"""

from __future__ import annotations

import asyncio
import functools
import time
from datetime import UTC, datetime
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from faststream.nats import NatsRouter
from nats.aio.client import Client

from plugyard_core.rpc import RpcError, ServiceUnavailable, call
from plugyard_core.consumer import Delivered
from plugyard_core.streams import event_subject, rpc_subject
from plugyard_core.subscriptions import Subscription
from plugyard_core.tracking_es import EventSourcedTracker, Reject
from plugyard_schemas.cloudevent import CloudEvent
from plugyard_schemas.loader import PluginInstalled
from plugyard_schemas.marketplace import (
    ChainRelease, ChainReply, ChainRequest, EntitlementReply, EntitlementRequest, FaucetReply, FaucetRequest, Listing,
    MarketShowReply, MarketShowRequest, PrepareReply, PrepareRequest, ReputationReply, ReputationRequest, ReviewReply,
    ReviewRequest, SubmitReply, SubmitRequest,
)
from plugyard_schemas.registry import InfoReply, InfoRequest, SearchReply, SearchRequest
from plugyard_schemas.telemetry import ShowReply, ShowRequest
from plugyard_marketplace.application import SERVICE
from plugyard_marketplace.chain import ChainError, NotOurContract
from plugyard_marketplace.reputation import PluginFacts, Telemetry, plugin_reputation, publisher_reputation
from plugyard_marketplace.reviews import DEFAULT_MAX_AGE, ReviewRefused, verified_by, verify_review
from plugyard_marketplace.transactions import Refused, prepare

if TYPE_CHECKING:
    from plugyard_marketplace.application import MarketplaceApplication
    from plugyard_marketplace.chain import Chain

REGISTRY_TIMEOUT_S = 5.0
CHAIN_WORKERS = 8
MAX_FAUCET_WEI = 1_000 * 10**18
OWNERS_FRESH_S = 5.0
MAX_OWNERS_SEEN = 10_000


TELEMETRY_SPAN_S = 30 * 24 * 3600.0
MAX_PUBLISHER_PLUGINS = 50  # a publisher's reputation reads this many of their plugins at most
TELEMETRY_TIMEOUT_S = 5.0


class Registry:
    """The Plugyard registry as the marketplace asks it: a plugin's owners and versions."""

    def __init__(self) -> None:
        self.nc: Client | None = None

    def connected(self, nc: Client) -> None:
        self.nc = nc

    async def info(self, name: str) -> InfoReply | None:
        if self.nc is None:
            raise RpcError("unavailable", "the marketplace is not connected to the bus yet")
        try:
            return await call(self.nc, rpc_subject("registry", "info"), InfoRequest(name=name), InfoReply, timeout=REGISTRY_TIMEOUT_S)
        except ServiceUnavailable as exc:
            raise RpcError("unavailable", f"the registry does not answer: {exc}") from None
        except RpcError as exc:
            if exc.code == "not_found":
                return None
            raise

    async def published_by(self, publisher: str) -> list[str]:
        """The names of the plugins `publisher` published (at most MAX_PUBLISHER_PLUGINS)."""
        request = SearchRequest(publisher=publisher, include_yanked=True, sort="name", limit=MAX_PUBLISHER_PLUGINS)
        try:
            reply = await call(self.nc, rpc_subject("registry", "search"), request, SearchReply, timeout=REGISTRY_TIMEOUT_S)
        except ServiceUnavailable as exc:
            raise RpcError("unavailable", f"the registry does not answer: {exc}") from None
        return list(dict.fromkeys(hit.name for hit in reply.hits))

    async def telemetry(self, name: str) -> Telemetry | None:
        """What the telemetry service counted of the plugin over the last 30 days; None when it does not answer."""
        if self.nc is None:
            return None
        try:
            reply = await call(self.nc, rpc_subject("telemetry", "show"), ShowRequest(name=name, since_s=TELEMETRY_SPAN_S), ShowReply,
                               timeout=TELEMETRY_TIMEOUT_S)
        except RpcError:  # ServiceUnavailable included: reputation then leaves the term out and says so
            return None
        crashes = sum(1 for mark in reply.marks if mark.event == "PluginCrashed")
        return Telemetry(calls=sum(g.calls for g in reply.groups), errors=sum(g.errors for g in reply.groups), crashes=crashes)


INSTALLS_DURABLE = "marketplace-installs"
INSTALLED_TYPE = "dev.plugyard.loader.PluginInstalled"


def install_seen(app: MarketplaceApplication, cloudevent: CloudEvent, delivered: Delivered) -> list:
    """A loader's PluginInstalled: when it proved an account, that account may now review the plugin."""
    if cloudevent.type != INSTALLED_TYPE:
        raise Reject(f"not an install: type {cloudevent.type!r}, expected {INSTALLED_TYPE!r}")
    if not isinstance(cloudevent.data, dict):
        raise Reject(f"invalid data: a PluginInstalled object is expected, not {type(cloudevent.data).__name__}")
    installed = PluginInstalled.model_validate(cloudevent.data)  # a ValidationError is rejected by the tracker
    if not installed.account:
        return []
    seen = app.install_seen(installed.name, installed.account, installed.host, installed.version)
    return [seen] if seen is not None else []


def subscriptions(app: MarketplaceApplication | None = None) -> list[Subscription]:
    return [
        Subscription(
            subject=event_subject("loader", "PluginInstalled"), durable=INSTALLS_DURABLE, producer="loader", model=PluginInstalled,
            handler=install_seen, tracker=lambda sub: EventSourcedTracker(app, sub.durable, sub.handler, lock=app.lock),
            description="Installs for a proven account: that account may review the plugin.",
        ),
    ]


def build_router(
    app: MarketplaceApplication | None, chain: Chain | None = None, registry: Registry | None = None,
    dev_chain: Callable[[], bool] = lambda: False, confirmations: int = 0, mined: Callable[[], None] = lambda: None,
) -> NatsRouter:
    """`mined` is called after a relayed transaction is mined (the indexer mirrors it at once rather than at its next
    poll)."""
    """`app` and `chain` may be None when the router is built only to document the bus (AsyncAPI)."""
    router = NatsRouter()
    threads = ThreadPoolExecutor(max_workers=CHAIN_WORKERS, thread_name_prefix="marketplace-chain")

    async def in_thread(function, *args, **kwargs):
        try:
            return await asyncio.get_running_loop().run_in_executor(threads, functools.partial(function, *args, **kwargs))
        except ChainError as exc:
            raise RpcError("unavailable", str(exc)) from None

    async def owners(name: str) -> tuple[InfoReply | None, list[str]]:
        info = await registry.info(name)
        return info, (list(info.owners) if info else [])

    owners_seen: dict[str, tuple[float, list[str]]] = {}

    async def recent_owners(name: str) -> list[str]:
        """The registry's owners of `name`, asked at most every OWNERS_FRESH_S: the loader asks about entitlements at
        every install, and owners change rarely (a registry `owner add`)."""
        now = time.monotonic()
        seen = owners_seen.get(name)
        if seen is None or now - seen[0] > OWNERS_FRESH_S:
            _, names = await owners(name)
            if len(owners_seen) >= MAX_OWNERS_SEEN:
                owners_seen.clear()
            owners_seen[name] = seen = (now, names)
        return seen[1]

    @router.subscriber(rpc_subject(SERVICE, "chain"), title="marketplace.chain")
    async def chain_info(request: ChainRequest) -> ChainReply:
        """The chain and contracts the marketplace uses, and how far it has mirrored them."""
        head = await in_thread(chain.head)
        fee = await in_thread(chain.fee_bps)
        return ChainReply(chain_id=chain.chain_id, dev_chain=dev_chain(), registry=chain.addresses.registry, shop=chain.addresses.shop,
                          fee_bps=fee, head_block=head, indexed_block=app.cursor().block, confirmations=confirmations)

    @router.subscriber(rpc_subject(SERVICE, "prepare"), title="marketplace.prepare")
    async def prepare_transactions(request: PrepareRequest) -> PrepareReply:
        """The transactions an action needs, unsigned, for the client to sign with its own key."""
        info, names = (None, []) if request.action == "withdraw" else await owners(request.name or "")
        try:
            return await in_thread(prepare, chain, request, info, names)
        except Refused as exc:
            raise RpcError("refused", str(exc)) from None

    @router.subscriber(rpc_subject(SERVICE, "submit"), title="marketplace.submit")
    async def submit(request: SubmitRequest) -> SubmitReply:
        """Relay one client-signed transaction to the marketplace's contracts and wait for its receipt."""
        try:
            result = await in_thread(chain.relay, bytes.fromhex(request.raw_transaction[2:]))
        except NotOurContract as exc:
            raise RpcError("refused", str(exc)) from None
        mined()
        return SubmitReply(**result)

    @router.subscriber(rpc_subject(SERVICE, "faucet"), title="marketplace.faucet")
    async def faucet(request: FaucetRequest) -> FaucetReply:
        """Fund an account, on the local development chain only."""
        if not dev_chain():
            raise RpcError("refused", f"the faucet runs only on a local development chain; chain {chain.chain_id} is not one")
        amount = int(request.amount_wei)
        if amount > MAX_FAUCET_WEI:
            raise RpcError("invalid_request", f"at most {MAX_FAUCET_WEI // 10**18} ETH at a time")
        balance = await in_thread(chain.faucet, request.account, amount)
        return FaucetReply(account=request.account, balance_wei=str(balance))

    @router.subscriber(rpc_subject(SERVICE, "entitlement"), title="marketplace.entitlement")
    async def entitlement(request: EntitlementRequest) -> EntitlementReply:
        """Whether an account may install a plugin: free, or bought by it, or its publisher's (as mirrored)."""
        names = await recent_owners(request.name)
        with app.lock:
            listing = app.view.listing(request.name, names)
            entitled = app.view.entitled(request.name, request.account, names)
            block = app.cursor().block
        return EntitlementReply(name=request.name, account=request.account.lower(), listed=listing.listed,
                                price_wei=str(listing.price_wei if listing.listed else 0), entitled=entitled, indexed_block=block)

    @router.subscriber(rpc_subject(SERVICE, "show"), title="marketplace.show")
    async def show(request: MarketShowRequest) -> MarketShowReply:
        """A plugin's record on the chain (publisher, releases, listing), its reviews and its reputation."""
        info, names = await owners(request.name)
        telemetry = await registry.telemetry(request.name)
        with app.lock:
            view = app.view
            releases = [
                ChainRelease(version=v, cid=f.args["cid"], manifest_digest=f.args["manifest_digest"], block_number=f.block_number, tx_hash=f.tx_hash)
                for v, f in sorted(view.releases.get(request.name, {}).items(), key=lambda item: item[1].block_number)
            ]
            listing = view.listing(request.name, names)
            reply = MarketShowReply(
                name=request.name, registry_publisher=names[0].lower() if names else None, chain_publisher=view.publishers.get(request.name),
                conflict=view.conflict(request.name, names), releases=releases, reviews=app.reviews.reviews(request.name),
                listing=Listing(listed=listing.listed, price_wei=str(listing.price_wei), seller=listing.seller),
                reputation=plugin_reputation(facts_of(request.name, info, telemetry)),
            )
        return reply

    @router.subscriber(rpc_subject(SERVICE, "review"), title="marketplace.review")
    async def review(request: ReviewRequest) -> ReviewReply:
        """A signed review, accepted only from an account that bought the plugin or whose loader installed it."""
        info, names = await owners(request.name)
        if info is None:
            raise RpcError("not_found", f"the Plugyard registry has no plugin {request.name}")
        try:
            account = verify_review(request, chain_id=chain.chain_id, shop=chain.addresses.shop, now=datetime.now(UTC), max_age=DEFAULT_MAX_AGE)
            with app.lock:
                use = verified_by(account, request.name, purchasers=app.view.purchasers(request.name),
                                  installers=app.installers.get(request.name, set()),
                                  publisher=names[0].lower() if names else None)
                if account in {n.lower() for n in names}:
                    use = None
                return app.accept_review(request, account, use)
        except ReviewRefused as exc:
            raise RpcError("refused", str(exc)) from None

    @router.subscriber(rpc_subject(SERVICE, "reputation"), title="marketplace.reputation")
    async def reputation(request: ReputationRequest) -> ReputationReply:
        """A plugin's reputation and its publisher's, each term with the facts it rests on."""
        info, names = await owners(request.name)
        if info is None:
            raise RpcError("not_found", f"the Plugyard registry has no plugin {request.name}")
        telemetry = await registry.telemetry(request.name)
        with app.lock:
            facts = facts_of(request.name, info, telemetry)
        publisher = names[0].lower() if names else None
        if publisher is None:
            return ReputationReply(plugin=plugin_reputation(facts))
        others = [n for n in await registry.published_by(publisher) if n != request.name][: MAX_PUBLISHER_PLUGINS - 1]
        gathered = await asyncio.gather(*(asyncio.gather(registry.info(n), registry.telemetry(n)) for n in others))
        with app.lock:
            plugins = [facts] + [facts_of(n, i, t) for n, (i, t) in zip(others, gathered) if i is not None]
        return ReputationReply(plugin=plugin_reputation(facts), publisher=publisher_reputation(publisher, plugins))

    def facts_of(name: str, info: InfoReply | None, telemetry: Telemetry | None) -> PluginFacts:
        """What the platform observed of a plugin (its caller holds the app's lock)."""
        versions = info.versions if info else []
        return PluginFacts(
            name=name, versions_published=len(versions),
            cleared=sum(v.status == "cleared" for v in versions), warned=sum(v.status == "warned" for v in versions),
            quarantined_by_scanner=sum(v.status == "quarantined" and not v.verdict_override for v in versions),
            runtime_quarantines=sum(v.status == "quarantined" and v.verdict_override for v in versions),
            yanks=sum(v.yanked for v in versions), telemetry=telemetry, reviews=tuple(app.reviews.reviews(name)),
            purchases=len(app.view.purchasers(name)), installs=len(app.installers.get(name, ())),
        )

    return router
