"""A directory source: plugin folders are published with the dev key at start and again when they change; a
folder that cannot be published is one log line and the rest goes on."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from plugyard_core.artifact_store import has_artifact
from plugyard_core.rpc import call
from plugyard_core.streams import rpc_subject
from plugyard_registry.application import RegistryApplication
from plugyard_registry.handlers import RegistryContext
from plugyard_registry.sources_config import DirectorySource
from plugyard_registry.sources_directory import DirectorySourceRunner, changed_plugin_folders
from plugyard_schemas.rpc import HealthReply, HealthRequest
from tests.registry_sources.support import copy_example, eventually, info, running_registry, versions_of, write_sources

BROKEN_MANIFEST = '[plugin]\nname = "half-done"\nversion = "one"\n'


def source_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "plugyard.registry.sources"]


async def test_folders_are_published_at_start_and_when_they_change(nats_server, tmp_path, dev_key, caplog, monkeypatch):
    caplog.set_level(logging.INFO, logger="plugyard.registry.sources")
    monkeypatch.chdir(tmp_path)  # a relative data dir, as the default ./.plugyard is
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    textkit = copy_example("textkit", plugins)
    copy_example("summarizer", plugins)
    (plugins / "half-done").mkdir()
    (plugins / "half-done" / "plugin.toml").write_text(BROKEN_MANIFEST)
    (plugins / "notes-about-plugins").mkdir()  # no plugin.toml: not a plugin, not an error
    data = Path("data")
    write_sources(data, '[[source]]\nkind = "directory"\npath = "../plugins"\nkey = "dev.key"\ndebounce_ms = 200\n')

    async with running_registry(nats_server.url, data) as nc:
        for name in ("plugyard-summarizer", "plugyard-textkit"):
            await eventually(lambda: versions_of(nc, name), what=f"{name}, already there, published")
        described = await info(nc, "plugyard-textkit")
        assert described.owners == [dev_key.address] and [v.version for v in described.versions] == ["1.2.0"]
        assert await has_artifact(nc.jetstream(), described.versions[0].cid)
        assert any("half-done not published" in line and "plugin.version" in line for line in source_lines(caplog))
        assert not any("notes-about-plugins" in line for line in source_lines(caplog))

        copy_example("notes", plugins)
        await eventually(lambda: versions_of(nc, "plugyard-notes"), what="a new folder published")

        manifest = textkit / "plugin.toml"
        manifest.write_text(manifest.read_text().replace('version = "1.2.0"', 'version = "1.2.1"'))
        await eventually(lambda: _has(nc, "plugyard-textkit", "1.2.1"), what="a changed version published")

        (plugins / "half-done" / "plugin.toml").write_text(BROKEN_MANIFEST.replace("one", "0.1.0"))  # still no entry point
        await eventually(lambda: _logged(caplog, "half-done not published: "), what="the still broken folder logged again")
        health = await call(nc, rpc_subject("registry", "health"), HealthRequest(), HealthReply)
        assert health.healthy and health.details["plugins"] == 3 and health.details["versions"] == 4


async def _has(nc, name: str, version: str) -> bool:
    return version in await versions_of(nc, name)


async def _logged(caplog, text: str) -> bool:
    return sum(text in line for line in source_lines(caplog)) >= 2


@pytest.fixture
async def runner(nc, tmp_path, dev_key):
    app = RegistryApplication(data_dir=tmp_path / "data")
    source = DirectorySource(kind="directory", path=tmp_path / "plugins", key=tmp_path / "data" / "dev.key")
    yield DirectorySourceRunner(RegistryContext(app=app, nc=nc), source)
    app.close()


async def test_the_same_content_again_records_nothing_and_other_content_asks_for_a_new_version(runner, tmp_path, dev_key, caplog):
    caplog.set_level(logging.INFO, logger="plugyard.registry.sources")
    folder = copy_example("textkit", tmp_path / "plugins")
    app = runner.ctx.app
    assert await runner.publish_folder(folder, dev_key) is True
    recorded = app.recorder.max_notification_id()
    assert await runner.publish_folder(folder, dev_key) is False
    assert app.recorder.max_notification_id() == recorded

    (folder / "plugyard_textkit" / "__init__.py").write_text((folder / "plugyard_textkit" / "__init__.py").read_text() + "\n# edited\n")
    assert await runner.publish_folder(folder, dev_key) is None
    assert app.recorder.max_notification_id() == recorded
    assert "bump the version" in source_lines(caplog)[-1] and "plugyard-textkit 1.2.0" in source_lines(caplog)[-1]


async def test_a_name_owned_by_another_publisher_is_refused_before_anything_is_stored(runner, tmp_path, dev_key, caplog):
    from eth_account import Account

    folder = copy_example("summarizer", tmp_path / "plugins")
    assert await runner.publish_folder(folder, Account.create()) is True
    manifest = folder / "plugin.toml"
    manifest.write_text(manifest.read_text().replace('version = "0.3.1"', 'version = "0.3.2"'))
    assert await runner.publish_folder(folder, dev_key) is None
    assert "is owned here by" in source_lines(caplog)[-1]
    assert [v for v in runner.ctx.app.catalog.get("plugyard-summarizer").versions] == ["0.3.1"]


def test_changes_map_to_the_plugin_folders_that_hold_them(tmp_path):
    root = tmp_path / "plugins"
    for name in ("a", "b"):
        (root / name / "pkg").mkdir(parents=True)
        (root / name / "plugin.toml").write_text("")
    (root / "loose").mkdir()
    changed = {str(root / "a" / "pkg" / "x.py"), str(root / "a" / "plugin.toml"), str(root / "gone" / "plugin.toml"),
               str(root / "loose" / "file"), str(root / "top-level.txt"), str(tmp_path / "elsewhere")}
    assert changed_plugin_folders(root, changed) == [root / "a"]
