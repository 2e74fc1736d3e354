"""What an export entry's archive must be before this registry imports it: the bytes its CID names, a safe archive
whose manifest is the name and version the entry claims, and a release statement signed by the publisher it names.

The exporting registry checked all this once; an export travels over plain HTTP or a shared folder, so every
importer checks again.
"""

from __future__ import annotations

from plugyard_artifacts.keys import normalize_address
from plugyard_artifacts.manifest import ManifestError
from plugyard_artifacts.release import ArchiveRelease, ReleaseRefused, inspect_archive
from plugyard_artifacts.signing import ReleaseStatement, SignatureRefused, recover_signer
from plugyard_schemas.manifest import normalize_name
from plugyard_schemas.registry import ExportEntry


class ImportRefused(ValueError):
    """An entry this registry will not import; the message says why (it does not change until the entry does)."""


def one_line(error: Exception) -> str:
    return "; ".join(line.strip() for line in str(error).splitlines() if line.strip())


def verified_release(entry: ExportEntry, data: bytes) -> tuple[ArchiveRelease, str]:
    """The archive as a release and its publisher's checksum address; ImportRefused when anything disagrees."""
    try:
        release = inspect_archive(data, expected_cid=entry.cid)
    except ReleaseRefused as exc:
        raise ImportRefused(one_line(exc)) from None
    except ManifestError as exc:
        raise ImportRefused(f"invalid manifest: {one_line(exc)}") from None
    if (release.name, release.version) != (normalize_name(entry.name), entry.version):
        raise ImportRefused(f"the archive holds {release.name} {release.version}, not {entry.name} {entry.version} as the index says")
    if release.manifest_sha256 != entry.manifest_sha256:
        raise ImportRefused(f"the archive's plugin.toml has sha256 {release.manifest_sha256}, the index says {entry.manifest_sha256}")
    try:
        publisher = normalize_address(entry.publisher)
    except ValueError as exc:
        raise ImportRefused(f"publisher: {exc}") from None
    statement = ReleaseStatement(name=release.name, version=release.version, cid=release.cid, manifest_sha256=release.manifest_sha256)
    try:
        signer = recover_signer(statement, entry.signature)
    except SignatureRefused as exc:
        raise ImportRefused(f"signature refused: {exc}") from None
    if signer != publisher:
        raise ImportRefused(f"the signature is by {signer}, not by the publisher {publisher} the index names: a forged or re-signed entry")
    return release, publisher
