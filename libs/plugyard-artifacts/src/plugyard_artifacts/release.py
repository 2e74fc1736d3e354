"""What an archive claims to be: its identity (CID, digests) and its validated manifest, read safely.

The CLI uses it before signing and the registry again on receipt, so both build the same release statement.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from plugyard_artifacts.cid import cid_from_sha256, cid_of
from plugyard_artifacts.manifest import MANIFEST_NAME, parse_manifest
from plugyard_artifacts.unpack import UnsafeArchive, check_archive, read_member
from plugyard_schemas.manifest import PluginManifest


class ReleaseRefused(ValueError):
    """An archive that cannot be a release: unsafe, mislabelled or without a valid manifest."""


@dataclass(frozen=True)
class ArchiveRelease:
    data: bytes
    cid: str
    sha256: str
    manifest: PluginManifest
    manifest_sha256: str

    @property
    def name(self) -> str:
        return self.manifest.plugin.name

    @property
    def version(self) -> str:
        return self.manifest.plugin.version

    @property
    def size(self) -> int:
        return len(self.data)

    @cached_property
    def manifest_data(self) -> dict[str, Any]:
        return self.manifest.model_dump(mode="json", by_alias=True, exclude_none=True)


def inspect_archive(data: bytes, *, expected_cid: str | None = None) -> ArchiveRelease:
    """Check every member against the unpacking limits and read `plugin.toml` from the archive's root.

    The archive's CID is the IPFS-exact one (`cid_of`). An `expected_cid` may also be the raw CID of the whole
    content, the name archives over 256 KiB had before (their releases are signed over it): the release keeps it.
    """
    digest = hashlib.sha256(data).digest()
    cid = cid_of(data)
    if expected_cid is not None and expected_cid != cid:
        if expected_cid != cid_from_sha256(digest):
            raise ReleaseRefused(f"the archive's content id is {cid}, not {expected_cid}: corrupted or substituted upload")
        cid = expected_cid
    try:
        check_archive(data)
        manifest_bytes = read_member(data, MANIFEST_NAME)
    except UnsafeArchive as exc:
        raise ReleaseRefused(str(exc)) from None
    except FileNotFoundError:
        raise ReleaseRefused(f"the archive has no {MANIFEST_NAME} at its root") from None
    manifest = parse_manifest(manifest_bytes, f"{cid}/{MANIFEST_NAME}")
    return ArchiveRelease(
        data=data, cid=cid, sha256=digest.hex(), manifest=manifest,
        manifest_sha256=hashlib.sha256(manifest_bytes).hexdigest(),
    )
