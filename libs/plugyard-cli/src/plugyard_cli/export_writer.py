"""Writing a registry's export directory: `archives/<cid>.tar.gz` from the object store, then `index.json` last.

Another registry imports it by polling `index.json` (over HTTP or as a `file://` URL), so the index is replaced
atomically and only after every archive it names is in place; an archive already there with the right content
is kept, which makes a re-export into the same directory incremental.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from nats.aio.client import Client

from plugyard_artifacts.atomic import write_atomically
from plugyard_artifacts.cid import verify_cid
from plugyard_cli.output import EXIT_NO, CliError
from plugyard_core.artifact_store import ArtifactMismatch, ArtifactMissing, ArtifactTooLarge, get_verified_artifact
from plugyard_core.rpc import call
from plugyard_core.streams import rpc_subject
from plugyard_schemas.registry import ExportEntry, ExportIndex, ExportReply, ExportRequest

INDEX_NAME = "index.json"
ARCHIVES_DIR = "archives"
EXPORT_TIMEOUT_S = 30.0


@dataclass
class ExportSummary:
    directory: Path
    versions: int = 0
    written: int = 0
    kept: int = 0
    missing: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"directory": str(self.directory), "versions": self.versions, "archives_written": self.written,
                "archives_kept": self.kept, "missing": self.missing}


async def registry_entries(nc: Client) -> list[ExportEntry]:
    entries: list[ExportEntry] = []
    offset: int | None = 0
    while offset is not None:
        reply = await call(nc, rpc_subject("registry", "export"), ExportRequest(offset=offset), ExportReply, timeout=EXPORT_TIMEOUT_S)
        entries.extend(reply.entries)
        offset = reply.next_offset
    return entries


def archive_path(directory: Path, cid: str) -> Path:
    return directory / ARCHIVES_DIR / f"{cid}.tar.gz"


def holds(path: Path, cid: str) -> bool:
    try:  # an IPFS-exact CID, or the raw CID an archive over 256 KiB had before
        return verify_cid(path.read_bytes(), cid)
    except (OSError, ValueError):
        return False


async def write_export(
    nc: Client, directory: Path, *, started: Callable[[list[ExportEntry]], None] = lambda entries: None,
    done_one: Callable[[ExportEntry], None] = lambda entry: None,
) -> ExportSummary:
    """Export every version the registry holds into `directory`; versions whose archive is missing are left out of the index."""
    entries = await registry_entries(nc)
    (directory / ARCHIVES_DIR).mkdir(parents=True, exist_ok=True)
    summary = ExportSummary(directory=directory)
    started(entries)
    exported = []
    js = nc.jetstream()
    for entry in entries:
        target = archive_path(directory, entry.cid)
        if holds(target, entry.cid):
            summary.kept += 1
            exported.append(entry)
        else:
            try:
                data = await get_verified_artifact(js, entry.cid)
            except ArtifactMismatch as exc:  # never exported, and not quietly left out either: the store was tampered with
                raise CliError(
                    f"export stopped, the index is not written: {entry.name} {entry.version}: {exc} "
                    "(a publish of the right archive repairs the entry)", code="refused", exit_code=EXIT_NO,
                ) from None
            except (ArtifactMissing, ArtifactTooLarge) as exc:
                summary.missing.append(f"{entry.name} {entry.version}: {exc}")
                done_one(entry)
                continue
            write_atomically(target, data)
            summary.written += 1
            exported.append(entry)
        done_one(entry)
    index = ExportIndex(exported_at=datetime.now(UTC), entries=exported)
    write_atomically(directory / INDEX_NAME, (index.model_dump_json(indent=2) + "\n").encode())
    summary.versions = len(exported)
    return summary
