"""IPFS-exact CIDs without Node: regression vectors (computed once with js ipfs-unixfs-importer, kubo's defaults),
the blocks decoded by an independent protobuf reader, the tree's shape against a top-down model of kubo's
balanced builder, streaming in any pieces, the blocks in CAR order, and verification (raw and dag-pb CIDs)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from multiformats import CID

from plugyard_artifacts import cid_from_sha256, cid_of, cid_of_file, unixfs, verify_cid
from tests.artifacts.ipfs_reference import pseudo_random

KiB = 1024
MiB = 1024 * KiB

# `node tests/ipfs_reference/cid.mjs FILE` on pseudo_random(size): what `ipfs add --cid-version 1 --raw-leaves` prints.
VECTORS = [
    (0, "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"),  # the empty raw block, as kubo gives it
    (100, "bafkreib43euqrvdfswllmzesnpauh6gscw3oapyedmqvtg4i6b7ewcc2ta"),
    (256 * KiB, "bafkreic7mvfdl3r5jks4qgt64eoekytmdxqdhn73kpjykovriy6vppe6qa"),
    (256 * KiB + 1, "bafybeic542j74a247sste3qs4h7orjlcp6dfxhrspk3faw7hnib7sfgnk4"),
    (1 * MiB, "bafybeiahib236lh2e2toe34jbfad6x6oujzayftfubh32qxur2xjg7wet4"),
    (3 * MiB, "bafybeibx6wekauwzrhnn3giyji3s7uimi5eswwy2qymxeltocruqwgvyx4"),
    (175 * 256 * KiB + 1, "bafybeib626w776jvewuyf6b3gqr5wnknep33ijy32ku22pekjjofe7fgci"),  # 176 chunks: two levels
]


# --- an independent reader of the blocks: protobuf by hand, as the dag-pb and UnixFS specs define them ---------

def varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        value |= (byte & 0x7F) << shift
        at += 1
        if not byte & 0x80:
            return value, at
        shift += 7


def fields(data: bytes) -> list[tuple[int, int | bytes]]:
    """(field number, value) in wire order; varints as ints, length-delimited as bytes."""
    out, at = [], 0
    while at < len(data):
        key, at = varint(data, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, at = varint(data, at)
        elif wire == 2:
            length, at = varint(data, at)
            value, at = data[at:at + length], at + length
        else:
            raise AssertionError(f"unexpected wire type {wire}")
        out.append((number, value))
    return out


def decode_node(block: bytes) -> tuple[list[tuple[bytes, str, int]], dict]:
    """A dag-pb file node: its links (CID, Name, Tsize) and its UnixFS Data; checks the canonical order on the way."""
    top = fields(block)
    numbers = [number for number, _ in top]
    assert numbers == [2] * (len(numbers) - 1) + [1], f"not Links then Data: {numbers}"
    links = []
    for _, raw in top[:-1]:
        link = fields(raw)
        assert [n for n, _ in link] == [1, 2, 3], link  # Hash, Name, Tsize, in that order, all present
        links.append((link[0][1], link[1][1].decode(), link[2][1]))
    data = fields(top[-1][1])
    assert [n for n, _ in data][:2] == [1, 3] and all(n == 4 for n, _ in data[2:]), data  # Type, filesize, blocksizes…
    return links, {"type": data[0][1], "filesize": data[1][1], "blocksizes": [v for _, v in data[2:]]}


def tree(cid: bytes, blocks: dict[bytes, bytes]) -> object:
    """The DAG under `cid` as nested lists, a raw leaf as its content; checks every size on the way."""
    block = blocks[cid]
    assert cid[4:] == hashlib.sha256(block).digest()
    if cid[:4] == unixfs.RAW_PREFIX:
        return block
    assert cid[:4] == unixfs.DAG_PB_PREFIX
    links, data = decode_node(block)
    assert data["type"] == 2 and all(name == "" for _, name, _ in links)
    children = [tree(child, blocks) for child, _, _ in links]
    assert data["blocksizes"] == [len(flatten(child)) for child in children]
    assert data["filesize"] == sum(data["blocksizes"])
    assert [tsize for _, _, tsize in links] == [cumulative(child, blocks) for child, _, _ in links]
    return children


def flatten(node: object) -> bytes:
    return node if isinstance(node, bytes) else b"".join(flatten(child) for child in node)


def cumulative(cid: bytes, blocks: dict[bytes, bytes]) -> int:
    if cid[:4] == unixfs.RAW_PREFIX:
        return len(blocks[cid])
    links, _ = decode_node(blocks[cid])
    return len(blocks[cid]) + sum(cumulative(child, blocks) for child, _, _ in links)


def kubo_shape(leaves: list[bytes], max_links: int) -> object:
    """Kubo's balanced builder, top down as it is written: the first leaf is the root; while data is left, the old root
    becomes the first child of a root one level deeper, which is then filled, each child a filled subtree."""
    source = iter(leaves[1:])
    pending = [next(source, None)]

    def take():
        item, pending[0] = pending[0], next(source, None)
        return item

    def fill(node: list, depth: int) -> list:
        while len(node) < max_links and pending[0] is not None:
            node.append(take() if depth == 1 else fill([], depth - 1))
        return node

    root: object = leaves[0]
    depth = 1
    while pending[0] is not None:
        root = fill([root], depth)
        depth += 1
    return root


def all_blocks(source) -> tuple[unixfs.DagRoot, dict[bytes, bytes]]:
    blocks: dict[bytes, bytes] = {}
    root = unixfs.root_of(source, on_block=lambda cid, block: blocks.setdefault(cid, block))
    return root, blocks


# --- the tests ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("size", "expected"), VECTORS, ids=[str(size) for size, _ in VECTORS])
def test_known_cids_from_bytes_and_from_a_file(size, expected, tmp_path):
    data = pseudo_random(size)
    assert cid_of(data) == expected
    (tmp_path / "f").write_bytes(data)
    assert cid_of_file(tmp_path / "f") == expected
    assert verify_cid(data, expected)


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=0, max_value=unixfs.CHUNK_SIZE), st.binary(min_size=1, max_size=8))
def test_one_chunk_or_less_is_the_raw_cid_of_the_content(size, seed):
    data = pseudo_random(size, seed)
    assert cid_of(data) == cid_from_sha256(hashlib.sha256(data).digest())
    assert cid_of(data).startswith("bafk")


def test_the_blocks_decode_as_the_specs_say(tmp_path):
    data = pseudo_random(3 * MiB + 5)
    root, blocks = all_blocks(data)
    assert root.cid.startswith("bafy") and CID.decode(root.cid).codec.name == "dag-pb"
    shape = tree(root.binary, blocks)
    assert flatten(shape) == data
    assert [len(leaf) for leaf in shape] == [unixfs.CHUNK_SIZE] * 12 + [5]
    assert (root.size, root.leaves, root.blocks, root.depth) == (len(data), 13, 14, 1)
    assert root.dag_size == cumulative(root.binary, blocks)


@pytest.mark.parametrize("leaves", [1, 2, 3, 4, 9, 10, 12, 13, 27, 28, 30, 31, 82])
def test_the_tree_is_kubos_balanced_layout(monkeypatch, leaves):
    """Small chunks and 3 links a node give deep trees quickly; the shape must be the top-down builder's."""
    monkeypatch.setattr(unixfs, "CHUNK_SIZE", 4)
    monkeypatch.setattr(unixfs, "MAX_LINKS", 3)
    data = pseudo_random(4 * leaves - 1)
    root, blocks = all_blocks(data)
    chunks = [data[i:i + 4] for i in range(0, len(data), 4)]
    assert tree(root.binary, blocks) == kubo_shape(chunks, 3)
    expected_depth = next(depth for depth in range(10) if 3 ** depth >= leaves)
    assert root.depth == expected_depth and root.leaves == leaves


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=3 * unixfs.CHUNK_SIZE), min_size=1, max_size=6))
def test_pieces_of_any_size_give_the_same_dag(pieces):
    data = pseudo_random(sum(pieces))
    builder = unixfs.DagBuilder()
    at = 0
    for piece in pieces:
        builder.update(memoryview(data)[at:at + piece])
        at += piece
    assert builder.finish() == unixfs.root_of(data)


def test_blocks_come_root_first_depth_first_each_once(tmp_path, monkeypatch):
    data = pseudo_random(3 * MiB + 5)
    path = tmp_path / "f"
    path.write_bytes(data)
    root, blocks = all_blocks(data)
    listed = list(unixfs.iter_blocks(data))
    assert listed == list(unixfs.iter_blocks(path))
    assert listed[0] == (root.cid, blocks[root.binary])
    assert {cid for cid, _ in listed} == {unixfs.cid_text(cid) for cid in blocks} and len(listed) == root.blocks
    assert b"".join(block for cid, block in listed if cid.startswith("bafk")) == data  # leaves in file order
    for cid, block in listed:
        assert str(CID.decode(cid)) == cid and CID.decode(cid).raw_digest == hashlib.sha256(block).digest()

    monkeypatch.setattr(unixfs, "CHUNK_SIZE", 4)
    monkeypatch.setattr(unixfs, "MAX_LINKS", 3)
    repeated = b"abcd" * 20  # 20 equal leaves: one leaf block, and equal subtrees once each
    root, blocks = all_blocks(repeated)
    listed = list(unixfs.iter_blocks(repeated))
    assert [cid for cid, _ in listed][0] == root.cid and len(listed) == len(blocks) == root.blocks
    assert [block for cid, block in listed if cid.startswith("bafk")] == [b"abcd"]


def test_a_file_changed_between_the_two_passes_is_an_error(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(pseudo_random(2 * unixfs.CHUNK_SIZE))
    blocks = unixfs.iter_blocks(path)
    next(blocks)  # the root: the first pass is done
    path.write_bytes(pseudo_random(2 * unixfs.CHUNK_SIZE, b"other"))
    with pytest.raises(ValueError, match="changed"):
        list(blocks)


def test_verify_refuses_a_tampered_byte_in_the_last_chunk():
    data = bytearray(pseudo_random(3 * MiB + 7))
    cid = cid_of(bytes(data))
    legacy = cid_from_sha256(hashlib.sha256(bytes(data)).digest())
    assert verify_cid(bytes(data), cid) and verify_cid(bytes(data), legacy)
    data[-3] ^= 0x01
    assert not verify_cid(bytes(data), cid)
    assert not verify_cid(bytes(data), legacy)
    assert not verify_cid(bytes(data[:-1]), cid)  # one byte short
    assert not verify_cid(bytes(data) + b"\0", cid)


def test_verify_accepts_the_older_raw_cid_of_large_archives_and_other_multibases():
    data = pseudo_random(MiB)
    legacy = cid_from_sha256(hashlib.sha256(data).digest())
    assert legacy.startswith("bafk") and legacy != cid_of(data)
    assert verify_cid(data, legacy)
    assert verify_cid(data, CID.decode(cid_of(data)).encode("base58btc"))


def test_verify_refuses_a_dag_pb_root_built_some_other_way():
    data = pseudo_random(2 * unixfs.CHUNK_SIZE)
    halves = [data[: unixfs.CHUNK_SIZE], data[unixfs.CHUNK_SIZE:]]
    leaves = [unixfs.Link(unixfs.RAW_PREFIX + hashlib.sha256(half).digest(), len(half), len(half)) for half in halves]
    block = unixfs.encode_file_node(leaves)
    assert unixfs.cid_text(unixfs.DAG_PB_PREFIX + hashlib.sha256(block).digest()) == cid_of(data)  # the same, by hand
    wrapped = unixfs.encode_file_node([leaves[0]])  # one small node over the whole file: a DAG kubo never builds
    other = unixfs.cid_text(unixfs.DAG_PB_PREFIX + hashlib.sha256(wrapped).digest())
    assert not verify_cid(halves[0], other)


@pytest.mark.parametrize(
    ("cid", "reason"),
    [
        ("QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG", "not a CIDv1 of raw sha2-256 content, nor of a UnixFS dag-pb root"),
        (str(CID("base32", 1, "dag-cbor", ("sha2-256", hashlib.sha256(b"x").digest()))), "it is v1, dag-cbor"),
        (str(CID("base32", 1, "dag-pb", ("sha2-512", hashlib.sha512(b"x").digest()))), "sha2-512"),
    ],
)
def test_verify_names_cids_no_archive_can_have(cid, reason):
    with pytest.raises(ValueError, match=reason):
        verify_cid(b"x", cid)


def test_memory_stays_bounded_while_a_file_streams(tmp_path):
    import tracemalloc

    path = tmp_path / "f"
    with path.open("wb") as out:
        for index in range(40):  # 40 MiB, never in memory at once
            out.write(pseudo_random(MiB, index.to_bytes(2, "big")))
    tracemalloc.start()
    try:
        root = unixfs.root_of(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert root.size == 40 * MiB and root.leaves == 160
    assert peak < 4 * MiB, peak


def test_the_package_exports(tmp_path: Path):
    (tmp_path / "f").write_bytes(b"hello")
    assert cid_of_file(tmp_path / "f") == cid_of(b"hello") == "bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq"
