"""Publishing from inside the registry (discovery sources): the archive into the object store (checked against its
CID, written once, as for the publish RPC), then the same `RegistryApplication.publish` the RPC calls, through the
context's command lock."""

from __future__ import annotations

from plugyard_core.artifact_store import ArtifactError, put_artifact
from plugyard_core.rpc import RpcError
from plugyard_registry.catalog import Catalog
from plugyard_registry.domain import RegistryRefusal
from plugyard_registry.handlers import RegistryContext
from plugyard_registry.release import Release


def foreseeable_refusal(
    catalog: Catalog, name: str, version: str, cid: str, publisher: str, sha256: str | None = None
) -> RegistryRefusal | None:
    """Why the application would refuse this publish, judged from the read model; None when it would not.

    Sources ask first so that content that cannot be published is neither fetched nor stored: the object store
    keeps what it is given. The application still decides.
    """
    view = catalog.get(name)
    if view is None:
        return None
    existing = view.versions.get(version)
    same_bytes = sha256 is not None and existing is not None and existing.get("sha256") == sha256  # under an older CID
    if existing is not None and existing["cid"] != cid and not same_bytes:
        return RegistryRefusal("conflict", f"{view.name} {version} is already published here with other content ({existing['cid']}); versions are immutable")
    if existing is None and publisher not in view.owners:
        return RegistryRefusal("refused", f"{view.name} is owned here by {', '.join(view.owners)}, not {publisher}")
    return None


async def publish_release(ctx: RegistryContext, release: Release, publisher: str, signature: str) -> bool:
    """Store the archive and record the version; True when it is new, False when the same content was already here.

    Refusals arrive as `RpcError` with the application's code (`conflict`, `refused`, `invalid_request`).
    """
    try:  # the same write the publish RPC makes: checked against the CID, once
        await put_artifact(ctx.nc.jetstream(), release.cid, release.data)
    except ArtifactError as exc:
        raise RpcError("invalid_request", str(exc)) from None
    _, created = await ctx.command(lambda: ctx.app.publish(release, publisher, signature))
    return created
