"""Content ids: an archive's identity everywhere is the CID `ipfs add --cid-version 1 --raw-leaves` prints for it.

Up to 256 KiB (one chunk) that is the CIDv1 of the raw bytes (codec raw, sha2-256, base32 `bafk…`); above, the root
of kubo's UnixFS file DAG (codec dag-pb, `bafy…`, see `plugyard_artifacts.unixfs`). Archives published before the
DAG root was their CID are named by the raw CID of their whole content, and that CID keeps verifying: `verify_cid`
accepts both kinds.
"""

from __future__ import annotations

import hashlib
import os

from multiformats import CID, multihash

from plugyard_artifacts import unixfs

_RAW = "raw"
_DAG_PB = "dag-pb"
_HASH = "sha2-256"


def cid_from_sha256(digest: bytes) -> str:
    """The raw CID of data whose sha256 digest is already known: the IPFS-exact CID only for data of 256 KiB or less;
    above, the form archives published earlier were named by (see `cid_of` for the CID new archives get)."""
    if len(digest) != 32:
        raise ValueError(f"a sha256 digest is 32 bytes, not {len(digest)}")
    return str(CID("base32", 1, _RAW, multihash.wrap(digest, _HASH)))


def cid_of(data: bytes) -> str:
    """The content id of an archive: what `ipfs add --cid-version 1 --raw-leaves` prints for these bytes."""
    return unixfs.cid_of_bytes(data)


def cid_of_file(path: str | os.PathLike[str]) -> str:
    """`cid_of` for a file, read a chunk at a time."""
    return unixfs.cid_of_file(path)


def parse_cid(cid: str) -> CID:
    """`cid` parsed, when it is a CID an archive can have (CIDv1, sha2-256, codec raw or dag-pb); `ValueError` otherwise."""
    if not isinstance(cid, str):
        raise ValueError(f"a CID is a string, not {type(cid).__name__}")
    try:
        parsed = CID.decode(cid.strip())
    except Exception as error:  # multiformats raises a different error class for each way a CID can be malformed
        raise ValueError(f"{cid!r} is not a CID: {error}") from None
    if parsed.version != 1 or parsed.codec.name not in (_RAW, _DAG_PB) or parsed.hashfun.name != _HASH:
        raise ValueError(
            f"{cid!r} is not a CIDv1 of raw sha2-256 content, nor of a UnixFS dag-pb root "
            f"(it is v{parsed.version}, {parsed.codec.name}, {parsed.hashfun.name})"
        )
    return parsed


def verify_cid(data: bytes, cid: str) -> bool:
    """Whether `data` is the content `cid` names; a CID in any multibase is accepted.

    A raw CID is checked against the sha256 of the whole content (archives up to 256 KiB, and every archive
    published before DAG roots); a dag-pb CID against the root of the UnixFS DAG rebuilt from the content with
    kubo's defaults (a DAG built with other chunking names the same bytes differently, and is refused).
    Raises `ValueError` when `cid` is not a CID, or not one that could name a Plugyard archive.
    """
    parsed = parse_cid(cid)
    if parsed.codec.name == _RAW:
        return parsed.raw_digest == hashlib.sha256(data).digest()
    return unixfs.root_of(data).binary == bytes(parsed)
