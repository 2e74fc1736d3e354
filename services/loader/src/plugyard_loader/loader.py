"""The loader of one host: installs, loads, reloads and unloads plugins, routes invocations to their workers,
turns what workers report into events, and stops the versions the registry quarantines."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from nats.aio.client import Client

from plugyard_artifacts.manifest import MANIFEST_NAME, ManifestError, load_manifest
from plugyard_core.rpc import RpcError, call
from plugyard_core.streams import rpc_subject
from plugyard_loader.application import LoaderApplication
from plugyard_loader.bench import run_bench
from plugyard_loader.cache import CachedVersion, PluginCache
from plugyard_loader.install import INSTALLABLE, Installer, check_installable, version_info
from plugyard_loader.invocation import InvocationRouter
from plugyard_loader.loaded_list import LoadedList
from plugyard_loader.paid import ChallengeBook
from plugyard_loader.runner import CrashPolicy, PluginRunner, Target
from plugyard_loader.sandbox_plan import PlanError, drop_ids, plan_worker
from plugyard_loader.state_volume import StateVolumes, size_mb
from plugyard_loader.telemetry import ProcessSampler, call_budget_ms, now_iso, worker_sample
from plugyard_loader.violations import ViolationPolicy
from plugyard_sandbox.egress_proxy import EgressProxy
from plugyard_sandbox.errors import SandboxUnavailable
from plugyard_sandbox.probe import LayerProbe, probe_layers
from plugyard_sandbox.seccomp_filter import compile_filter
from plugyard_schemas.loader import (
    AccountProof,
    BenchReply,
    BenchRequest,
    ChallengeReply,
    InstalledVersion,
    PluginStatus,
    TelemetrySample,
)
from plugyard_schemas.registry import RuntimeQuarantineReply, RuntimeQuarantineRequest
from plugyard_worker.host import WorkerHandle, WorkerStartError
from plugyard_worker.runtime import runtime_read_dirs, stage_runtime

log = logging.getLogger("plugyard.loader")

BENCH_DRAIN_S = 2.0  # a bench worker's calls are the bench's own: nothing to let finish once it is over


class Loader:
    def __init__(self, app: LoaderApplication, cache: PluginCache, host: str) -> None:
        self.app = app
        self.cache = cache
        self.host = host
        self.runners: dict[str, PluginRunner] = {}
        self.policy = CrashPolicy.from_env()
        self.violation_policy = ViolationPolicy.from_env()
        self.sampler = ProcessSampler()
        self.call_budget_ms = call_budget_ms()
        self.loaded_list = LoadedList(cache.root / "loaded.json")
        self.layers: dict[str, LayerProbe] = {}
        self._seccomp: dict[tuple[bool, bool], str | None] = {}  # by (subprocess, native)
        self._proxies: dict[str, EgressProxy] = {}
        self._runtime_dirs: list[str] = []
        self.volumes = StateVolumes(cache.root / "volumes", size_mb())
        self._lock = asyncio.Lock()  # load / unload / reload of any plugin, one at a time
        self.nc: Client | None = None
        self.invocations: InvocationRouter | None = None
        self.installer: Installer | None = None
        self.challenges = ChallengeBook(host)
        self._background: set[asyncio.Task[None]] = set()
        self._benching: set[str] = set()  # plugins with a bench running here
        self._bench_workers: set[WorkerHandle] = set()

    # --- start and stop -------------------------------------------------------------------------------------------

    def prepare(self) -> None:
        """Probe the kernel's layers (loudly naming what is missing) and stage the worker runtime."""
        self.layers = probe_layers()
        for layer, probe in self.layers.items():
            if not probe.available:
                log.warning("SANDBOX LAYER MISSING on %s: %s (%s); plugins run without it unless PLUGYARD_SANDBOX_REQUIRE refuses them",
                            self.host, layer, probe.detail)
        self._runtime_dirs = [str(stage_runtime(self.cache.root)), *runtime_read_dirs()]
        self.volumes.release_stale(self.cache.root / "state")

    async def attach(self, nc: Client) -> None:
        self.nc = nc
        self.invocations = InvocationRouter(nc, self.runners)
        # One installer, so that its lock serializes every install.
        self.installer = Installer(nc, self.cache, self._installed, self.app.install_refused, self.app.installed_for)
        for name, version in self.loaded_list.entries().items():
            try:
                await self.load(name, version)
            except (RpcError, PlanError, WorkerStartError) as exc:
                log.error("could not load %s %s again after the loader's restart: %s", name, version, exc)

    async def close(self) -> None:
        try:
            for worker in list(self._bench_workers):
                worker.kill()
            for runner in list(self.runners.values()):
                await runner.stop("the loader is stopping")
            for proxy in self._proxies.values():
                await proxy.close()
        finally:  # even when stopping is cut short: a volume left mounted would outlive the loader
            self.volumes.release_all()

    def _bus(self) -> Client:
        if self.nc is None:
            raise RpcError("unavailable", "the loader is not connected to NATS yet")
        return self.nc

    # --- install --------------------------------------------------------------------------------------------------

    def challenge(self) -> ChallengeReply:
        """A fresh challenge for `install`'s account proof: single use, on this host only, for a short while."""
        return self.challenges.issue()

    async def install(self, requirements: list[str], proof: AccountProof | None = None) -> list[InstalledVersion]:
        if self.installer is None:
            raise RpcError("unavailable", "the loader is not connected to NATS yet")
        account = self.challenges.verify(proof) if proof is not None else None
        return await self.installer.install(requirements, account)

    def _installed(self, cached: CachedVersion, account: str | None) -> None:
        self.app.record(
            cached.name, "installed", version=cached.version, cid=cached.record["cid"], status=cached.record["status"], account=account,
        )

    # --- load, reload, unload -------------------------------------------------------------------------------------

    async def load(self, name: str, version: str | None = None, path: str | None = None) -> tuple[PluginStatus, bool]:
        async with self._lock:
            target = self._dev_target(path) if path else await self._installed_target(name, version)
            if path and target.name != name:
                raise RpcError("invalid_request", f"{path} holds plugin {target.name}, not {name}")
            runner = self.runners.get(name)
            if runner is not None and runner.state not in ("failed", "stopped"):
                if runner.target.version == target.version and runner.target.plugin_dir == target.plugin_dir:
                    return self.status(runner), False
                await self._start_or_reload(runner, target)
            else:
                runner = PluginRunner(target, host=self.host, start_worker=self._start_worker, record=self._recorder(name), policy=self.policy)
                self.runners[name] = runner
                try:
                    await runner.start()
                except WorkerStartError as exc:
                    del self.runners[name]
                    raise RpcError("refused", f"{name} {target.version} did not start: {exc}") from None
                await self.invocations.expose(name)  # type: ignore[union-attr]
            self._remember(runner)
            return self.status(runner), True

    async def reload(self, name: str, version: str | None = None) -> PluginStatus:
        async with self._lock:
            runner = self._runner(name)
            if runner.target.dev:
                target = self._dev_target(str(runner.target.plugin_dir))
            else:
                target = await self._installed_target(name, version or runner.target.version)
            await self._start_or_reload(runner, target)
            self._remember(runner)
            return self.status(runner)

    async def unload(self, name: str, reason: str = "unloaded by request") -> PluginStatus:
        async with self._lock:
            runner = self._runner(name)
            await self.invocations.hide(name)  # type: ignore[union-attr]
            await runner.stop(reason)
            del self.runners[name]
            proxy = self._proxies.pop(name, None)
            if proxy is not None:
                await proxy.close()
            self.volumes.release(name)
            self.loaded_list.forget(name)
            return self.status(runner)

    async def _start_or_reload(self, runner: PluginRunner, target: Target) -> None:
        try:
            if runner.state in ("failed", "stopped", "backoff"):
                runner.target = target
                await runner.start()
            else:
                await runner.reload(target)
        except WorkerStartError as exc:
            keeps = "; the previous worker keeps serving" if runner.current is not None else ""
            raise RpcError("refused", f"{target.name} {target.version} did not start: {exc}{keeps}") from None

    def _runner(self, name: str) -> PluginRunner:
        runner = self.runners.get(name)
        if runner is None:
            raise RpcError("not_found", f"{name} is not loaded on {self.host}")
        return runner

    def _remember(self, runner: PluginRunner) -> None:
        if not runner.target.dev:
            self.loaded_list.remember(runner.name, runner.target.version)

    async def _installed_target(self, name: str, version: str | None) -> Target:
        cached = self.cache.get(name, version) if version else self.cache.newest(name)
        if cached is None:
            wanted = f"{name}=={version}" if version else name
            raise RpcError("not_found", f"{wanted} is not installed on {self.host}: run 'plugyard install {wanted}'")
        # The verdict may have changed since the install: ask again, and refuse to run what is no longer installable.
        check_installable(name, await version_info(self._bus(), name, cached.version))
        return Target(name=name, version=cached.version, plugin_dir=cached.files, deps_dir=cached.deps, manifest=cached.manifest)

    @staticmethod
    def _dev_target(path: str) -> Target:
        folder = Path(path).resolve()
        try:
            manifest = load_manifest(folder / MANIFEST_NAME)
        except (ManifestError, OSError) as exc:
            raise RpcError("invalid_request", f"{folder}: {exc}") from None
        data = manifest.model_dump(mode="json", by_alias=True, exclude_none=True)
        return Target(name=manifest.plugin.name, version=manifest.plugin.version, plugin_dir=folder, deps_dir=None, manifest=data, dev=True)

    # --- bench ----------------------------------------------------------------------------------------------------

    async def bench(self, request: BenchRequest) -> BenchReply:
        """Two installed versions compared in temporary workers of their own (bench.py); one bench per plugin at a time."""
        name = request.name
        if request.version == request.against:
            raise RpcError("invalid_request", f"the version under test and the baseline are both {request.version}: a bench compares two versions")
        if name in self._benching:
            raise RpcError("conflict", f"a bench of {name} is already running on {self.host}: wait until it ends")
        self._benching.add(name)
        try:
            targets = {version: await self._bench_target(name, version) for version in (request.version, request.against)}
            return await run_bench(self.host, request, lambda version: self._bench_worker(targets[version]))
        finally:
            self._benching.discard(name)
            async with self._lock:  # a load may be mounting the same volume
                if name not in self.runners:
                    self.volumes.release(name)

    async def _bench_target(self, name: str, version: str) -> Target:
        if self.cache.get(name, version) is None:
            raise RpcError("invalid_request", f"{name}=={version} is not installed on host {self.host}: plugyard install {name}=={version} first")
        return await self._installed_target(name, version)

    @asynccontextmanager
    async def _bench_worker(self, target: Target) -> AsyncIterator[WorkerHandle]:
        """A worker started as a serving one is, beside the serving worker (which keeps its own egress proxy); stopped on exit."""
        proxy = None
        if target.manifest.get("permissions", {}).get("network"):
            proxy = await self._new_proxy(target, f"{target.name}@bench-{target.version}", serving=False)
        try:
            try:
                handle = await self._start_worker(target, serving=False, proxy=proxy)
            except WorkerStartError as exc:
                raise RpcError("refused", f"{target.name} {target.version} did not start for the bench: {exc}") from None
            self._bench_workers.add(handle)
            try:
                yield handle
            finally:
                self._bench_workers.discard(handle)
                await handle.stop(drain_timeout=BENCH_DRAIN_S)
        finally:
            if proxy is not None:
                await proxy.close()

    # --- workers --------------------------------------------------------------------------------------------------

    async def _start_worker(self, target: Target, *, serving: bool = True, proxy: EgressProxy | None = None) -> WorkerHandle:
        """A sandboxed worker of `target`. One that does not serve (a bench's) goes out through the `proxy` given, and
        what it reports counts for no runner."""
        permissions = target.manifest.get("permissions", {})
        egress = None
        if permissions.get("network"):
            egress = proxy.socket_path if proxy is not None else await self._egress_for(target)
        disk = self.volumes.ensure(target.name, self.cache.root / "state" / target.name, *drop_ids(target.name))
        try:
            plan = plan_worker(
                self.cache, name=target.name, version=target.version, plugin_dir=target.plugin_dir, deps_dir=target.deps_dir,
                manifest=target.manifest, runtime_dirs=self._runtime_dirs,
                seccomp_bpf=self._seccomp_for(bool(permissions.get("subprocess")), bool(permissions.get("native"))),
                egress_socket=egress,
            )
        except PlanError as exc:
            raise WorkerStartError(str(exc)) from None
        context = {"name": target.name, "version": target.version, "host": self.host, "state_dir": plan.spec.state_dir, "dev": target.dev}
        handle = await WorkerHandle.start(
            plan.spec, entry=plan.entry, sys_path=[self._runtime_dirs[0]], library_paths=plan.library_paths, context=context,
            on_event=lambda frame: self._on_frame(target, frame, serving), call_budget_ms=self.call_budget_ms,
        )
        handle.layers["disk"] = disk  # the quota is the host's doing, beside the layers the worker applied
        missing = {layer: state for layer, state in handle.layers.items() if state != "active"}
        if missing:
            log.warning("%s %s runs WITHOUT sandbox layers: %s", target.name, target.version, "; ".join(f"{k} ({v})" for k, v in missing.items()))
        return handle

    def _seccomp_for(self, subprocess: bool, native: bool) -> str | None:
        key = (subprocess, native)
        if key not in self._seccomp:
            try:
                self._seccomp[key] = compile_filter(subprocess=subprocess, native=native)
            except SandboxUnavailable as exc:
                log.warning("SANDBOX LAYER MISSING: seccomp filter cannot be compiled: %s", exc)
                self._seccomp[key] = None
        return self._seccomp[key]

    async def _egress_for(self, target: Target) -> str:
        """The host-side proxy that is a networked plugin's only way out of its namespace (one per plugin)."""
        allowed = frozenset(target.manifest["permissions"]["network"])
        proxy = self._proxies.get(target.name)
        if proxy is not None and proxy.allowed == allowed:
            return proxy.socket_path
        if proxy is not None:
            await proxy.close()
        proxy = self._proxies[target.name] = await self._new_proxy(target, target.name, serving=True)
        return proxy.socket_path

    async def _new_proxy(self, target: Target, key: str, *, serving: bool) -> EgressProxy:
        allowed = frozenset(target.manifest["permissions"]["network"])
        # Unix socket paths are limited to 107 bytes, so the socket lives in a short folder of its own.
        digest = hashlib.sha256(f"{self.cache.root}/{key}".encode()).hexdigest()[:16]
        socket_path = str(Path(tempfile.gettempdir()) / "plugyard-egress" / f"{digest}.sock")
        proxy = EgressProxy(socket_path, allowed, on_denied=lambda where, why: self._on_frame(
            target, {"op": "violation", "permission": "network", "target": where, "detail": why}, serving))
        await proxy.start()
        return proxy

    def _on_frame(self, target: Target, frame: dict[str, Any], serving: bool = True) -> None:
        op = frame.get("op")
        if op == "log":
            level = logging.getLevelName(str(frame.get("level", "INFO")))
            logging.getLogger(f"plugyard.plugin.{target.name}").log(level if isinstance(level, int) else logging.INFO, "%s", frame.get("message", ""))
        elif op == "violation":
            self._violation(target, str(frame.get("permission", "?")), str(frame.get("target", "?")), str(frame.get("detail", "")), serving)
        elif op == "call_report" and serving:
            runner = self.runners.get(target.name)
            if runner is not None:
                runner.call_reported(frame["pid"], frame["action"], frame["cpu_ms"], frame["slow"], now_iso())
        elif op == "protocol_error":
            log.error("%s %s broke the worker protocol: %s", target.name, target.version, frame.get("message"))

    def _violation(self, target: Target, permission: str, where: str, detail: str, serving: bool = True) -> None:
        """Recorded and judged by the policy whichever worker attempted it; counted in `ps` only for the serving one."""
        runner = self.runners.get(target.name)
        count = self.app.violations(target.name, target.version) + 1
        if runner is not None and serving:
            runner.violations += 1
        self.app.record(target.name, "violation", version=target.version, permission=permission, target=where, detail=detail, count=count)
        log.warning("%s %s attempted %s %s (violation %d)", target.name, target.version, permission, where, count)
        if not target.dev and self.violation_policy.quarantines_at(count):
            task = asyncio.get_running_loop().create_task(self._quarantine(target, count, permission, where))
            self._background.add(task)  # the loop keeps only a weak reference to a task
            task.add_done_callback(self._background.discard)

    async def _quarantine(self, target: Target, count: int, permission: str, where: str) -> None:
        reason = f"{count} permission violations at run time on {self.host} (latest: {permission} {where})"
        try:
            reply = await call(self._bus(), rpc_subject("registry", "runtime-quarantine"),
                               RuntimeQuarantineRequest(name=target.name, version=target.version, host=self.host, reason=reason),
                               RuntimeQuarantineReply, timeout=10.0)
            log.error("%s %s quarantined by this loader's violation policy: %s (changed=%s)", target.name, target.version, reason, reply.changed)
        except RpcError as exc:
            log.error("could not quarantine %s %s through the registry: %s; stopping it here", target.name, target.version, exc.message)
            await self._stop_version(target.name, target.version, f"stopped after {reason}")

    async def on_quarantined(self, name: str, version: str, reason: str) -> None:
        """A version was quarantined: stop its workers here, unless the registry has cleared it again since (an old
        quarantine consumed after a restart must not stop what a person cleared). No answer from the registry: stop."""
        runner = self.runners.get(name)
        if runner is None or runner.target.dev or runner.target.version != version:
            return
        try:
            if (await version_info(self._bus(), name, version)).status in INSTALLABLE:
                log.info("%s %s: an earlier quarantine, cleared since; left running", name, version)
                return
        except RpcError as exc:
            log.warning("could not ask the registry about %s %s (%s); stopping it", name, version, exc.message)
        await self._stop_version(name, version, f"quarantined: {reason}".strip())

    async def _stop_version(self, name: str, version: str, reason: str) -> None:
        runner = self.runners.get(name)
        if runner is None or runner.target.dev or runner.target.version != version:
            return
        try:
            await self.unload(name, reason)
        except RpcError:
            pass
        log.error("stopped %s %s: %s", name, version, reason)

    # --- status ---------------------------------------------------------------------------------------------------

    def status(self, runner: PluginRunner) -> PluginStatus:
        worker = runner.current
        usage = self.sampler.sample(worker.pid) if worker else None
        return runner.status(usage)

    def telemetry_sample(self, runner: PluginRunner) -> TelemetrySample | None:
        """The serving worker's sample (None when none serves, or it is gone)."""
        worker = runner.current
        usage = self.sampler.sample(worker.pid) if worker else None
        if worker is None or usage is None:
            return None
        proxy = self._proxies.get(runner.name)
        return worker_sample(
            host=self.host, name=runner.name, version=runner.target.version, pid=worker.pid, usage=usage,
            stats=runner.worker_stats(worker), spawned_at=worker.spawned_at, startup_ms=worker.startup_ms,
            egress=(proxy.traffic(worker.pid) or (0, 0)) if proxy is not None else None,
        )

    def statuses(self) -> list[PluginStatus]:
        return [self.status(runner) for _, runner in sorted(self.runners.items())]

    def _recorder(self, name: str):
        def record(what: str, version: str, fields: dict[str, Any]) -> None:
            self.app.record(name, what, version=version, **fields)
        return record
