"""The loader's RPCs on `plugyard.rpc.loader.<host>.<verb>`: challenge, install, load, unload, reload, ps, bench. Thin: decode, call, encode."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from faststream.nats import NatsRouter

from plugyard_core.consumer import Delivered
from plugyard_core.streams import event_subject, event_type, loader_subject, rpc_subject
from plugyard_core.subscriptions import Subscription
from plugyard_core.tracking_es import EventSourcedTracker, Reject
from plugyard_loader.application import SERVICE
from plugyard_schemas.cloudevent import CloudEvent
from plugyard_schemas.registry_events import VersionQuarantined
from plugyard_schemas.loader import (
    BenchReply,
    BenchRequest,
    ChallengeReply,
    ChallengeRequest,
    HostAnnouncement,
    HostsRequest,
    InstallReply,
    InstallRequest,
    LoadRequest,
    PluginReply,
    PsReply,
    PsRequest,
    ReloadRequest,
    UnloadRequest,
)
from plugyard_schemas.manifest import normalize_name

if TYPE_CHECKING:
    from plugyard_loader.loader import Loader


QUARANTINED_SUBJECT = event_subject("registry", "VersionQuarantined")
QUARANTINED_TYPE = event_type("registry", "VersionQuarantined")
QUARANTINE_WAIT_S = 120.0  # stopping a version's workers drains their calls first
# A bench holds its request for as long as it runs: benches of other plugins, and the refusal of a second bench of
# the same plugin, must not wait behind it.
BENCH_WORKERS = 4


def quarantine_durable(host: str) -> str:
    """Every loader host stops its own workers, so each has its own durable."""
    return f"loader-{host}-quarantines"


def stop_quarantined(loader: Loader, loop: Callable[[], asyncio.AbstractEventLoop]):
    """What one VersionQuarantined does: the loader stops that version's workers (on its event loop)."""

    def handle(_app: Any, cloudevent: CloudEvent, _delivered: Delivered) -> list:
        if cloudevent.type != QUARANTINED_TYPE:
            raise Reject(f"not a quarantine: type {cloudevent.type!r}, expected {QUARANTINED_TYPE!r}")
        event = VersionQuarantined.model_validate(cloudevent.data)
        asyncio.run_coroutine_threadsafe(loader.on_quarantined(event.name, event.version, event.reason), loop()).result(QUARANTINE_WAIT_S)
        return []

    return handle


def subscriptions(
    loader: Loader | None = None, host: str = "HOST", loop: Callable[[], asyncio.AbstractEventLoop] | None = None
) -> list[Subscription]:
    """What a loader consumes; without arguments, as documented in the AsyncAPI file (HOST stands for the host)."""
    return [
        Subscription(
            subject=QUARANTINED_SUBJECT, durable=quarantine_durable(host), producer="registry", model=VersionQuarantined,
            handler=stop_quarantined(loader, loop),
            tracker=lambda sub: EventSourcedTracker(loader.app, sub.durable, sub.handler),
            # A loader that starts loads each plugin only after asking the registry, so what was quarantined before
            # its first start needs no replay.
            start_with_new=True,
            description="Quarantined versions: every loader stops their workers (unless the registry has cleared them since).",
        ),
    ]


def build_router(loader: Loader | None) -> NatsRouter:
    router = NatsRouter()
    host = loader.host if loader is not None else "{host}"  # the bus document names the host as a parameter

    @router.subscriber(rpc_subject(SERVICE, "hosts"), title="loader.hosts")
    async def hosts(request: HostsRequest) -> HostAnnouncement:
        """Every loader answers, so a client that gathers replies for a moment learns every host on the bus."""
        return HostAnnouncement(host=loader.host, plugins=len(loader.runners))

    @router.subscriber(loader_subject(host, "challenge"), title="loader.challenge")
    async def challenge(request: ChallengeRequest) -> ChallengeReply:
        """A fresh challenge (32 random bytes) that a client signs to prove its account at install: single use, this
        host only, expiring after a short while."""
        return loader.challenge()

    @router.subscriber(loader_subject(host, "install"), title="loader.install")
    async def install(request: InstallRequest) -> InstallReply:
        """Resolve through the registry, ask the marketplace whether priced versions are paid for by the proven account
        (if any), fetch by CID, verify digest and signature again, unpack into this host's cache."""
        return InstallReply(host=loader.host, installed=await loader.install(request.requirements, request.proof))

    @router.subscriber(loader_subject(host, "load"), title="loader.load")
    async def load(request: LoadRequest) -> PluginReply:
        """Start a sandboxed worker for an installed version (or a local folder, for `plugyard dev`); resets a failed plugin."""
        status, changed = await loader.load(normalize_name(request.name), request.version, request.path)
        return PluginReply(plugin=status, changed=changed)

    @router.subscriber(loader_subject(host, "reload"), title="loader.reload")
    async def reload(request: ReloadRequest) -> PluginReply:
        """Start a new worker (same or newer installed version), switch calls to it, drain and stop the old one."""
        return PluginReply(plugin=await loader.reload(normalize_name(request.name), request.version))

    @router.subscriber(loader_subject(host, "unload"), title="loader.unload")
    async def unload(request: UnloadRequest) -> PluginReply:
        """Stop taking calls for the plugin, drain its worker and stop it."""
        return PluginReply(plugin=await loader.unload(normalize_name(request.name)))

    @router.subscriber(loader_subject(host, "ps"), title="loader.ps")
    async def ps(request: PsRequest) -> PsReply:
        """Each plugin on this host: version, pid, state, uptime, restarts, sandbox layers, cpu, memory, calls, errors."""
        layers = {name: "available" if probe.available else f"missing: {probe.detail}" for name, probe in loader.layers.items()}
        return PsReply(host=loader.host, layers=layers, plugins=loader.statuses())

    @router.subscriber(loader_subject(host, "bench"), title="loader.bench", max_workers=BENCH_WORKERS)
    async def bench(request: BenchRequest) -> BenchReply:
        """Compare two installed versions: a temporary worker of each, called alternately in pairs (the order inside each
        pair seeded-random), latencies of the successful calls and errors by code per version. The serving worker, if
        any, is left alone; one bench per plugin at a time."""
        return await loader.bench(request.model_copy(update={"name": normalize_name(request.name)}))

    return router
