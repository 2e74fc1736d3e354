"""plugyard_artifacts.car: CARv1 bytes as the spec lays them out (a DAG-CBOR header, then length-prefixed sections),
read back here by an independent CBOR decoder (cbor2). Interop with @ipld/car is in test_gateway.py and
test_market_car.py."""

from __future__ import annotations

import hashlib
import io

import pytest

from plugyard_artifacts import car, unixfs
from plugyard_artifacts.cid import cid_from_sha256, cid_of
from tests.artifacts.ipfs_reference import pseudo_random

cbor2 = pytest.importorskip("cbor2", reason="cbor2 decodes the CAR header independently")


def read_varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, at
        shift += 7


def read_car(data: bytes) -> tuple[dict, list[tuple[bytes, bytes]]]:
    length, at = read_varint(data, 0)
    header = cbor2.loads(data[at:at + length])
    at += length
    sections = []
    while at < len(data):
        length, at = read_varint(data, at)
        section = data[at:at + length]
        at += length
        cid_length = 36  # CIDv1, a 1-byte codec < 0x80, sha2-256: 1 + 1 + 1 + 1 + 32
        sections.append((section[:cid_length], section[cid_length:]))
    return header, sections


def test_varints_are_unsigned_leb128():
    assert [car.varint(n) for n in (0, 1, 127, 128, 300, 16384)] == [b"\x00", b"\x01", b"\x7f", b"\x80\x01", b"\xac\x02", b"\x80\x80\x01"]
    with pytest.raises(ValueError):
        car.varint(-1)


def test_the_header_is_canonical_dag_cbor_with_the_root_as_tag_42():
    # {"roots": [bafkqaaa], "version": 1}: keys by length then bytes, the CID as tag 42 over 0x00 ‖ binary CID.
    assert car.encode_header(["bafkqaaa"]).hex() == "a265726f6f747381d82a4500015500006776657273696f6e01"
    decoded = cbor2.loads(car.encode_header(["bafkqaaa"]))
    assert decoded["version"] == 1
    [root] = decoded["roots"]
    assert root.tag == 42 and root.value == b"\x00\x01\x55\x00\x00"


@pytest.mark.parametrize("size", [100, 1024 * 1024, 3 * 1024 * 1024 + 5])
def test_a_car_of_an_archive_holds_its_dag_root_first_and_nothing_else(size):
    data = pseudo_random(size, seed=b"car")
    root = cid_of(data)
    blocks = car.archive_blocks(root, data)
    assert blocks == list(unixfs.iter_blocks(data))
    written = b"".join(car.iter_car([root], blocks))
    assert len(written) == car.car_length([root], [(c, len(b)) for c, b in blocks])
    out = io.BytesIO()
    assert car.write_car(out, [root], blocks) == len(written) and out.getvalue() == written
    header, sections = read_car(written)
    assert header["version"] == 1 and header["roots"][0].value == b"\x00" + car.binary_cid(root)
    assert [unixfs.cid_text(cid) for cid, _ in sections] == [cid for cid, _ in blocks]
    for cid, block in sections:
        assert hashlib.sha256(block).digest() == cid[4:]
    leaves = b"".join(block for cid, block in sections if cid[1] == 0x55)
    assert leaves == data  # random content: no repeated chunk, so the leaves in DFS order are the file


def test_an_archive_named_by_the_raw_cid_of_its_whole_content_is_one_block():
    data = pseudo_random(300 * 1024, seed=b"legacy")
    legacy = cid_from_sha256(hashlib.sha256(data).digest())
    assert car.archive_blocks(legacy, data) == [(legacy, data)]


def test_bytes_whose_dag_has_another_root_are_refused():
    with pytest.raises(ValueError, match="root"):
        car.archive_blocks(cid_of(pseudo_random(600 * 1024, seed=b"a")), pseudo_random(600 * 1024, seed=b"b"))
