"""Plugin archives in the JetStream Object Store, keyed by their content id (CID)."""

from __future__ import annotations

from nats.js import JetStreamContext
from nats.js.api import ObjectStoreConfig, StorageType
from nats.js.errors import BucketNotFoundError, NotFoundError, ObjectNotFoundError
from nats.js.object_store import ObjectStore

BUCKET = "PLUGYARD_ARTIFACTS"
MAX_ARCHIVE_BYTES = 50 * 1024 * 1024


class ArtifactMissing(LookupError):
    pass


class ArtifactTooLarge(ValueError):
    pass


async def artifact_store(js: JetStreamContext) -> ObjectStore:
    """The bucket, created on first use (idempotent)."""
    try:
        return await js.object_store(BUCKET)
    except BucketNotFoundError:
        return await js.create_object_store(BUCKET, config=ObjectStoreConfig(storage=StorageType.FILE, description="plugin archives by CID"))


async def has_artifact(js: JetStreamContext, cid: str) -> bool:
    store = await artifact_store(js)
    try:
        info = await store.get_info(cid)
    except (ObjectNotFoundError, NotFoundError):
        return False
    return not info.deleted


async def put_artifact(js: JetStreamContext, cid: str, data: bytes) -> None:
    if len(data) > MAX_ARCHIVE_BYTES:
        raise ArtifactTooLarge(f"archive of {len(data)} bytes exceeds the {MAX_ARCHIVE_BYTES}-byte limit")
    if await has_artifact(js, cid):  # content-addressed: the same key always holds the same bytes
        return
    await (await artifact_store(js)).put(cid, data)


async def get_artifact(js: JetStreamContext, cid: str) -> bytes:
    store = await artifact_store(js)
    try:
        info = await store.get_info(cid)
    except (ObjectNotFoundError, NotFoundError):
        raise ArtifactMissing(f"no archive {cid} in the object store (upload it before publishing)") from None
    if info.size and info.size > MAX_ARCHIVE_BYTES:
        raise ArtifactTooLarge(f"archive {cid} is {info.size} bytes, over the {MAX_ARCHIVE_BYTES}-byte limit")
    result = await store.get(cid)
    return result.data
