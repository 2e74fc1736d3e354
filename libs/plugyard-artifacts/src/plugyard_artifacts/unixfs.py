"""IPFS-exact content ids: the UnixFS file DAG that `ipfs add --cid-version 1 --raw-leaves FILE` builds, with kubo's
defaults (the `size-262144` chunker, the balanced layout, at most 174 links a node), and its root CID.

The file is cut into chunks of 262,144 bytes; each chunk is a raw block (CIDv1, codec raw, sha2-256). A file of
one chunk or less (the empty file too) is that one raw block, so its CID is the raw CID of the whole content
(`bafk…`). A longer file is a tree of dag-pb nodes over the leaves, filled left to right: 174 leaves under a node,
174 such nodes under the next, and so on up to one root (`bafy…`); the last node of a level holds what is left,
even a single child. Each dag-pb node is, in its canonical encoding (Links, field 2, before Data, field 1):

    PBNode  { Links: [PBLink { Hash: <child's binary CID>, Name: "", Tsize: <child's cumulative size> }, ...],
              Data: UnixFS Data { Type: File, filesize: <bytes under the node>, blocksizes: [<bytes under each child>] } }

where a child's cumulative size is its own block's length plus the Tsize of all its links. Everything is hashed
as it streams (a file is read a chunk at a time), and the blocks can be had too: through `DagBuilder(on_block=…)`
as they are made (every leaf, then each node when complete, the root last), or from `iter_blocks` root first, in
depth-first order, each distinct block once (the order of a CAR file from an IPFS trustless gateway).
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, Union

CHUNK_SIZE = 262_144  # kubo's default chunker: size-262144
MAX_LINKS = 174  # kubo's balanced layout: links per dag-pb node
READ_SIZE = 4 * CHUNK_SIZE  # what a file is read by

# Binary CIDv1 prefixes: version 1, codec (raw 0x55, dag-pb 0x70), multihash sha2-256 (0x12) of 32 bytes (0x20).
RAW_PREFIX = b"\x01\x55\x12\x20"
DAG_PB_PREFIX = b"\x01\x70\x12\x20"

_UNIXFS_FILE = b"\x08\x02"  # UnixFS Data field 1 (Type, varint) = 2 (File)

Source = Union[bytes, bytearray, memoryview, str, "os.PathLike[str]"]
BlockSink = Callable[[bytes, bytes], None]  # (binary CID, block bytes)


def _varint(value: int) -> bytes:
    """Protobuf's unsigned LEB128."""
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def cid_text(binary: bytes) -> str:
    """A binary CIDv1 in its usual text: multibase base32 (`b`, lower case, no padding)."""
    return "b" + base64.b32encode(binary).decode("ascii").lower().rstrip("=")


@dataclass(frozen=True, slots=True)
class Link:
    """A child of a dag-pb node: its binary CID, the file bytes under it and its cumulative encoded size (Tsize)."""

    cid: bytes
    file_size: int
    tsize: int


def encode_file_node(links: list[Link]) -> bytes:
    """The dag-pb block of a UnixFS file node over `links`, in the canonical encoding (Links before Data)."""
    parts = []
    file_size = 0
    sizes = []
    for link in links:
        body = b"\x0a" + _varint(len(link.cid)) + link.cid + b"\x12\x00" + b"\x18" + _varint(link.tsize)  # Hash, Name "", Tsize
        parts.append(b"\x12" + _varint(len(body)) + body)  # PBNode field 2: a PBLink
        file_size += link.file_size
        sizes.append(b"\x20" + _varint(link.file_size))  # UnixFS field 4 (blocksizes), one varint each (proto2, unpacked)
    data = _UNIXFS_FILE + b"\x18" + _varint(file_size) + b"".join(sizes)  # field 3: filesize
    parts.append(b"\x0a" + _varint(len(data)) + data)  # PBNode field 1: Data
    return b"".join(parts)


@dataclass(frozen=True)
class DagRoot:
    """The result of an import: the root CID, the file's size, and the DAG's shape."""

    cid: str
    binary: bytes  # the root's binary CID
    size: int  # bytes of content
    blocks: int  # distinct blocks in the DAG (what a blockstore holds after `ipfs add`)
    leaves: int  # chunks, the same chunk counted each time it occurs
    depth: int  # 0 when the root is the single raw leaf
    dag_size: int  # the root's cumulative size: every block's bytes, a repeated block each time it occurs


class DagBuilder:
    """Feed the content in any pieces with `update`, then `finish` for the root. Holds at most one chunk of content
    and, per level of the tree, up to 174 links; `on_block(cid, block)` sees every block as it is made."""

    def __init__(self, on_block: BlockSink | None = None, *, keep_nodes: bool = False) -> None:
        self._on_block = on_block
        self._pending = bytearray()
        self._levels: list[list[Link]] = [[]]
        self._seen: set[bytes] = set()
        self._size = 0
        self._leaves = 0
        self._finished: DagRoot | None = None
        # For `iter_blocks`: each level's nodes in order (binary CID, block, children) and each leaf's digest.
        self.nodes: list[list[tuple[bytes, bytes, int]]] | None = [[]] if keep_nodes else None
        self.leaf_digests: list[bytes] | None = [] if keep_nodes else None

    def update(self, data: bytes | bytearray | memoryview) -> None:
        if self._finished is not None:
            raise ValueError("this DAG is finished")
        view = memoryview(data).cast("B")
        if self._pending:
            taken = CHUNK_SIZE - len(self._pending)
            self._pending += view[:taken]
            view = view[taken:]
            if len(self._pending) < CHUNK_SIZE:
                return
            self._leaf(memoryview(self._pending))
            self._pending = bytearray()
        whole = len(view) - len(view) % CHUNK_SIZE
        for start in range(0, whole, CHUNK_SIZE):
            self._leaf(view[start:start + CHUNK_SIZE])
        self._pending += view[whole:]

    def finish(self) -> DagRoot:
        if self._finished is not None:
            return self._finished
        if self._pending or self._leaves == 0:  # the last, short chunk; or the empty file's one empty leaf
            self._leaf(memoryview(self._pending))
            self._pending = bytearray()
        level = 0
        while True:
            links = self._levels[level]
            if level == len(self._levels) - 1 and len(links) == 1:
                root = links[0]
                break
            if links:  # what is left of a level, even one child, goes under one more node
                self._levels[level] = []
                self._push(level + 1, self._node(level + 1, links))
            level += 1
        self._finished = DagRoot(
            cid=cid_text(root.cid), binary=root.cid, size=self._size, blocks=len(self._seen), leaves=self._leaves,
            depth=level, dag_size=root.tsize,
        )
        return self._finished

    def _leaf(self, chunk: memoryview) -> None:
        digest = hashlib.sha256(chunk).digest()
        cid = RAW_PREFIX + digest
        size = len(chunk)
        self._size += size
        self._leaves += 1
        if self.leaf_digests is not None:
            self.leaf_digests.append(digest)
        if cid not in self._seen:
            self._seen.add(cid)
            if self._on_block is not None:
                self._on_block(cid, bytes(chunk))
        self._push(0, Link(cid, size, size))

    def _push(self, level: int, link: Link) -> None:
        if level == len(self._levels):
            self._levels.append([])
        links = self._levels[level]
        links.append(link)
        if len(links) == MAX_LINKS:
            self._levels[level] = []
            self._push(level + 1, self._node(level + 1, links))

    def _node(self, level: int, links: list[Link]) -> Link:
        block = encode_file_node(links)
        cid = DAG_PB_PREFIX + hashlib.sha256(block).digest()
        if self.nodes is not None:
            while len(self.nodes) <= level:
                self.nodes.append([])
            self.nodes[level].append((cid, block, len(links)))
        if cid not in self._seen:
            self._seen.add(cid)
            if self._on_block is not None:
                self._on_block(cid, block)
        return Link(cid, sum(link.file_size for link in links), len(block) + sum(link.tsize for link in links))


def _is_bytes(source: Source) -> bool:
    return isinstance(source, (bytes, bytearray, memoryview))


def _feed_file(builder: DagBuilder, handle: BinaryIO) -> None:
    buffer = bytearray(READ_SIZE)
    view = memoryview(buffer)
    while True:
        count = handle.readinto(buffer)
        if not count:
            return
        builder.update(view[:count])


def build(source: Source, on_block: BlockSink | None = None, *, keep_nodes: bool = False) -> tuple[DagRoot, DagBuilder]:
    builder = DagBuilder(on_block, keep_nodes=keep_nodes)
    if _is_bytes(source):
        builder.update(source)  # type: ignore[arg-type]
    else:
        with open(source, "rb") as handle:  # type: ignore[arg-type]
            _feed_file(builder, handle)
    return builder.finish(), builder


def root_of(source: Source, on_block: BlockSink | None = None) -> DagRoot:
    """The DAG root of bytes, or of the file at a path (read a chunk at a time)."""
    return build(source, on_block)[0]


def cid_of_bytes(data: bytes | bytearray | memoryview) -> str:
    """The CID `ipfs add --cid-version 1 --raw-leaves` prints for this content."""
    return root_of(data).cid


def cid_of_file(path: str | os.PathLike[str]) -> str:
    """The CID `ipfs add --cid-version 1 --raw-leaves PATH` prints, the file read a chunk at a time."""
    return root_of(path).cid


def iter_blocks(source: Source) -> Iterator[tuple[str, bytes]]:
    """Every distinct block of the DAG as (CID, bytes): the root first, then depth first, children left to right; a
    block seen before is left out with all under it (a CAR file's order from an IPFS trustless gateway, `dups=n`).

    Two passes: the first hashes the content and keeps the dag-pb nodes (about 40 bytes for each 256 KiB), the
    second reads the leaves again in order. A file that changes between them is a `ValueError`."""
    root, builder = build(source, keep_nodes=True)
    assert builder.nodes is not None and builder.leaf_digests is not None
    nodes, digests = builder.nodes, builder.leaf_digests
    emitted: set[bytes] = set()

    def walk(read: Callable[[int], bytes]) -> Iterator[tuple[str, bytes]]:
        stack = [(root.depth, 0)]
        while stack:
            level, index = stack.pop()
            if level == 0:
                cid = RAW_PREFIX + digests[index]
                if cid in emitted:
                    continue
                chunk = read(index)
                if hashlib.sha256(chunk).digest() != digests[index]:
                    raise ValueError(f"the content changed while its blocks were read (chunk {index} differs)")
                emitted.add(cid)
                yield cid_text(cid), chunk
                continue
            cid, block, children = nodes[level][index]
            if cid in emitted:
                continue
            emitted.add(cid)
            yield cid_text(cid), block
            first = index * MAX_LINKS
            stack.extend((level - 1, child) for child in reversed(range(first, first + children)))

    if _is_bytes(source):
        view = memoryview(source).cast("B")  # type: ignore[arg-type]
        yield from walk(lambda index: bytes(view[index * CHUNK_SIZE:(index + 1) * CHUNK_SIZE]))
        return
    with open(source, "rb") as handle:  # type: ignore[arg-type]

        def read(index: int) -> bytes:
            offset = index * CHUNK_SIZE
            if handle.tell() != offset:
                handle.seek(offset)
            return handle.read(CHUNK_SIZE)

        yield from walk(read)
