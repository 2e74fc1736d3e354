"""An archive over 256 KiB end to end on a real nats-server, with the registry, scanner and loader in this event loop:
`pack` names it by its UnixFS DAG root (`bafy…`, what `ipfs add --cid-version 1 --raw-leaves` prints), the publish
stages it as the CLI does, the registry checks it and stores it under that CID, the scanner fetches and judges it,
the loader installs it after checking it again. An archive published before, under the raw CID of its whole
content, keeps installing; and the same bytes packed again are the same version, not a conflict."""

from __future__ import annotations

import asyncio
import hashlib
import textwrap
from pathlib import Path

import pytest
from eth_account import Account

from plugyard_artifacts import cid_from_sha256, cid_of_file, pack
from plugyard_artifacts.release import inspect_archive
from plugyard_artifacts.signing import ReleaseStatement, sign
from plugyard_core.artifact_store import BUCKET, ArtifactMismatch, get_verified_artifact, has_artifact, stage_upload
from plugyard_core.rpc import call
from plugyard_core.streams import rpc_subject
from plugyard_loader.handlers import loader_subject
from plugyard_loader.main import build_service as build_loader
from plugyard_registry.main import build_service as build_registry
from plugyard_scanner.main import build_service as build_scanner
from plugyard_schemas.loader import InstallReply, InstallRequest
from plugyard_schemas.registry import InfoReply, InfoRequest, PublishReply, PublishRequest
from tests.artifacts.ipfs_reference import pseudo_random
from tests.in_process import start_in_process

HOST = "ipfs-host"


@pytest.fixture
async def services(nats_server, tmp_path, monkeypatch):
    monkeypatch.delenv("PLUGYARD_DEV_ALLOW_PENDING", raising=False)
    monkeypatch.delenv("PLUGYARD_SCAN_POLICY", raising=False)
    monkeypatch.delenv("PLUGYARD_SANDBOX_REQUIRE", raising=False)
    monkeypatch.setenv("PLUGYARD_LOADER_HOST", HOST)
    monkeypatch.setenv("PLUGYARD_PLUGIN_DISK_MB", "128")
    data = tmp_path / "data"
    running = [
        await start_in_process(build_registry(data, nats_server.url)),
        await start_in_process(build_scanner(data, nats_server.url)),
        await start_in_process(build_loader(data_dir=data, nats_url=nats_server.url)),
    ]
    yield data
    for service in reversed(running):
        await service.close()


def large_plugin(root: Path, name: str, version: str = "1.0.0") -> Path:
    directory = root / f"{name}-{version}"
    module = name.replace("-", "_")
    (directory / module).mkdir(parents=True)
    (directory / module / "__init__.py").write_text("class Plugin:\n    def hello(self, name):\n        return {'greeting': 'Hello, ' + name}\n")
    (directory / module / "table.txt").write_text(pseudo_random(300 * 1024, name.encode()).hex())  # about 330 KiB gzipped
    (directory / "plugin.toml").write_text(textwrap.dedent(f"""\
        [plugin]
        name = "{name}"
        version = "{version}"
        summary = "A plugin larger than one IPFS chunk"
        description = "Used by the IPFS-exact CID tests."
        authors = ["Test Author <test@example.org>"]
        license = "MIT"
        entry = "{module}:Plugin"
        host = ">=1.0,<2"

        [permissions]
        """))
    return directory


async def publish_staged(nc, release, cid: str, account) -> PublishReply:
    """As `plugyard publish` does: sign the statement over `cid`, stage the bytes, ask the registry."""
    statement = ReleaseStatement(name=release.name, version=release.version, cid=cid, manifest_sha256=release.manifest_sha256)
    upload = await stage_upload(nc.jetstream(), release.data)
    request = PublishRequest(cid=cid, publisher=account.address, signature=sign(statement, account), upload=upload)
    return await call(nc, rpc_subject("registry", "publish"), request, PublishReply, timeout=30)


async def judged(nc, name: str, timeout: float = 60.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        reply = await call(nc, rpc_subject("registry", "info"), InfoRequest(name=name), InfoReply)
        version = reply.versions[0]
        if version.status != "pending":
            return version
        assert asyncio.get_running_loop().time() < deadline, f"{name} was never judged"
        await asyncio.sleep(0.2)


async def install(nc, name: str) -> InstallReply:
    return await call(nc, loader_subject(HOST, "install"), InstallRequest(requirements=[name]), InstallReply, timeout=60)


async def test_a_large_archive_is_named_stored_scanned_and_installed_by_its_dag_root(services, nc, tmp_path):
    packed = pack(large_plugin(tmp_path / "src", "big-kit"), tmp_path / "big-kit.tar.gz")
    assert packed.size > 256 * 1024 and packed.cid.startswith("bafy")
    assert packed.cid == cid_of_file(packed.path)
    assert packed.sha256 == hashlib.sha256(packed.path.read_bytes()).hexdigest()
    release = inspect_archive(packed.path.read_bytes())
    assert release.cid == packed.cid

    account = Account.create()
    reply = await publish_staged(nc, release, release.cid, account)
    assert (reply.cid, reply.created) == (release.cid, True)
    js = nc.jetstream()
    assert await has_artifact(js, release.cid)
    assert await get_verified_artifact(js, release.cid) == release.data

    version = await judged(nc, "big-kit")
    assert version.cid == release.cid
    assert version.status in ("cleared", "warned"), (version.status, version.status_reason)
    installed = await install(nc, "big-kit")
    assert [(v.name, v.cid) for v in installed.installed] == [("big-kit", release.cid)]

    again = await publish_staged(nc, inspect_archive(pack(large_plugin(tmp_path / "again", "big-kit"), tmp_path / "again.tar.gz").path.read_bytes()),
                                 release.cid, account)
    assert again.created is False


async def test_an_archive_published_under_its_raw_cid_keeps_working(services, nc, tmp_path):
    """Before DAG roots, a large archive's CID was the raw CID of the whole file, and its release was signed over it."""
    data = pack(large_plugin(tmp_path / "src", "old-kit"), tmp_path / "old-kit.tar.gz").path.read_bytes()
    legacy = cid_from_sha256(hashlib.sha256(data).digest())
    release = inspect_archive(data, expected_cid=legacy)
    assert release.cid == legacy and legacy != inspect_archive(data).cid

    account = Account.create()
    reply = await publish_staged(nc, release, legacy, account)
    assert (reply.cid, reply.created) == (legacy, True)
    version = await judged(nc, "old-kit")
    assert version.cid == legacy and version.status in ("cleared", "warned"), version.status_reason
    assert [v.cid for v in (await install(nc, "old-kit")).installed] == [legacy]

    # The same bytes again, now named by their DAG root (a newer `plugyard publish`): the same version, no conflict.
    renamed = inspect_archive(data)
    again = await publish_staged(nc, renamed, renamed.cid, account)
    assert (again.created, again.cid) == (False, legacy)
    # Bytes under the raw CID that are not its content are refused, as before.
    js = nc.jetstream()
    await (await js.object_store(BUCKET)).put(legacy, data[:-1] + bytes([data[-1] ^ 1]))
    with pytest.raises(ArtifactMismatch):
        await get_verified_artifact(js, legacy)
