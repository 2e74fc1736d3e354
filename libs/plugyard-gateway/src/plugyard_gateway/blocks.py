"""The gateway's blocks: the archives in the object store (`PLUGYARD_ARTIFACTS`, keyed by root CID), each read with
`get_verified_artifact` (its bytes checked against its CID: the store is not trusted) and cut into the blocks of its
UnixFS DAG once.

Finding a block. The store knows archives by their root CID only, and a client (verified-fetch, any IPFS tool) asks
for the root first and then for the blocks under it, one by one. So:

1. a CID that names an archive is read, checked, and its DAG computed (`unixfs.iter_blocks`);
2. every block CID of an archive read so far is in an index (block -> its archive's root), so a request for a leaf
   or an inner node after its root is found without reading anything but that archive (and not even that while its
   blocks are in the cache);
3. a block CID the index does not know (no request for its root yet, or the index forgot it) is looked for by
   reading the archives with a DAG root (`bafy…`: only those have blocks under them) that the index lacks, one scan at
   a time (a scan found by another request is reused), until one holds it; then 404.

Both are bounded LRUs. The blocks of recently used archives: `PLUGYARD_GATEWAY_CACHE_BYTES` (default 128 MiB; an
archive larger than that is served and not kept). The index: `PLUGYARD_GATEWAY_INDEX_BLOCKS` block CIDs (default
100,000, about 20 MB, the blocks of 25 GiB of archives); its oldest archives are forgotten first, and found again by
step 3. A store larger than the index makes a request for an unknown CID re-read the forgotten archives: raise the
bound for such a store. Archives up to 256 KiB, and those published under the raw CID of their whole content, are a
single block: step 1 finds them, the index never holds them.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import OrderedDict
from dataclasses import dataclass

import nats.errors
from multiformats import CID
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from plugyard_artifacts import unixfs
from plugyard_artifacts.car import archive_blocks
from plugyard_core.artifact_store import ArtifactMismatch, ArtifactMissing, ArtifactTooLarge, artifact_store, get_verified_artifact

log = logging.getLogger("plugyard.gateway")

RAW_CODEC = 0x55
DAG_PB_CODEC = 0x70
SHA2_256 = 0x12
IDENTITY = 0x00
DEFAULT_CACHE_BYTES = 128 * 1024 * 1024
DEFAULT_INDEX_BLOCKS = 100_000


class BadEntry(Exception):
    """The store holds something under a CID that is not that content (or cannot be read as it): never served."""


class StoreUnavailable(Exception):
    """The object store did not answer (NATS down or slow)."""


def canonical(cid: CID) -> str:
    """The form the store's keys and the index use: CIDv1, base32 (`bafy…`, `bafk…`)."""
    return str(cid.set(version=1, base="base32"))


def parse(text: str) -> CID:
    """A CID from a request path, or `ValueError` saying why it is not one."""
    try:
        return CID.decode(text)
    except Exception as error:  # multiformats raises a different class for each way a CID can be malformed
        raise ValueError(f"{text!r} is not a CID: {error}") from None


def is_identity(cid: CID) -> bool:
    return cid.hashfun.code == IDENTITY


def digest_matches(cid: CID, block: bytes) -> bool:
    """Whether `block` is the content `cid` names (sha2-256 or identity multihash)."""
    if cid.hashfun.code == IDENTITY:
        return bytes(cid.raw_digest) == bytes(block)
    return cid.hashfun.code == SHA2_256 and hashlib.sha256(block).digest() == bytes(cid.raw_digest)


def _read_varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if at >= len(data) or shift > 63:
            raise ValueError("truncated varint")
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, at
        shift += 7


def _fields(data: bytes):
    """(field number, wire type, value) of a protobuf message: ints for varints, bytes for length-delimited."""
    at = 0
    while at < len(data):
        key, at = _read_varint(data, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, at = _read_varint(data, at)
        elif wire == 2:
            length, at = _read_varint(data, at)
            value, at = data[at:at + length], at + length
        else:
            raise ValueError(f"wire type {wire} in a dag-pb block")
        yield number, wire, value


def dag_pb_links(block: bytes) -> list[bytes]:
    """The binary CIDs a dag-pb node links to, in order (PBNode field 2: PBLink, whose field 1 is Hash)."""
    links = []
    for number, wire, value in _fields(block):
        if number == 2 and wire == 2:
            links.extend(bytes(h) for n, w, h in _fields(value) if n == 1 and w == 2)
    return links


@dataclass(frozen=True)
class Dag:
    """One archive's blocks, checked: the archive's bytes matched its root CID, every block was cut from them."""

    root: str
    order: tuple[str, ...]  # CAR order: root first, depth first, each block once
    blocks: dict[str, bytes]

    @property
    def size(self) -> int:
        return sum(len(block) for block in self.blocks.values())

    def walk(self, start: str, scope: str = "all") -> list[tuple[str, bytes]]:
        """The blocks of the DAG under `start` (a block of this archive), root first, depth first, each once:
        the order of `unixfs.iter_blocks` for the archive's root, the same walk for any block under it."""
        if scope == "block":
            return [(start, self.blocks[start])]
        if start == self.root:
            return [(cid, self.blocks[cid]) for cid in self.order]
        out: list[tuple[str, bytes]] = []
        seen: set[str] = set()
        stack = [start]
        while stack:
            cid = stack.pop()
            if cid in seen:
                continue
            seen.add(cid)
            block = self.blocks[cid]
            out.append((cid, block))
            if cid.startswith("bafy"):  # dag-pb (CIDv1 base32 of codec 0x70, sha2-256); raw leaves have no links
                stack.extend(reversed([unixfs.cid_text(link) for link in dag_pb_links(block)]))
        return out


def build_dag(root: str, data: bytes) -> Dag:
    """The DAG of archive bytes already checked against `root` (see `plugyard_artifacts.car.archive_blocks`)."""
    try:
        blocks = archive_blocks(root, data)
    except ValueError as exc:
        raise BadEntry(f"the store's entry {root}: {exc}") from None
    return Dag(root, tuple(cid for cid, _ in blocks), dict(blocks))


class ArchiveBlocks:
    """Blocks by CID from the archives in the object store; see the module's docstring for the index."""

    def __init__(self, js: JetStreamContext | None = None, *, cache_bytes: int = DEFAULT_CACHE_BYTES,
                 index_blocks: int = DEFAULT_INDEX_BLOCKS) -> None:
        self.js = js
        self.cache_bytes = cache_bytes
        self.index_blocks = index_blocks
        self._dags: OrderedDict[str, Dag] = OrderedDict()  # root -> blocks, least recently used first
        self._cached_bytes = 0
        self._index: OrderedDict[str, tuple[str, ...]] = OrderedDict()  # dag-pb root -> its block CIDs
        self._indexed_blocks = 0
        self._where: dict[str, str] = {}  # block CID -> the root of an indexed archive holding it
        self._loading: dict[str, asyncio.Task] = {}
        self._scan_lock = asyncio.Lock()
        self._bad: dict[str, str] = {}  # root -> the store entry's nuid when it was found bad (not re-read unless replaced)
        self.archives_read = 0

    def stats(self) -> dict:
        return {
            "cached_archives": len(self._dags), "cached_bytes": self._cached_bytes, "indexed_archives": len(self._index),
            "indexed_blocks": self._indexed_blocks, "archives_read": self.archives_read,
        }

    async def find(self, cid: str) -> Dag | None:
        """The DAG (archive) holding block `cid` (canonical form), or None when no archive in the store holds it.
        Raises `BadEntry` when the archive it names is bad in the store, `StoreUnavailable` when the store is."""
        if (dag := self._cached(cid)) is not None:
            return dag
        if (root := self._where.get(cid)) is not None:
            dag = await self._load(root)
            if dag is not None and cid in dag.blocks:
                return dag
        dag = await self._load(cid)
        if dag is not None:
            return dag
        parsed = CID.decode(cid)
        if parsed.codec.code not in (RAW_CODEC, DAG_PB_CODEC) or parsed.hashfun.code != SHA2_256:
            return None  # no archive's DAG has such a block
        return await self._scan_for(cid)

    def _cached(self, cid: str) -> Dag | None:
        root = cid if cid in self._dags else self._where.get(cid)
        dag = self._dags.get(root) if root is not None else None
        if dag is None or cid not in dag.blocks:
            return None
        self._dags.move_to_end(root)
        if root in self._index:
            self._index.move_to_end(root)
        return dag

    async def _load(self, root: str, *, keep: bool = True) -> Dag | None:
        """The archive stored under `root` as a DAG, read once however many requests ask for it at the same time."""
        if root in self._dags:
            self._dags.move_to_end(root)
            return self._dags[root]
        task = self._loading.get(root)
        if task is None:
            task = asyncio.ensure_future(self._read(root))
            self._loading[root] = task
            task.add_done_callback(lambda done: self._loaded(root, done))
        dag = await asyncio.shield(task)
        if dag is not None:
            self._remember(dag, keep=keep)
        return dag

    def _loaded(self, root: str, task: asyncio.Task) -> None:
        self._loading.pop(root, None)
        if not task.cancelled():
            task.exception()  # retrieved here too: every request that wanted it may have gone

    async def _read(self, root: str) -> Dag | None:
        if self.js is None:
            raise StoreUnavailable("the gateway is not connected to NATS yet")
        try:
            data = await get_verified_artifact(self.js, root)
        except ArtifactMissing:
            return None
        except (ArtifactMismatch, ArtifactTooLarge) as exc:
            raise BadEntry(str(exc)) from None
        except (nats.errors.Error, asyncio.TimeoutError) as exc:
            raise StoreUnavailable(f"the object store did not answer ({type(exc).__name__}: {exc})") from None
        self.archives_read += 1
        return await asyncio.to_thread(build_dag, root, data)

    def _remember(self, dag: Dag, *, keep: bool) -> None:
        if dag.root.startswith("bafy") and dag.root not in self._index:  # a DAG root: its blocks go in the index
            self._index[dag.root] = dag.order
            self._indexed_blocks += len(dag.order)
            for cid in dag.order:
                self._where[cid] = dag.root
            while self._indexed_blocks > self.index_blocks and len(self._index) > 1:
                old_root, old_blocks = self._index.popitem(last=False)
                self._indexed_blocks -= len(old_blocks)
                for cid in old_blocks:
                    if self._where.get(cid) == old_root:
                        del self._where[cid]
        if keep and dag.root not in self._dags and dag.size <= self.cache_bytes:
            self._dags[dag.root] = dag
            self._cached_bytes += dag.size
            while self._cached_bytes > self.cache_bytes:
                _, old = self._dags.popitem(last=False)
                self._cached_bytes -= old.size

    async def _scan_for(self, cid: str) -> Dag | None:
        """Read the archives with a DAG root that the index lacks until one holds `cid` (one scan at a time)."""
        async with self._scan_lock:
            if (root := self._where.get(cid)) is not None:  # found by the scan this one waited for
                return await self._load(root)
            for key, nuid in await self._dag_roots():
                if key in self._index or self._bad.get(key) == nuid:
                    continue
                try:
                    dag = await self._load(key, keep=False)
                except BadEntry as exc:  # not this request's archive: logged, remembered, and the scan goes on
                    log.error("BAD ARCHIVE IN THE STORE (skipped while looking for %s): %s", cid, exc)
                    self._bad[key] = nuid
                    continue
                if dag is not None and cid in dag.blocks:
                    self._remember(dag, keep=True)
                    return dag
            return None

    async def _dag_roots(self) -> list[tuple[str, str]]:
        """(key, nuid) of each archive in the store named by a dag-pb root, newest first."""
        if self.js is None:
            raise StoreUnavailable("the gateway is not connected to NATS yet")
        try:
            entries = await (await artifact_store(self.js)).list(ignore_deletes=True)
        except NotFoundError:  # an empty bucket
            return []
        except ArtifactMissing as exc:
            raise StoreUnavailable(str(exc)) from None
        except (nats.errors.Error, asyncio.TimeoutError) as exc:
            raise StoreUnavailable(f"the object store did not answer ({type(exc).__name__}: {exc})") from None
        roots = [(entry.name, entry.nuid or "") for entry in entries if entry.name and entry.name.startswith("bafy") and not entry.deleted]
        return roots[::-1]
