"""The `export` RPC's pages: every stored version with what another registry needs to import it and check its signature."""

from __future__ import annotations

from plugyard_registry.catalog import Catalog
from plugyard_schemas.registry import ExportEntry, ExportReply


def export_entries(catalog: Catalog) -> list[ExportEntry]:
    """In publish order, so that paging stays stable while new versions are published (they go at the end) and an
    importer replays name claims in the order they were made."""
    entries = [
        ExportEntry(
            name=view.name, version=version, cid=record["cid"], size=record["size"], manifest_sha256=record["manifest_sha256"],
            publisher=record["publisher"], signature=record["signature"], yanked=record["yanked"], yank_reason=record.get("yank_reason"),
            published_at=record["published_at"],
        )
        for view in catalog.plugins.values()
        for version, record in view.versions.items()
    ]
    entries.sort(key=lambda entry: (entry.published_at, entry.name, entry.version))
    return entries


def export_page(catalog: Catalog, offset: int, limit: int) -> ExportReply:
    entries = export_entries(catalog)
    page = entries[offset : offset + limit]
    following = offset + len(page)
    return ExportReply(total=len(entries), entries=page, next_offset=following if following < len(entries) else None)
