"""Plugin artifacts: manifests, scaffolds, reproducible packs, content ids and safe unpacking."""

from plugyard_artifacts.cid import cid_from_sha256, cid_of, cid_of_file, verify_cid
from plugyard_artifacts.manifest import MANIFEST_NAME, ManifestError, load_manifest, parse_manifest, validate_manifest
from plugyard_artifacts.pack import PackError, PackResult, archive_bytes, pack
from plugyard_artifacts.scaffold import module_name, scaffold
from plugyard_artifacts.unpack import Limits, UnsafeArchive, check_archive, read_member, safe_unpack

__all__ = [
    "MANIFEST_NAME",
    "Limits",
    "ManifestError",
    "PackError",
    "PackResult",
    "UnsafeArchive",
    "archive_bytes",
    "check_archive",
    "cid_from_sha256",
    "cid_of",
    "cid_of_file",
    "load_manifest",
    "module_name",
    "pack",
    "parse_manifest",
    "read_member",
    "safe_unpack",
    "scaffold",
    "validate_manifest",
    "verify_cid",
]
