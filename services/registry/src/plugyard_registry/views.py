"""What `plugyard info` shows, built from the catalog read model."""

from __future__ import annotations

from packaging.utils import canonicalize_name

from plugyard_core.rpc import RpcError
from plugyard_registry.catalog import Catalog, version_key
from plugyard_schemas.registry import InfoReply, VersionInfo


def info_reply(catalog: Catalog, name: str, version: str | None) -> InfoReply:
    view = catalog.get(name)
    if view is None:
        raise RpcError("not_found", f"no plugin named {canonicalize_name(name)}")
    chosen = sorted(view.versions, key=version_key, reverse=True)
    if version is not None:
        if version not in view.versions:
            raise RpcError("not_found", f"{view.name} has no version {version} (versions: {', '.join(chosen) or 'none'})")
        chosen = [version]
    versions = []
    for v in chosen:
        record = view.versions[v]
        plugin = record["manifest"].get("plugin", {})
        versions.append(
            VersionInfo(
                version=v, status=record["status"], status_reason=record.get("status_reason"), findings=record.get("findings") or [],
                verdict_override=record.get("verdict_override", False), yanked=record["yanked"],
                yank_reason=record.get("yank_reason"), cid=record["cid"], size=record["size"], sha256=record["sha256"],
                manifest_sha256=record["manifest_sha256"], publisher=record["publisher"], signature=record["signature"], published_at=record["published_at"],
                summary=plugin.get("summary") or "", host=plugin.get("host") or "", requires=list(plugin.get("requires") or []),
                dependencies=list(plugin.get("dependencies") or []), permissions=record["manifest"].get("permissions") or {},
                manifest=record["manifest"],
            )
        )
    deprecated = view.deprecated or {}
    return InfoReply(
        name=view.name, owners=list(view.owners), deprecated=bool(view.deprecated), successor=deprecated.get("successor"),
        deprecation_reason=deprecated.get("reason"), latest=catalog.latest_installable(view), versions=versions,
    )
