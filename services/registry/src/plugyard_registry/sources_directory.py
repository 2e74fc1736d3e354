"""A directory discovery source: every immediate sub-folder with a `plugin.toml` is packed, signed with the
source's key and published at start, then again whenever its files change.

A folder that cannot be published (broken manifest, a version already published with other content, a name
owned by someone else) is one log line; the watch goes on. Unchanged content publishes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
from pathlib import Path

from eth_account.signers.local import LocalAccount
from nats.aio.client import Client
from watchfiles import awatch

from plugyard_artifacts.keys import PASSPHRASE_ENV, KeyFileError, load_key
from plugyard_artifacts.manifest import MANIFEST_NAME, ManifestError
from plugyard_artifacts.pack import PackError, pack
from plugyard_artifacts.release import ReleaseRefused, inspect_archive
from plugyard_artifacts.signing import ReleaseStatement, sign
from plugyard_core.rpc import RpcError
from plugyard_registry.handlers import RegistryContext
from plugyard_registry.import_check import one_line
from plugyard_registry.local_publish import foreseeable_refusal, publish_release
from plugyard_registry.release import Release
from plugyard_registry.sources_config import DirectorySource

log = logging.getLogger("plugyard.registry.sources")

WATCH_TIMEOUT_MS = 1000


def plugin_folders(root: Path) -> list[Path]:
    return sorted(child for child in root.iterdir() if child.is_dir() and (child / MANIFEST_NAME).is_file())


def changed_plugin_folders(root: Path, changed_paths: set[str]) -> list[Path]:
    """The plugin folders under `root` that hold one of the changed paths (a deleted folder is no plugin)."""
    folders = set()
    for changed in changed_paths:
        try:
            relative = Path(changed).relative_to(root)
        except ValueError:
            continue
        if relative.parts:
            folder = root / relative.parts[0]
            if (folder / MANIFEST_NAME).is_file():
                folders.add(folder)
    return sorted(folders)


def packed_release(folder: Path) -> Release:
    with tempfile.TemporaryDirectory(prefix="plugyard-source-") as scratch:  # outside the watched tree
        packed = pack(folder, Path(scratch) / "release.tar.gz")
        return inspect_archive(packed.path.read_bytes())


class DirectorySourceRunner:
    def __init__(self, ctx: RegistryContext, source: DirectorySource) -> None:
        self.ctx = ctx
        self.source = source
        self.root = source.path.absolute()  # the watcher reports absolute paths; a data dir may be relative (./.plugyard)

    def say(self, message: str, *args: object, level: int = logging.WARNING) -> None:
        log.log(level, "registry: source %s: " + message, self.source.label, *args)

    def load_account(self) -> LocalAccount | None:
        try:
            return load_key(self.source.key, passphrase=os.environ.get(PASSPHRASE_ENV) or None)
        except (KeyFileError, ValueError) as exc:
            self.say("not started: %s", one_line(exc))
            return None

    async def publish_folder(self, folder: Path, account: LocalAccount) -> bool | None:
        """True when a new version was recorded, False when it was already here, None when it was not published."""
        try:
            release = await asyncio.to_thread(packed_release, folder)
        except (PackError, ManifestError, ReleaseRefused, OSError) as exc:
            self.say("%s not published: %s", folder.name, one_line(exc))
            return None
        refusal = await self.ctx.command(
            lambda: foreseeable_refusal(self.ctx.app.catalog, release.name, release.version, release.cid, account.address, release.sha256)
        )
        if refusal is not None:
            self.say("%s not published: %s%s", folder.name, refusal.message, self.hint(refusal.code))
            return None
        statement = ReleaseStatement(name=release.name, version=release.version, cid=release.cid, manifest_sha256=release.manifest_sha256)
        try:
            created = await publish_release(self.ctx, release, account.address, sign(statement, account))
        except RpcError as exc:
            self.say("%s not published: %s%s", folder.name, exc.message, self.hint(exc.code))
            return None
        except Exception as exc:  # NATS or the object store failing: the next change of the folder tries again
            self.say("%s not published: %s: %s", folder.name, type(exc).__name__, exc)
            return None
        if created:
            self.say("published %s %s (%s) from %s", release.name, release.version, release.cid, folder.name, level=logging.INFO)
        return created

    @staticmethod
    def hint(code: str) -> str:
        return ": bump the version in plugin.toml to publish the change" if code == "conflict" else ""

    async def run(self, nc: Client, stop: asyncio.Event) -> None:
        if not self.root.is_dir():
            self.say("not started: %s is not a directory", self.root)
            return
        account = await asyncio.to_thread(self.load_account)  # a keystore's scrypt takes about a second
        if account is None:
            return
        scanned = False
        try:
            # The first (possibly empty) batch arrives once the watcher runs; scanning only then misses no change.
            async for changes in awatch(
                self.root, stop_event=stop, debounce=self.source.debounce_ms, rust_timeout=WATCH_TIMEOUT_MS, yield_on_timeout=True
            ):
                if not scanned:
                    folders, scanned = plugin_folders(self.root), True
                else:
                    folders = changed_plugin_folders(self.root, {path for _, path in changes})
                for folder in folders:
                    if stop.is_set():
                        break
                    await self.publish_folder(folder, account)
        except Exception as exc:  # the watcher's own failures (watch limits, the directory removed): the registry goes on
            self.say("no longer watched: %s: %s", type(exc).__name__, exc)
