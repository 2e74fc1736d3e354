"""Content ids: an archive's identity everywhere is its CIDv1 (codec raw, sha2-256), written in base32 (`bafk…`)."""

from __future__ import annotations

import hashlib

from multiformats import CID, multihash

_CODEC = "raw"
_HASH = "sha2-256"


def cid_from_sha256(digest: bytes) -> str:
    """The content id of data whose sha256 digest is already known (for data hashed while streaming)."""
    if len(digest) != 32:
        raise ValueError(f"a sha256 digest is 32 bytes, not {len(digest)}")
    return str(CID("base32", 1, _CODEC, multihash.wrap(digest, _HASH)))


def cid_of(data: bytes) -> str:
    return cid_from_sha256(hashlib.sha256(data).digest())


def verify_cid(data: bytes, cid: str) -> bool:
    """Whether `data` is the content `cid` names; a CID in any multibase is accepted.

    Raises `ValueError` when `cid` is not a CID, or not a raw sha2-256 CIDv1 (so could never name a Plugyard archive).
    """
    if not isinstance(cid, str):
        raise ValueError(f"a CID is a string, not {type(cid).__name__}")
    try:
        parsed = CID.decode(cid.strip())
    except Exception as error:  # multiformats raises a different error class for each way a CID can be malformed
        raise ValueError(f"{cid!r} is not a CID: {error}") from None
    if parsed.version != 1 or parsed.codec.name != _CODEC or parsed.hashfun.name != _HASH:
        raise ValueError(f"{cid!r} is not a CIDv1 of raw sha2-256 content (it is v{parsed.version}, {parsed.codec.name}, {parsed.hashfun.name})")
    return parsed.raw_digest == hashlib.sha256(data).digest()
