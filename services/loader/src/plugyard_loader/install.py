"""`install`: resolve through the registry, ask the marketplace whether priced versions are paid for (see
`plugyard_loader.paid`), fetch each archive by CID, verify it again, unpack it into the cache.

The loader trusts nothing the registry says about the bytes: it recomputes the CID and sha256, reads the
manifest from the archive and checks the publisher's signature over the release statement itself. Bytes in the
object store that are not their CID's content are refused and recorded (`PluginFailed`).
"""

from __future__ import annotations

import asyncio
import compileall
import hashlib
import logging
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from nats.aio.client import Client

from plugyard_artifacts.release import ReleaseRefused, inspect_archive
from plugyard_artifacts.signing import ReleaseStatement, SignatureRefused, verify
from plugyard_artifacts.unpack import UnsafeArchive, safe_unpack
from plugyard_core.artifact_store import ArtifactError, ArtifactMismatch, get_verified_artifact
from plugyard_core.rpc import RpcError, call
from plugyard_core.streams import rpc_subject
from plugyard_loader.cache import CachedVersion, PluginCache
from plugyard_loader.paid import MarketplaceGate
from plugyard_schemas.loader import InstalledVersion
from plugyard_schemas.registry import InfoReply, InfoRequest, ResolveReply, ResolveRequest, VersionInfo

log = logging.getLogger("plugyard.loader.install")

INSTALLABLE = ("cleared", "warned")
REGISTRY_TIMEOUT_S = 30.0
DEPENDENCY_INSTALL_TIMEOUT_S = 600.0


class InstallRefused(RpcError):
    def __init__(self, message: str) -> None:
        super().__init__("refused", message)


async def version_info(nc: Client, name: str, version: str) -> VersionInfo:
    reply = await call(nc, rpc_subject("registry", "info"), InfoRequest(name=name, version=version), InfoReply, timeout=REGISTRY_TIMEOUT_S)
    for info in reply.versions:
        if info.version == version:
            return info
    raise RpcError("not_found", f"the registry has no {name} {version}")


def check_installable(name: str, info: VersionInfo) -> None:
    if info.status not in INSTALLABLE:
        reason = f": {info.status_reason}" if info.status_reason else ""
        raise InstallRefused(f"{name} {info.version} is {info.status}{reason}; only cleared or warned versions install")


def verify_release(name: str, info: VersionInfo, data: bytes) -> None:
    """The archive is what the registry recorded and what the publisher signed; raise InstallRefused otherwise."""
    try:
        release = inspect_archive(data, expected_cid=info.cid)
    except (ReleaseRefused, ValueError) as exc:
        raise InstallRefused(f"{name} {info.version}: {exc}") from None
    checks = [
        (hashlib.sha256(data).hexdigest() == info.sha256, "its sha256 differs from the registry's record"),
        (release.name == name and release.version == info.version, f"its manifest says {release.name} {release.version}"),
        (release.manifest_sha256 == info.manifest_sha256, "its plugin.toml differs from the one the publisher signed"),
    ]
    for ok, problem in checks:
        if not ok:
            raise InstallRefused(f"{name} {info.version}: {problem}")
    statement = ReleaseStatement(name=release.name, version=release.version, cid=release.cid, manifest_sha256=release.manifest_sha256)
    try:
        verify(statement, info.signature, [info.publisher])
    except SignatureRefused as exc:
        raise InstallRefused(f"{name} {info.version}: the publisher's signature does not hold: {exc}") from None


def uv_binary() -> str | None:
    beside = Path(sys.executable).parent / "uv"
    return str(beside) if beside.exists() else shutil.which("uv")


async def install_dependencies(requirements: list[str], target: Path) -> None:
    """PyPI dependencies go into the version's own folder (`uv pip install --target`), never the host's environment."""
    uv = uv_binary()
    if uv is None:
        raise InstallRefused("the plugin has PyPI dependencies but 'uv' is not installed beside the loader")
    process = await asyncio.create_subprocess_exec(
        uv, "pip", "install", "--quiet", "--no-config", "--compile-bytecode", "--python", sys.executable, "--target", str(target), *requirements,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env={**os.environ, "UV_NO_PROGRESS": "1"},
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), DEPENDENCY_INSTALL_TIMEOUT_S)
    except asyncio.TimeoutError:
        process.kill()
        raise InstallRefused(f"installing {', '.join(requirements)} took over {DEPENDENCY_INSTALL_TIMEOUT_S:g} s") from None
    if process.returncode != 0:
        last = (output.decode(errors="replace").strip().splitlines() or ["no output"])[-1]
        raise InstallRefused(f"installing {', '.join(requirements)} failed: {last}")


class Installer:
    def __init__(
        self, nc: Client, cache: PluginCache, on_installed: Callable[[CachedVersion, str | None], None],
        on_refused: Callable[[str, str, str], None] = lambda name, version, reason: None,
        installed_for: Callable[[str, str, str], bool] = lambda name, version, account: False,
    ) -> None:
        self.nc = nc
        self.cache = cache
        self.on_installed = on_installed  # (the cached version, the proven account or None)
        self.on_refused = on_refused  # (name, version, reason): archives that are not their CID's content
        self.installed_for = installed_for  # (name, version, account): this host already recorded that install
        self.marketplace = MarketplaceGate(nc)
        self._lock = asyncio.Lock()  # one install at a time: two installs of one version must not race in the cache

    async def install(self, requirements: list[str], account: str | None = None) -> list[InstalledVersion]:
        """`account`: the account the client proved (None: no proof); priced plugins install only if it is entitled."""
        async with self._lock:
            plan = await call(
                self.nc, rpc_subject("registry", "resolve"), ResolveRequest(requirements=requirements), ResolveReply, timeout=REGISTRY_TIMEOUT_S
            )
            infos = [(step.name, await version_info(self.nc, step.name, step.version)) for step in plan.install_order]
            for name, info in infos:  # refuse the whole plan before touching the cache
                check_installable(name, info)
            # Every version of the plan, cached or not: a copy already in this host's cache is no licence.
            checks = await asyncio.gather(*(self.marketplace.check(name, info.version, account) for name, info in infos), return_exceptions=True)
            for outcome in checks:
                if isinstance(outcome, BaseException):
                    raise outcome
            return [await self._install_one(name, info, account) for name, info in infos]

    async def _install_one(self, name: str, info: VersionInfo, account: str | None) -> InstalledVersion:
        cached = self.cache.get(name, info.version)
        if cached is not None and cached.record.get("cid") == info.cid:
            if account is not None and not self.installed_for(name, info.version, account):
                self.on_installed(cached, account)  # installed (again) for an account not yet recorded here
            return self._reply(cached, info, newly=False)
        try:
            data = await get_verified_artifact(self.nc.jetstream(), info.cid)
        except ArtifactMismatch as exc:
            log.error("ARCHIVE MISMATCH, %s %s not installed: %s", name, info.version, exc)
            self.on_refused(name, info.version, f"install refused: {exc}")
            raise InstallRefused(f"{name} {info.version}: {exc}") from None
        except ArtifactError as exc:
            raise InstallRefused(f"{name} {info.version}: {exc}") from None
        verify_release(name, info, data)
        staged = self.cache.staging_dir(name, info.version)
        try:
            try:
                safe_unpack(data, staged / "files")
            except UnsafeArchive as exc:
                raise InstallRefused(f"{name} {info.version}: {exc}") from None
            (staged / "deps").mkdir()
            if info.dependencies:
                await install_dependencies(info.dependencies, staged / "deps")
            # Workers cannot write bytecode into their read-only folders: compile once here, not on every cold start.
            await asyncio.to_thread(compileall.compile_dir, str(staged / "files"), quiet=1, workers=1)
            record = {
                "name": name, "version": info.version, "cid": info.cid, "sha256": info.sha256, "status": info.status,
                "publisher": info.publisher, "manifest": info.manifest, "dependencies": info.dependencies,
            }
            cached = self.cache.commit(staged, name, info.version, record)
        finally:
            shutil.rmtree(staged, ignore_errors=True)
        log.info("installed %s %s (%s)", name, info.version, info.cid)
        self.on_installed(cached, account)
        return self._reply(cached, info, newly=True)

    @staticmethod
    def _reply(cached: CachedVersion, info: VersionInfo, *, newly: bool) -> InstalledVersion:
        return InstalledVersion(
            name=cached.name, version=cached.version, cid=info.cid, status=info.status, path=str(cached.files),
            newly_installed=newly, dependencies=list(info.dependencies),
        )
