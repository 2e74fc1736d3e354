"""Export one registry (`plugyard registry export DIR`) and import it into another through an export source: the
archives are checked against their CIDs and every signature is verified again, so a tampered archive or a forged
entry is refused with its reason and nothing of it is stored; polls are conditional (ETag) and retry what failed."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from datetime import UTC, datetime, timedelta

import pytest
from eth_account import Account

from plugyard_artifacts.signing import ReleaseStatement, YankStatement, sign
from plugyard_core.artifact_store import has_artifact
from plugyard_core.rpc import call
from plugyard_core.streams import rpc_subject
from plugyard_registry.application import RegistryApplication
from plugyard_registry.handlers import RegistryContext
from plugyard_registry.sources_config import ExportSource
from plugyard_registry.sources_export import ExportSourcePoller
from plugyard_schemas.registry import ExportEntry, ExportIndex, YankReply, YankRequest
from tests.registry.support import make_plugin, publish, release_of
from tests.registry_sources.support import (
    PLUGYARD,
    ExportServer,
    copy_example,
    eventually,
    info,
    running_registry,
    versions_of,
    write_sources,
)


@pytest.fixture
def alice():
    return Account.create()


def source_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "plugyard.registry.sources"]


def signed_entry(release, signer, *, publisher: str | None = None, at: int = 0) -> ExportEntry:
    statement = ReleaseStatement(name=release.name, version=release.version, cid=release.cid, manifest_sha256=release.manifest_sha256)
    return ExportEntry(
        name=release.name, version=release.version, cid=release.cid, size=release.size, manifest_sha256=release.manifest_sha256,
        publisher=publisher or signer.address, signature=sign(statement, signer), published_at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=at),
    )


def write_export_dir(directory, archives: dict[str, bytes], entries: list, extra_raw: tuple = ()) -> None:
    (directory / "archives").mkdir(parents=True, exist_ok=True)
    for cid, data in archives.items():
        (directory / "archives" / f"{cid}.tar.gz").write_bytes(data)
    document = json.loads(ExportIndex(exported_at=datetime.now(UTC), entries=entries).model_dump_json())
    document["entries"].extend(extra_raw)
    (directory / "index.json").write_text(json.dumps(document))


@pytest.fixture
async def importer(nc, tmp_path):
    app = RegistryApplication(data_dir=tmp_path / "importer")
    yield lambda url: ExportSourcePoller(RegistryContext(app=app, nc=nc), ExportSource(kind="export", url=url))
    app.close()


async def test_tampered_archives_and_forged_entries_are_refused_and_nothing_of_them_is_stored(importer, nc, tmp_path, alice, caplog):
    caplog.set_level(logging.INFO, logger="plugyard.registry.sources")
    work, export = tmp_path / "work", tmp_path / "export"
    good = release_of(make_plugin(work, "good-one"), work)
    tampered = release_of(make_plugin(work, "tampered-one"), work)
    substitute = release_of(make_plugin(work / "other", "tampered-one", extra="print('owned')\n"), work)
    forged = release_of(make_plugin(work, "forged-one"), work)
    mallory = Account.create()
    entries = [signed_entry(good, alice), signed_entry(tampered, alice, at=1), signed_entry(forged, mallory, publisher=alice.address, at=2)]
    write_export_dir(export, {good.cid: good.data, tampered.cid: substitute.data, forged.cid: forged.data}, entries,
                     extra_raw=({"name": "no-cid", "version": "1.0.0"},))
    poller = importer(export.as_uri())

    outcome = await poller.poll()
    assert outcome.imported == [f"good-one 1.0.0 ({good.cid})"] and len(outcome.refused) == 3 and not outcome.failed
    lines = source_lines(caplog)
    assert any(f"tampered-one 1.0.0 ({tampered.cid}) not imported" in line and f"content id is {substitute.cid}" in line for line in lines)
    assert any("forged-one 1.0.0" in line and f"signature is by {mallory.address}" in line and "forged" in line for line in lines)
    assert any("index entry is not valid" in line and "cid" in line for line in lines)
    catalog = poller.ctx.app.catalog
    assert catalog.get("good-one").owners == [alice.address]
    assert catalog.get("tampered-one") is None and catalog.get("forged-one") is None
    js = nc.jetstream()
    assert await has_artifact(js, good.cid)
    for cid in (tampered.cid, substitute.cid, forged.cid):
        assert not await has_artifact(js, cid)

    logged = len(source_lines(caplog))
    again = await poller.poll()
    assert not again.modified and len(source_lines(caplog)) == logged


async def test_polls_are_conditional_and_retry_what_failed(importer, tmp_path, alice, caplog):
    caplog.set_level(logging.INFO, logger="plugyard.registry.sources")
    work, export = tmp_path / "work", tmp_path / "export"
    first = release_of(make_plugin(work, "first"), work)
    second = release_of(make_plugin(work, "second"), work)
    write_export_dir(export, {first.cid: first.data}, [signed_entry(first, alice), signed_entry(second, alice, at=1)])
    with ExportServer(export) as server:
        poller = importer(server.url)
        outcome = await asyncio.wait_for(poller.poll(), 30)
        assert outcome.imported == [f"first 1.0.0 ({first.cid})"] and outcome.failed == [f"second 1.0.0 ({second.cid})"]
        assert "HTTP 404" in source_lines(caplog)[-2]

        (export / "archives" / f"{second.cid}.tar.gz").write_bytes(second.data)
        outcome = await asyncio.wait_for(poller.poll(), 30)
        assert outcome.modified and outcome.imported == [f"second 1.0.0 ({second.cid})"] and not outcome.failed

        requests_before = len(server.seen)
        outcome = await asyncio.wait_for(poller.poll(), 30)
        assert not outcome.modified
        assert server.seen[requests_before:] == [("/index.json", 304)]
        assert server.seen.count((f"/archives/{first.cid}.tar.gz", 200)) == 1


async def run_cli(nats_url: str, *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        PLUGYARD, *args, env={**os.environ, "PLUGYARD_NATS_URL": nats_url},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode, out.decode(), err.decode()


async def yank(nc, name: str, version: str, account) -> None:
    statement = YankStatement(name=name, version=version, reason="broken", issued_at=datetime.now(UTC).replace(microsecond=0))
    request = YankRequest(name=name, version=version, reason="broken", issued_at=statement.issued_at, signature=sign(statement, account))
    assert (await call(nc, rpc_subject("registry", "yank"), request, YankReply)).changed


async def test_a_second_registry_imports_an_export_under_the_original_publishers(nats_server, other_nats, tmp_path, dev_key, alice, caplog):
    caplog.set_level(logging.INFO, logger="plugyard.registry.sources")
    plugins, work, export = tmp_path / "plugins", tmp_path / "work", tmp_path / "export"
    for name in ("textkit", "summarizer", "notes"):
        copy_example(name, plugins)
    first, second = tmp_path / "data", tmp_path / "data-second"
    write_sources(first, f'[[source]]\nkind = "directory"\npath = "{plugins}"\nkey = "dev.key"\n')

    async with running_registry(nats_server.url, first) as nc:
        for name in ("plugyard-notes", "plugyard-summarizer", "plugyard-textkit"):
            await eventually(lambda: versions_of(nc, name), what=f"{name} published")
        await publish(nc, release_of(make_plugin(work, "alice-tool"), work), alice)
        await publish(nc, release_of(make_plugin(work, "yank-me"), work), alice)
        await yank(nc, "yank-me", "1.0.0", alice)
        code, out, err = await run_cli(nats_server.url, "registry", "export", str(export), "--json")
        assert code == 0, err
        assert json.loads(out) == {"directory": str(export), "versions": 5, "archives_written": 5, "archives_kept": 0, "missing": []}
        index = ExportIndex.model_validate_json((export / "index.json").read_text())
        assert [e.name for e in index.entries][-2:] == ["alice-tool", "yank-me"] and index.entries[-1].yanked
        textkit_cid = (await info(nc, "plugyard-textkit")).versions[0].cid

        with ExportServer(export) as server:
            write_sources(second, f'[[source]]\nkind = "export"\nurl = "{server.url}"\ninterval = 1\n')
            async with running_registry(other_nats.url, second) as other:
                await eventually(lambda: versions_of(other, "alice-tool"), what="the export imported")
                assert (await info(other, "alice-tool")).owners == [alice.address]
                imported_textkit = await info(other, "plugyard-textkit")
                assert imported_textkit.owners == [dev_key.address] and imported_textkit.versions[0].cid == textkit_cid
                assert await has_artifact(other.jetstream(), textkit_cid)
                assert await versions_of(other, "plugyard-notes") == ["0.2.0"]
                assert await info(other, "yank-me") is None
                assert any("yank-me 1.0.0" in line and "yanked there" in line for line in source_lines(caplog))

                await eventually(lambda: _answered(server, 304), what="a conditional poll answered 304")
                archive_requests = [path for path, _ in server.seen if path.startswith("/archives/")]
                assert len(archive_requests) == 4  # the yanked one is never fetched, nothing is fetched twice

                await publish(nc, release_of(make_plugin(work, "alice-tool", "1.1.0"), work), alice)
                code, out, err = await run_cli(nats_server.url, "registry", "export", str(export), "--json")
                assert code == 0 and json.loads(out)["archives_kept"] == 5 and json.loads(out)["archives_written"] == 1, err
                await eventually(lambda: _has(other, "alice-tool", "1.1.0"), what="a new version imported at the next poll")


async def _answered(server: ExportServer, status: int) -> bool:
    return ("/index.json", status) in server.seen


async def _has(nc, name: str, version: str) -> bool:
    return version in await versions_of(nc, name)


async def test_an_export_leaves_out_versions_whose_archive_is_gone_and_says_so(nats_server, tmp_path, alice):
    from plugyard_core.artifact_store import artifact_store

    work, export = tmp_path / "work", tmp_path / "export"
    async with running_registry(nats_server.url, tmp_path / "data") as nc:
        kept = await publish(nc, release_of(make_plugin(work, "kept"), work), alice)
        lost = await publish(nc, release_of(make_plugin(work, "lost"), work), alice)
        await (await artifact_store(nc.jetstream())).delete(lost.cid)
        code, out, err = await run_cli(nats_server.url, "registry", "export", str(export), "--json")
    assert code == 1 and json.loads(out)["missing"] and json.loads(out)["versions"] == 1
    assert err.count("\n") == 1 and "1 version(s) left out of the export: lost 1.0.0" in err
    index = ExportIndex.model_validate_json((export / "index.json").read_text())
    assert [entry.cid for entry in index.entries] == [kept.cid]
    assert sorted(p.name for p in (export / "archives").iterdir()) == [f"{kept.cid}.tar.gz"]
