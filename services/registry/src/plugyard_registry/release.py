"""A publish request's archive, checked on receipt: the registry trusts nothing the client computed."""

from __future__ import annotations

from plugyard_artifacts.manifest import ManifestError
from plugyard_artifacts.release import ArchiveRelease, ReleaseRefused, inspect_archive

Release = ArchiveRelease

__all__ = ["Release", "ReleaseRefused", "read_release"]


def read_release(data: bytes, cid: str) -> Release:
    try:
        return inspect_archive(data, expected_cid=cid)
    except ManifestError as exc:
        raise ReleaseRefused(f"invalid manifest: {exc}") from None
