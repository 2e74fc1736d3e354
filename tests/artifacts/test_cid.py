"""Content ids: CIDv1, raw codec, sha2-256, base32 — the same string any IPFS tool would compute."""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plugyard_artifacts import cid_from_sha256, cid_of, verify_cid


def independent_cid(data: bytes) -> str:
    """CIDv1 by hand: version 1, codec raw (0x55), multihash sha2-256 (0x12, 32 bytes), multibase 'b' (base32 lower, no padding)."""
    binary = bytes([0x01, 0x55, 0x12, 0x20]) + hashlib.sha256(data).digest()
    return "b" + base64.b32encode(binary).decode().lower().rstrip("=")


def test_known_value():
    assert cid_of(b"hello") == "bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq"


@given(st.binary(max_size=2048))
def test_matches_an_independent_computation(data: bytes):
    cid = cid_of(data)
    assert cid == independent_cid(data)
    assert cid.startswith("bafk")
    assert cid_from_sha256(hashlib.sha256(data).digest()) == cid
    assert verify_cid(data, cid)


def test_verify_refuses_other_content_and_accepts_other_bases():
    from multiformats import CID

    cid = cid_of(b"plugin archive")
    assert not verify_cid(b"another archive", cid)
    assert verify_cid(b"plugin archive", CID.decode(cid).encode("base58btc"))


@pytest.mark.parametrize(
    ("cid", "reason"),
    [
        ("not a cid", "is not a CID"),
        ("QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG", "not a CIDv1 of raw sha2-256"),
        (b"bafk", "a CID is a string"),
    ],
)
def test_verify_names_what_is_not_a_plugyard_cid(cid, reason):
    with pytest.raises(ValueError, match=reason):
        verify_cid(b"x", cid)


def test_digest_length_is_checked():
    with pytest.raises(ValueError, match="32 bytes"):
        cid_from_sha256(b"short")
