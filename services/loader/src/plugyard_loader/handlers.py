"""The loader's RPCs on `plugyard.rpc.loader.<host>.<verb>`: install, load, unload, reload, ps. Thin: decode, call, encode."""

from __future__ import annotations

from typing import TYPE_CHECKING

from faststream.nats import NatsRouter

from plugyard_core.streams import loader_subject, rpc_subject
from plugyard_loader.application import SERVICE
from plugyard_schemas.loader import (
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


def build_router(loader: Loader | None) -> NatsRouter:
    router = NatsRouter()
    host = loader.host if loader is not None else "{host}"  # the bus document names the host as a parameter

    @router.subscriber(rpc_subject(SERVICE, "hosts"), title="loader.hosts")
    async def hosts(request: HostsRequest) -> HostAnnouncement:
        """Every loader answers, so a client that gathers replies for a moment learns every host on the bus."""
        return HostAnnouncement(host=loader.host, plugins=len(loader.runners))

    @router.subscriber(loader_subject(host, "install"), title="loader.install")
    async def install(request: InstallRequest) -> InstallReply:
        """Resolve through the registry, fetch by CID, verify digest and signature again, unpack into this host's cache."""
        return InstallReply(host=loader.host, installed=await loader.install(request.requirements))

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

    return router
