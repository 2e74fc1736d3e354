"""The registry's RPCs. Thin: decode, call the application or a read model, encode; refusals become typed errors."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from faststream.nats import NatsRouter
from nats.aio.client import Client
from nats.js import JetStreamContext

from plugyard_artifacts.signing import SignatureRefused
from plugyard_core.artifact_store import ArtifactError, ArtifactMismatch, discard_upload, get_verified_artifact, put_artifact, take_upload
from plugyard_core.rpc import RpcError
from plugyard_core.streams import rpc_subject
from plugyard_core.subscriptions import Subscription
from plugyard_core.tracking_es import EventSourcedTracker
from plugyard_registry.application import RegistryApplication
from plugyard_registry.domain import RegistryRefusal
from plugyard_registry.export import export_page
from plugyard_registry.release import Release, ReleaseRefused, read_release
from plugyard_registry.resolver import (
    InvalidRequirement,
    NoInstallableVersion,
    ResolutionConflict,
    ResolutionError,
    UnknownPlugin,
    resolve,
)
from plugyard_registry.scan_verdicts import DURABLE as SCAN_DURABLE
from plugyard_registry.scan_verdicts import SCAN_SUBJECT, handle_scan
from plugyard_registry.search import InvalidSearch, SearchQuery
from plugyard_registry.views import info_reply
from plugyard_schemas.registry import (
    DeprecateReply,
    DeprecateRequest,
    ExportReply,
    ExportRequest,
    InfoReply,
    InfoRequest,
    OwnerAddReply,
    OwnerAddRequest,
    PublishReply,
    PublishRequest,
    ResolvedVersion,
    ResolveReply,
    ResolveRequest,
    RuntimeQuarantineReply,
    RuntimeQuarantineRequest,
    SearchHit,
    SearchReply,
    SearchRequest,
    VerdictReply,
    VerdictRequest,
    YankReply,
    YankRequest,
)
from plugyard_schemas.scanner import ScanCompleted

SERVICE = "registry"
T = TypeVar("T")
log = logging.getLogger("plugyard.registry")


@dataclass
class RegistryContext:
    app: RegistryApplication | None
    nc: Client | None = None
    # Commands change one application and queries read its in-memory read models: one at a time, in a worker
    # thread, keeps the models consistent and the event loop free for other RPCs. In the thread, the job also
    # holds the application's write lock, which the scan consumer's thread takes too.
    lock: asyncio.Lock | None = None

    async def command(self, job: Callable[[], T]) -> T:
        if self.lock is None:
            self.lock = asyncio.Lock()
        async with self.lock:
            return await refusals_as_errors(asyncio.to_thread(self._locked, job))

    def _locked(self, job: Callable[[], T]) -> T:
        with self.app.write_lock if self.app is not None else contextlib.nullcontext():
            return job()


async def refusals_as_errors(work: Awaitable[T]) -> T:
    try:
        return await work
    except RegistryRefusal as exc:
        raise RpcError(exc.code, exc.message) from None
    except SignatureRefused as exc:
        raise RpcError("refused", f"signature refused: {exc}") from None
    except ReleaseRefused as exc:
        raise RpcError("invalid_request", str(exc)) from None
    except ValueError as exc:  # statements and queries validate their fields
        raise RpcError("invalid_request", str(exc)) from None


def build_router(ctx: RegistryContext) -> NatsRouter:
    router = NatsRouter()

    @router.subscriber(rpc_subject(SERVICE, "publish"), title="registry.publish")
    async def publish(request: PublishRequest) -> PublishReply:
        """Record a signed version whose archive, staged under `upload` (else already stored), is checked against its CID."""
        release = await stored_release(ctx.nc.jetstream(), request)
        plugin, created = await ctx.command(lambda: ctx.app.publish(release, request.publisher, request.signature))
        record = plugin.versions[release.version]
        return PublishReply(name=plugin.name, version=release.version, cid=record["cid"], status=record["status"], created=created, owners=plugin.owners)

    @router.subscriber(rpc_subject(SERVICE, "yank"), title="registry.yank")
    async def yank(request: YankRequest) -> YankReply:
        """Yank a version (signed by an owner): it resolves only when pinned with ==."""
        changed = await ctx.command(lambda: ctx.app.yank(request.name, request.version, request.reason, request.issued_at, request.signature))
        return YankReply(name=request.name, version=request.version, changed=changed)

    @router.subscriber(rpc_subject(SERVICE, "deprecate"), title="registry.deprecate")
    async def deprecate(request: DeprecateRequest) -> DeprecateReply:
        """Mark a plugin deprecated, optionally naming its successor (signed by an owner)."""
        changed = await ctx.command(
            lambda: ctx.app.deprecate(request.name, request.successor, request.reason, request.issued_at, request.signature)
        )
        return DeprecateReply(name=request.name, successor=request.successor, changed=changed)

    @router.subscriber(rpc_subject(SERVICE, "owners-add"), title="registry.owners-add")
    async def owners_add(request: OwnerAddRequest) -> OwnerAddReply:
        """Add an owner address to a plugin (signed by an existing owner)."""
        plugin, changed = await ctx.command(lambda: ctx.app.add_owner(request.name, request.address, request.issued_at, request.signature))
        return OwnerAddReply(name=plugin.name, owners=plugin.owners, changed=changed)

    @router.subscriber(rpc_subject(SERVICE, "verdict"), title="registry.verdict")
    async def verdict(request: VerdictRequest) -> VerdictReply:
        """Clear or quarantine a version by hand (signed by a registry admin); later scanner verdicts do not move it."""
        plugin, changed, by = await ctx.command(
            lambda: ctx.app.set_verdict(request.name, request.version, request.verdict, request.reason, request.issued_at, request.signature)
        )
        status = plugin.versions[request.version]["status"]
        return VerdictReply(name=plugin.name, version=request.version, status=status, changed=changed, by=by)

    @router.subscriber(rpc_subject(SERVICE, "runtime-quarantine"), title="registry.runtime-quarantine")
    async def runtime_quarantine(request: RuntimeQuarantineRequest) -> RuntimeQuarantineReply:
        """A loader's violation policy quarantines a version it saw misbehave; every loader then stops its workers."""
        plugin, changed = await ctx.command(lambda: ctx.app.quarantine_at_runtime(request.name, request.version, request.reason, request.host))
        status = plugin.versions[request.version]["status"]
        return RuntimeQuarantineReply(name=plugin.name, version=request.version, status=status, changed=changed)

    @router.subscriber(rpc_subject(SERVICE, "info"), title="registry.info")
    async def info(request: InfoRequest) -> InfoReply:
        """Versions, status, owners, permissions, dependencies and CID of a plugin."""
        return await ctx.command(lambda: info_reply(ctx.app.catalog, request.name, request.version))

    @router.subscriber(rpc_subject(SERVICE, "search"), title="registry.search")
    async def search(request: SearchRequest) -> SearchReply:
        """Full-text search with filters and facets over installable versions (or the statuses asked for)."""
        query = SearchQuery(
            text=request.text, categories=tuple(request.categories), keywords=tuple(request.keywords),
            licenses=tuple(request.licenses), authors=tuple(request.authors), publisher=request.publisher,
            with_permissions=tuple(request.with_permissions), without_permissions=tuple(request.without_permissions),
            host_version=request.host_version, statuses=tuple(request.statuses) if request.statuses else None,
            include_yanked=request.include_yanked, sort=request.sort, limit=request.limit, offset=request.offset,
        )
        try:
            # The index has its own lock, so a search need not wait behind a long resolve or a publish.
            result = await asyncio.to_thread(ctx.app.catalog.index.search, query)
        except InvalidSearch as exc:
            raise RpcError("invalid_request", str(exc)) from None
        hits = [SearchHit.model_validate(hit_fields(hit)) for hit in result.hits]
        return SearchReply(total=result.total, hits=hits, facets=result.facets)

    @router.subscriber(rpc_subject(SERVICE, "resolve"), title="registry.resolve")
    async def resolve_(request: ResolveRequest) -> ResolveReply:
        """Pin a set of requirements to installable versions, dependencies first."""
        catalog = ctx.app.catalog
        try:
            # Off the event loop: a large resolve takes seconds and must not hold up other RPCs.
            pinned = await ctx.command(
                lambda: resolve(request.requirements, catalog, host_version=request.host_version, allow_pending=catalog.allow_pending)
            )
        except ResolutionConflict as exc:
            raise RpcError("conflict", exc.message) from None
        except ResolutionError as exc:
            raise RpcError(resolution_error_code(exc), exc.message) from None
        return ResolveReply(
            install_order=[
                ResolvedVersion(name=c.name, version=str(c.version), cid=c.cid, status=c.status, yanked=c.yanked) for c in pinned
            ]
        )

    @router.subscriber(rpc_subject(SERVICE, "export"), title="registry.export")
    async def export(request: ExportRequest) -> ExportReply:
        """A page of every stored version with its publisher's signature, for `plugyard registry export` (archives by CID from the object store)."""
        return await ctx.command(lambda: export_page(ctx.app.catalog, request.offset, request.limit))

    return router


async def stored_release(js: JetStreamContext, request: PublishRequest) -> Release:
    """The publish's archive, checked against its CID and in the store under it (before the version is recorded, so
    that whoever reacts to the version finds it)."""
    try:
        if request.upload is None:
            data = await get_verified_artifact(js, request.cid)
            return await refusals_as_errors(asyncio.to_thread(read_release, data, request.cid))
        try:
            data = await take_upload(js, request.upload, request.cid)
            release = await refusals_as_errors(asyncio.to_thread(read_release, data, request.cid))
            await put_artifact(js, request.cid, data)
            return release
        finally:
            await discard_upload(js, request.upload)
    except ArtifactError as exc:
        if isinstance(exc, ArtifactMismatch) and request.upload is None:
            log.error("BAD ARTIFACT ENTRY: %s (a publish of the right bytes with an upload repairs it)", exc)
        raise RpcError("invalid_request", str(exc)) from None


def subscriptions(app: RegistryApplication | None = None) -> list[Subscription]:
    """What the registry consumes; batches are applied under the application's write lock, which commands take too."""
    return [
        Subscription(
            subject=SCAN_SUBJECT, durable=SCAN_DURABLE, producer="scanner", model=ScanCompleted, handler=handle_scan,
            tracker=lambda sub: EventSourcedTracker(app, sub.durable, sub.handler, lock=app.write_lock),
            description="The scanner's verdicts: each is recorded on its version (unless a person's verdict stands).",
        ),
    ]


def hit_fields(hit: Any) -> dict[str, Any]:
    fields = asdict(hit)
    for key in ("keywords", "categories", "permissions"):
        fields[key] = list(fields.get(key) or ())
    return fields


def resolution_error_code(exc: ResolutionError) -> str:
    """A bad requirement is the caller's mistake; a missing plugin is not found; a cycle or an impossible set is a "no"."""
    if isinstance(exc, InvalidRequirement):
        return "invalid_request"
    if isinstance(exc, (UnknownPlugin, NoInstallableVersion)):
        return "not_found"
    return "conflict"
