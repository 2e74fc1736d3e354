"""Content addressing end to end, against a real nats-server: the object store holds under a CID only bytes checked
against it, written by the registry from a staged upload; a bad entry (bytes put there by anyone else) is never
used, and a publish of the right bytes repairs it. Archives over PLUGYARD_MAX_ARTIFACT_BYTES are refused by name."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import sys
from pathlib import Path

import pytest
from eth_account import Account
from nats.js.errors import NotFoundError

from plugyard_artifacts.keys import save_key
from plugyard_artifacts.release import ArchiveRelease
from plugyard_artifacts.signing import ReleaseStatement, sign
from plugyard_core.artifact_store import (
    BUCKET,
    MAX_BYTES_ENV,
    UPLOADS_BUCKET,
    ArtifactMismatch,
    ArtifactMissing,
    ArtifactTooLarge,
    artifact_store,
    ensure_buckets,
    get_verified_artifact,
    has_artifact,
    new_upload_key,
    put_artifact,
    stage_upload,
    uploads_store,
)
from plugyard_core.rpc import RpcError, call
from plugyard_core.streams import ensure_streams, rpc_subject
from plugyard_registry.main import build_service
from plugyard_schemas.registry import InfoReply, InfoRequest, PublishReply, PublishRequest
from tests.in_process import start_in_process
from tests.registry.support import make_plugin, release_of

PLUGYARD = str(Path(sys.executable).parent / "plugyard")


@pytest.fixture
async def registry(nats_server, tmp_path, monkeypatch):
    monkeypatch.delenv(MAX_BYTES_ENV, raising=False)
    running = await start_in_process(build_service(tmp_path / "data", nats_server.url))
    yield tmp_path / "data"
    await running.close()


@pytest.fixture
def alice():
    return Account.create()


async def plant(js, key: str, data: bytes, bucket: str = BUCKET) -> None:
    """What an attacker with a plain nats-py client did: bytes straight into a bucket, unchecked."""
    await (await js.object_store(bucket)).put(key, data)


async def staged_publish(nc, release: ArchiveRelease, account, *, data: bytes | None = None) -> PublishReply:
    """The CLI's way: stage the archive under an upload key, then ask the registry to publish it."""
    statement = ReleaseStatement(name=release.name, version=release.version, cid=release.cid, manifest_sha256=release.manifest_sha256)
    upload = await stage_upload(nc.jetstream(), release.data if data is None else data)
    request = PublishRequest(cid=release.cid, publisher=account.address, signature=sign(statement, account), upload=upload)
    return await call(nc, rpc_subject("registry", "publish"), request, PublishReply, timeout=30)


async def uploads_left(js) -> list[str]:
    try:
        return [entry.name for entry in await (await uploads_store(js)).list(ignore_deletes=True)]
    except NotFoundError:  # what nats-py says of an empty bucket
        return []


async def test_buckets_are_created_once_and_uploads_expire(nats_server, nc):
    js = nc.jetstream()
    await ensure_streams(js)
    await asyncio.gather(ensure_buckets(js), ensure_buckets(js))
    staged = await stage_upload(js, b"an archive")
    assert await uploads_left(js) == [staged]
    artifacts = await (await artifact_store(js)).status()
    uploads = await (await uploads_store(js)).status()
    assert artifacts.ttl in (None, 0) and uploads.ttl == 3600
    assert re.fullmatch(PublishRequest.model_fields["upload"].metadata[0].pattern, new_upload_key())


async def test_the_store_takes_only_bytes_that_match_and_readers_refuse_others(nats_server, nc, tmp_path, caplog):
    js = nc.jetstream()
    await ensure_buckets(js)
    release = release_of(make_plugin(tmp_path, "checked"), tmp_path)
    other = release_of(make_plugin(tmp_path, "other"), tmp_path)

    with pytest.raises(ArtifactMismatch) as refused:
        await put_artifact(js, release.cid, other.data)
    assert release.cid in str(refused.value) and other.cid in str(refused.value)
    assert not await has_artifact(js, release.cid)

    await plant(js, release.cid, other.data)
    with pytest.raises(ArtifactMismatch) as mismatch:
        await get_verified_artifact(js, release.cid)
    assert (mismatch.value.cid, mismatch.value.found.split()[0]) == (release.cid, other.cid)

    caplog.set_level(logging.ERROR, logger="plugyard.artifacts")
    assert await put_artifact(js, release.cid, release.data) == "repaired"
    assert any("BAD ARTIFACT ENTRY" in r.getMessage() and release.cid in r.getMessage() for r in caplog.records)
    assert await get_verified_artifact(js, release.cid) == release.data
    assert await put_artifact(js, release.cid, release.data) == "kept"

    with pytest.raises(ArtifactMissing):
        await get_verified_artifact(js, other.cid)


async def test_over_the_cap_is_refused_before_downloading_naming_the_limit(nats_server, nc, tmp_path, monkeypatch):
    js = nc.jetstream()
    await ensure_buckets(js)
    release = release_of(make_plugin(tmp_path, "big"), tmp_path)
    await put_artifact(js, release.cid, release.data)
    monkeypatch.setenv(MAX_BYTES_ENV, str(release.size - 1))
    for attempt in (get_verified_artifact(js, release.cid), put_artifact(js, release.cid, release.data), stage_upload(js, release.data)):
        with pytest.raises(ArtifactTooLarge, match=rf"over the {release.size - 1}-byte limit \({MAX_BYTES_ENV}\)"):
            await attempt
    monkeypatch.setenv(MAX_BYTES_ENV, "fifty megabytes")
    with pytest.raises(ValueError, match=MAX_BYTES_ENV):
        await get_verified_artifact(js, release.cid)


async def test_a_staged_publish_stores_the_archive_and_drops_the_upload(registry, nc, tmp_path, alice):
    js = nc.jetstream()
    release = release_of(make_plugin(tmp_path, "staged"), tmp_path)
    reply = await staged_publish(nc, release, alice)
    assert (reply.name, reply.cid, reply.created) == ("staged", release.cid, True)
    assert await get_verified_artifact(js, release.cid) == release.data
    assert await uploads_left(js) == []
    # Republishing the same content needs no upload: the stored archive is checked and used.
    statement = ReleaseStatement(name=release.name, version=release.version, cid=release.cid, manifest_sha256=release.manifest_sha256)
    again = await call(nc, rpc_subject("registry", "publish"), PublishRequest(cid=release.cid, publisher=alice.address, signature=sign(statement, alice)), PublishReply)
    assert again.created is False


async def test_a_staged_upload_that_is_not_the_cid_is_refused_and_nothing_is_stored(registry, nc, tmp_path, alice):
    js = nc.jetstream()
    release = release_of(make_plugin(tmp_path, "claimed"), tmp_path)
    substitute = release_of(make_plugin(tmp_path, "substitute"), tmp_path)
    with pytest.raises(RpcError) as refused:
        await staged_publish(nc, release, alice, data=substitute.data)
    assert refused.value.code == "invalid_request"
    assert release.cid in refused.value.message and substitute.cid in refused.value.message
    assert not await has_artifact(js, release.cid) and not await has_artifact(js, substitute.cid)
    assert await uploads_left(js) == []
    with pytest.raises(RpcError) as unknown:
        await call(nc, rpc_subject("registry", "publish"), PublishRequest(cid=release.cid, publisher=alice.address, signature="0x00", upload=new_upload_key()), PublishReply)
    assert unknown.value.code == "invalid_request" and "no upload" in unknown.value.message
    body = {"cid": release.cid, "publisher": alice.address, "signature": "0x00", "upload": f"../{BUCKET}/{release.cid}"}
    malformed = json.loads((await nc.request(rpc_subject("registry", "publish"), json.dumps(body).encode(), timeout=10)).data)
    assert malformed["error"]["code"] == "invalid_request" and "upload" in malformed["error"]["message"]


async def test_junk_put_under_a_cid_first_does_not_block_its_owner(registry, nc, tmp_path, alice, caplog):
    """The squatting attack: junk under the CID before the owner uploads. The owner's publish replaces it."""
    js = nc.jetstream()
    release = release_of(make_plugin(tmp_path, "squatted"), tmp_path)
    await plant(js, release.cid, b"junk, not an archive")
    statement = ReleaseStatement(name=release.name, version=release.version, cid=release.cid, manifest_sha256=release.manifest_sha256)
    with pytest.raises(RpcError) as without_upload:  # the stored bytes are used only if they are the content
        await call(nc, rpc_subject("registry", "publish"), PublishRequest(cid=release.cid, publisher=alice.address, signature=sign(statement, alice)), PublishReply)
    assert without_upload.value.code == "invalid_request" and release.cid in without_upload.value.message and "sha256" in without_upload.value.message

    caplog.set_level(logging.ERROR, logger="plugyard.artifacts")
    reply = await staged_publish(nc, release, alice)
    assert reply.created and reply.cid == release.cid
    assert await get_verified_artifact(js, release.cid) == release.data
    assert any("BAD ARTIFACT ENTRY" in r.getMessage() for r in caplog.records)


async def test_an_upload_over_the_cap_is_refused_by_the_registry_naming_the_limit(registry, nc, tmp_path, alice, monkeypatch):
    js = nc.jetstream()
    release = release_of(make_plugin(tmp_path, "oversized"), tmp_path)
    upload = new_upload_key()
    await plant(js, upload, release.data, UPLOADS_BUCKET)  # staged by a client with a larger limit of its own
    monkeypatch.setenv(MAX_BYTES_ENV, "100")  # the registry runs in this process: this is its limit
    statement = ReleaseStatement(name=release.name, version=release.version, cid=release.cid, manifest_sha256=release.manifest_sha256)
    with pytest.raises(RpcError) as refused:
        await call(nc, rpc_subject("registry", "publish"), PublishRequest(cid=release.cid, publisher=alice.address, signature=sign(statement, alice), upload=upload), PublishReply)
    assert refused.value.code == "invalid_request" and f"over the 100-byte limit ({MAX_BYTES_ENV})" in refused.value.message
    assert not await has_artifact(js, release.cid)


async def run_cli(nats_url: str, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        PLUGYARD, *args, env={**os.environ, "PLUGYARD_NATS_URL": nats_url, **(env or {})},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode, out.decode(), err.decode()


async def test_cli_publish_stages_the_upload_and_refuses_an_archive_over_the_cap(registry, nats_server, nc, tmp_path, alice):
    key = tmp_path / "alice.key"
    save_key(alice, key, passphrase=None, plain=True)
    folder = make_plugin(tmp_path, "cli-staged")
    code, out, err = await run_cli(nats_server.url, "publish", str(folder), "--key", str(key), "--json")
    assert code == 0, err
    published = json.loads(out)
    assert published["created"] and await has_artifact(nc.jetstream(), published["cid"])
    assert await uploads_left(nc.jetstream()) == []

    bigger = make_plugin(tmp_path / "big", "cli-too-big")
    code, out, err = await run_cli(nats_server.url, "publish", str(bigger), "--key", str(key), "--json", env={MAX_BYTES_ENV: "100"})
    assert code == 64 and json.loads(out)["error"]["code"] == "invalid_request"
    assert f"over the 100-byte limit ({MAX_BYTES_ENV})" in err and err.count("\n") == 1
    assert await uploads_left(nc.jetstream()) == []
    described = await call(nc, rpc_subject("registry", "info"), InfoRequest(name="cli-staged"), InfoReply)
    assert described.versions[0].cid == published["cid"]


async def test_export_refuses_loudly_an_archive_that_is_not_its_cid(registry, nats_server, nc, tmp_path, alice):
    js = nc.jetstream()
    good = release_of(make_plugin(tmp_path, "exported"), tmp_path)
    bad = release_of(make_plugin(tmp_path, "tampered"), tmp_path)
    await staged_publish(nc, good, alice)
    await staged_publish(nc, bad, alice)
    await plant(js, bad.cid, good.data)
    export = tmp_path / "export"
    code, out, err = await run_cli(nats_server.url, "registry", "export", str(export), "--json")
    assert code == 1 and json.loads(out)["error"]["code"] == "refused"
    assert "tampered 1.0.0" in err and bad.cid in err and good.cid in err and err.count("\n") == 1
    assert not (export / "index.json").exists() and not (export / "archives" / f"{bad.cid}.tar.gz").exists()
