"""Building, signing and publishing plugins in tests, the way the CLI does."""

from __future__ import annotations

import textwrap
from pathlib import Path

from plugyard_artifacts.pack import pack
from plugyard_artifacts.release import ArchiveRelease, inspect_archive
from plugyard_artifacts.signing import ReleaseStatement, sign
from plugyard_core.artifact_store import put_artifact
from plugyard_core.rpc import call
from plugyard_core.streams import rpc_subject
from plugyard_schemas.registry import PublishReply, PublishRequest


def make_plugin(root: Path, name: str, version: str = "1.0.0", *, requires: tuple[str, ...] = (), summary: str | None = None,
                keywords: tuple[str, ...] = (), extra: str = "") -> Path:
    directory = root / f"{name}-{version}"
    module = name.replace("-", "_")
    (directory / module).mkdir(parents=True)
    (directory / module / "__init__.py").write_text(f"class Plugin:\n    def hello(self, name):\n        return {{'greeting': 'Hello, ' + name + ' from {name}'}}\n{extra}")
    requires_toml = ", ".join(f'"{r}"' for r in requires)
    keywords_toml = ", ".join(f'"{k}"' for k in keywords)
    (directory / "plugin.toml").write_text(textwrap.dedent(f"""\
        [plugin]
        name = "{name}"
        version = "{version}"
        summary = "{summary or f'The {name} plugin'}"
        description = "A plugin used by the registry tests."
        authors = ["Test Author <test@example.org>"]
        license = "MIT"
        keywords = [{keywords_toml}]
        categories = ["testing"]
        entry = "{module}:Plugin"
        host = ">=1.0,<2"
        requires = [{requires_toml}]

        [permissions]
        """))
    return directory


def release_of(directory: Path, tmp: Path) -> ArchiveRelease:
    packed = pack(directory, tmp / f"{directory.name}.tar.gz")
    return inspect_archive(packed.path.read_bytes())


async def publish(nc, release: ArchiveRelease, account, *, signature: str | None = None, publisher: str | None = None) -> PublishReply:
    statement = ReleaseStatement(name=release.name, version=release.version, cid=release.cid, manifest_sha256=release.manifest_sha256)
    await put_artifact(nc.jetstream(), release.cid, release.data)
    request = PublishRequest(cid=release.cid, publisher=publisher or account.address, signature=signature or sign(statement, account))
    return await call(nc, rpc_subject("registry", "publish"), request, PublishReply, timeout=30)
