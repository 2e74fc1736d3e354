"""Plugin archives in the JetStream Object Store, keyed by their content id (CID), and checked against it.

Two buckets. `PLUGYARD_UPLOADS` is where a publisher stages an archive under an unpredictable key (entries expire
after an hour). `PLUGYARD_ARTIFACTS` holds archives by CID; only the registry writes it (`put_artifact`), after
checking the bytes against the CID, and never replaces an entry whose bytes match. Every reader goes through
`get_verified_artifact`, which checks the size before downloading and the bytes against the CID before returning
them: bytes that are not what their key names are an `ArtifactMismatch`, never something to use.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import uuid
from typing import Literal

import nats.errors
from nats.js import JetStreamContext
from nats.js.api import ObjectInfo, ObjectStoreConfig, StorageType
from nats.js.errors import (
    BadObjectMetaError,
    BadRequestError,
    BucketNotFoundError,
    DigestMismatchError,
    NotFoundError,
    ObjectNotFoundError,
)
from nats.js.object_store import ObjectStore

log = logging.getLogger("plugyard.artifacts")

BUCKET = "PLUGYARD_ARTIFACTS"
UPLOADS_BUCKET = "PLUGYARD_UPLOADS"
UPLOAD_TTL_S = 3600.0  # an upload the registry never took is gone after an hour
MAX_BYTES_ENV = "PLUGYARD_MAX_ARTIFACT_BYTES"
DEFAULT_MAX_ARTIFACT_BYTES = 50 * 1024 * 1024

BUCKETS = {
    BUCKET: ObjectStoreConfig(storage=StorageType.FILE, description="plugin archives by CID, written only by the registry"),
    UPLOADS_BUCKET: ObjectStoreConfig(storage=StorageType.FILE, ttl=UPLOAD_TTL_S, description="archives staged for a publish, by upload key"),
}

Stored = Literal["written", "kept", "repaired"]


class ArtifactError(Exception):
    """An archive that cannot be used: missing, too large, or not the content its key names."""


class ArtifactMissing(ArtifactError, LookupError):
    pass


class ArtifactTooLarge(ArtifactError, ValueError):
    pass


class ArtifactMismatch(ArtifactError, ValueError):
    """Bytes that are not the content their CID names: a bad entry in the store, or a wrong upload."""

    def __init__(self, cid: str, found: str, message: str) -> None:
        super().__init__(message)
        self.cid = cid
        self.found = found


def max_artifact_bytes() -> int:
    """The largest archive anyone uploads, stores or reads (`PLUGYARD_MAX_ARTIFACT_BYTES`, default 50 MiB)."""
    raw = os.environ.get(MAX_BYTES_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_ARTIFACT_BYTES
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{MAX_BYTES_ENV}={raw!r} is not a size in bytes (a positive whole number)")
    return int(raw)


def check_size(size: int, what: str) -> None:
    limit = max_artifact_bytes()
    if size > limit:
        raise ArtifactTooLarge(f"{what} is {size} bytes, over the {limit}-byte limit ({MAX_BYTES_ENV})")


def new_upload_key() -> str:
    return f"upload-{uuid.uuid4().hex}"


def verify_cid(data: bytes, cid: str) -> bool:
    # Imported here: every service that reads or writes archives has plugyard-artifacts, but plugyard-core does not
    # depend on it (the ledger reaches this module through `ensure_streams` only, for `ensure_buckets`).
    from plugyard_artifacts.cid import verify_cid

    return verify_cid(data, cid)


def found_digest(data: bytes) -> str:
    from plugyard_artifacts.cid import cid_of

    return f"{cid_of(data)} (sha256 {hashlib.sha256(data).hexdigest()})"


def mismatch(data: bytes, cid: str, what: str) -> ArtifactMismatch:
    found = found_digest(data)
    return ArtifactMismatch(cid, found, f"{what} are not the content {cid} names: they are {found}")


async def ensure_buckets(js: JetStreamContext) -> None:
    """Create each bucket that is missing; safe to call from every service, at once."""
    for name, config in BUCKETS.items():
        try:
            await js.object_store(name)
        except BucketNotFoundError:
            try:
                await js.create_object_store(name, config=config.evolve())  # a copy: nats-py writes the bucket name into it
            except BadRequestError:  # another service created it a moment ago
                await js.object_store(name)


async def open_bucket(js: JetStreamContext, name: str) -> ObjectStore:
    try:
        return await js.object_store(name)
    except BucketNotFoundError:
        pass
    # A NATS that no service has set up (tests, tools): create the buckets as the services do, where this identity may.
    try:
        await ensure_buckets(js)
        return await js.object_store(name)
    except nats.errors.Error as exc:
        raise ArtifactMissing(f"the object store bucket {name} does not exist and cannot be created here ({type(exc).__name__}): is the stack set up?") from None


async def artifact_store(js: JetStreamContext) -> ObjectStore:
    return await open_bucket(js, BUCKET)


async def uploads_store(js: JetStreamContext) -> ObjectStore:
    return await open_bucket(js, UPLOADS_BUCKET)


async def has_artifact(js: JetStreamContext, cid: str) -> bool:
    """Whether an entry exists under `cid` (its bytes unchecked: read it with `get_verified_artifact`)."""
    return await _info(await artifact_store(js), cid) is not None


async def get_verified_artifact(js: JetStreamContext, cid: str) -> bytes:
    """The archive `cid` names, checked against it; `ArtifactMissing`, `ArtifactTooLarge` or `ArtifactMismatch` otherwise."""
    try:
        verify_cid(b"", cid)  # only checks that `cid` is a CID an archive can have
    except ValueError as exc:
        raise ArtifactMissing(f"no archive in the object store can be {cid!r}: {exc}") from None
    data = await _read(await artifact_store(js), cid, cid, f"no archive {cid} in the object store (publish it with its upload)")
    await _check_against(data, cid, "the object store's bytes")
    return data


async def stage_upload(js: JetStreamContext, data: bytes) -> str:
    """Put an archive where the registry can take it for a publish; returns the upload key to name in the request."""
    check_size(len(data), "the archive")
    key = new_upload_key()
    await (await uploads_store(js)).put(key, data)
    return key


async def take_upload(js: JetStreamContext, key: str, cid: str) -> bytes:
    """The staged archive under `key`, checked against the CID the publisher says it is."""
    data = await _read(await uploads_store(js), key, cid, f"no upload {key} (uploads expire after {UPLOAD_TTL_S / 3600:g} hour)")
    await _check_against(data, cid, f"the bytes of upload {key}")
    return data


async def discard_upload(js: JetStreamContext, key: str) -> None:
    """Best effort: the bucket's TTL removes what this leaves."""
    try:
        await (await uploads_store(js)).delete(key)
    except Exception as exc:  # nothing depends on it
        log.warning("the staged upload %s was not deleted (it expires on its own): %s", key, exc)


async def put_artifact(js: JetStreamContext, cid: str, data: bytes) -> Stored:
    """Store `data` under `cid` once it is checked to be that content. Write-once: an entry whose bytes match is kept;
    a bad entry (other bytes, or unreadable) is replaced by these, loudly. For the registry, its only writer."""
    check_size(len(data), f"archive {cid}")
    await _check_against(data, cid, "the bytes to store")
    store = await artifact_store(js)
    try:
        await get_verified_artifact(js, cid)
        return "kept"
    except ArtifactMissing:
        outcome: Stored = "written"
    except ArtifactError as exc:
        log.error("BAD ARTIFACT ENTRY: %s; replacing it with the bytes that match %s", exc, cid)
        outcome = "repaired"
    await store.put(cid, data)
    return outcome


async def _info(store: ObjectStore, key: str) -> ObjectInfo | None:
    try:
        info = await store.get_info(key)
    except (ObjectNotFoundError, NotFoundError):
        return None
    return None if info.deleted else info


async def _read(store: ObjectStore, key: str, cid: str, missing: str) -> bytes:
    """The bytes under `key` (expected to be `cid`), their size checked before and while downloading."""
    what = f"the entry {key}" if key == cid else f"the entry {key} (for {cid})"
    try:
        info = await _info(store, key)
        if info is None:
            raise ArtifactMissing(missing)
        if info.is_link():  # a link reads another object, never the content the key names
            raise ArtifactMismatch(cid, f"a link to {info.options.link.bucket}/{info.options.link.name}", f"{what} is a link, not an archive")
        check_size(info.size or 0, what)
        sink = CappedSink(max_artifact_bytes(), what)
        await store.get(key, writeinto=sink)
    except (ObjectNotFoundError, NotFoundError):  # deleted between the two reads
        raise ArtifactMissing(missing) from None
    except (DigestMismatchError, BadObjectMetaError) as exc:  # the entry's own record disagrees with its chunks
        raise ArtifactMismatch(cid, f"unreadable ({type(exc).__name__})", f"{what} is not a readable object ({type(exc).__name__})") from None
    return bytes(sink.data)


async def _check_against(data: bytes, cid: str, what: str) -> None:
    if not await asyncio.to_thread(verify_cid, data, cid):
        raise await asyncio.to_thread(mismatch, data, cid, what)


class CappedSink:
    """Where `ObjectStore.get` writes the chunks: stops a download whose entry understates its size."""

    def __init__(self, limit: int, what: str) -> None:
        self.data = bytearray()  # not `buffer`: nats-py would write into an attribute of that name
        self.limit = limit
        self.what = what

    def write(self, chunk: bytes) -> int:
        if len(self.data) + len(chunk) > self.limit:
            raise ArtifactTooLarge(f"{self.what} is over the {self.limit}-byte limit ({MAX_BYTES_ENV})")
        self.data += chunk
        return len(chunk)
