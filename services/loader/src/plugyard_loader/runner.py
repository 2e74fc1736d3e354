"""One loaded plugin on this host: its worker, calls routed to it, reloads without a failed call, crash recovery.

States: starting → running; reloading (a new worker is being started beside the serving one); backoff (the
worker crashed, a restart is scheduled); failed (too many crashes in the window: calls are refused until
`plugyard load` resets it); stopped.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import weakref
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plugyard_loader.stats import CallStats, WorkerStats
from plugyard_schemas.loader import PluginStatus, SlowCall
from plugyard_worker.host import CallTimeout, WorkerCallError, WorkerGone, WorkerHandle, WorkerStartError

log = logging.getLogger("plugyard.loader.runner")

UNKNOWN_ACTION = "<unknown>"
# A call that timed out may still be running in the worker, holding one of its threads: after this many, the
# worker is replaced (a reload: calls switch to a fresh worker, the stuck one is drained, then killed).
ABANDONED_LIMIT = 8
DRAIN_S = 5.0  # how long a retiring worker gets at least; longer while a call sent to it may still be within its timeout


@dataclass(frozen=True)
class Target:
    """What a runner runs: an installed version, or a local folder under `plugyard dev`."""

    name: str
    version: str
    plugin_dir: Path
    deps_dir: Path | None
    manifest: dict[str, Any]
    dev: bool = False


@dataclass(frozen=True)
class CrashPolicy:
    max_crashes: int = 5  # crashes within the window that open the circuit
    window_s: float = 60.0
    first_backoff_s: float = 0.5
    max_backoff_s: float = 30.0

    @classmethod
    def from_env(cls) -> CrashPolicy:
        return cls(
            max_crashes=int(os.environ.get("PLUGYARD_LOADER_MAX_CRASHES", cls.max_crashes)),
            window_s=float(os.environ.get("PLUGYARD_LOADER_CRASH_WINDOW_S", cls.window_s)),
            first_backoff_s=float(os.environ.get("PLUGYARD_LOADER_BACKOFF_S", cls.first_backoff_s)),
        )

    def backoff(self, crashes: int) -> float:
        return min(self.first_backoff_s * 2 ** max(crashes - 1, 0), self.max_backoff_s)


StartWorker = Callable[[Target], Awaitable[WorkerHandle]]
Record = Callable[[str, str, dict[str, Any]], None]  # (what, version, fields): an event in the plugin's history


def error_reply(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


class PluginRunner:
    def __init__(self, target: Target, *, host: str, start_worker: StartWorker, record: Record, policy: CrashPolicy) -> None:
        self.target = target
        self.host = host
        self._start_worker = start_worker
        self._record = record
        self.policy = policy
        self.state = "stopped"
        self.current: WorkerHandle | None = None
        self._retired: weakref.WeakSet[WorkerHandle] = weakref.WeakSet()  # stopped on purpose: their exit is not a crash
        self._serving = asyncio.Event()
        self._switch = asyncio.Lock()  # one start, reload or stop at a time
        self._crashes: deque[float] = deque()
        self._restart_task: asyncio.Task[None] | None = None
        self._watchers: set[asyncio.Task[None]] = set()
        self.restarts = 0
        self.violations = 0
        self.last_error: str | None = None
        self.stats = CallStats()  # since the plugin was loaded here, across its workers (for `ps`)
        self._worker_stats: weakref.WeakKeyDictionary[WorkerHandle, WorkerStats] = weakref.WeakKeyDictionary()
        self._action_names: frozenset[str] = frozenset()  # the serving worker's, so stats keep one entry per real action
        self._abandoned = 0  # calls of the serving worker that timed out
        # Deadlines of the calls each worker has in flight, so a retiring worker is drained until the last of them.
        self._deadlines: weakref.WeakKeyDictionary[WorkerHandle, dict[object, float]] = weakref.WeakKeyDictionary()
        self._recycling: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        return self.target.name

    # --- lifecycle --------------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the first worker (also resets a failed plugin); raise WorkerStartError if it does not come up."""
        async with self._switch:
            self._cancel_restart()
            self._crashes.clear()
            self.state = "starting"
            try:
                handle = await self._spawn(self.target)
            except WorkerStartError as exc:
                self.state, self.last_error = "stopped", str(exc)
                raise
            self._serve(handle)
            self._record("loaded", self.target.version, {"pid": handle.pid, "layers": handle.layers, "dev": self.target.dev})

    async def reload(self, target: Target | None = None) -> None:
        """Start the new worker, switch calls to it, then drain and stop the old one. A failed start leaves the old serving."""
        async with self._switch:
            new_target = target or self.target
            previous = self.current
            previous_version = self.target.version
            if self.state == "running":
                self.state = "reloading"
            try:
                handle = await self._spawn(new_target)
            except WorkerStartError as exc:
                self.last_error = str(exc)
                if self.state == "reloading":
                    self.state = "running"
                raise
            self.target = new_target
            self._cancel_restart()
            self._serve(handle)
            if previous is not None:
                await self._retire(previous)
            self._record("reloaded", new_target.version, {"previous_version": previous_version, "pid": handle.pid})

    async def stop(self, reason: str) -> None:
        async with self._switch:
            self._cancel_restart()
            self.state = "stopped"
            self._serving.clear()
            worker, self.current = self.current, None
            if worker is not None:
                await self._retire(worker)
            self._record("unloaded", self.target.version, {"reason": reason})

    async def _spawn(self, target: Target) -> WorkerHandle:
        handle = await self._start_worker(target)
        watcher = asyncio.get_running_loop().create_task(self._watch(handle), name=f"watch-{target.name}-{handle.pid}")
        self._watchers.add(watcher)  # the loop keeps only a weak reference to a task
        watcher.add_done_callback(self._watchers.discard)
        return handle

    def _serve(self, handle: WorkerHandle) -> None:
        self.current = handle
        self.worker_stats(handle)  # before its first call: the worker's report of a call arrives before the call's reply
        self._action_names = frozenset(a["name"] for a in handle.actions)
        self._abandoned = 0
        self.state = "running"
        self.last_error = None
        self._serving.set()

    async def _retire(self, worker: WorkerHandle) -> None:
        self._retired.add(worker)
        # Let every call it took finish within its own timeout, so that none is killed and sent again.
        remaining = max(self._deadlines.get(worker, {}).values(), default=0.0) - time.monotonic()
        await worker.stop(drain_timeout=max(DRAIN_S, remaining + 1.0))

    # --- crashes ----------------------------------------------------------------------------------------------

    async def _watch(self, handle: WorkerHandle) -> None:
        await handle.exited.wait()
        if handle in self._retired or handle is not self.current or self.state == "stopped":
            return
        self._serving.clear()
        self.current = None
        self._crashed(f"the worker exited with code {handle.returncode}", handle.returncode)

    def _crashed(self, reason: str, returncode: int | None = None, *, record_crash: bool = True) -> None:
        """Count a crash in the window; open the circuit at the policy's limit, else restart after the backoff."""
        now = time.monotonic()
        self._crashes.append(now)
        while now - self._crashes[0] > self.policy.window_s:
            self._crashes.popleft()
        crashes = len(self._crashes)
        self.last_error = reason
        delay = None if crashes >= self.policy.max_crashes else self.policy.backoff(crashes)
        if record_crash:
            self._record("crashed", self.target.version, {"returncode": returncode, "reason": reason, "restarts": self.restarts, "next_start_in_s": delay})
        if delay is None:
            self.state = "failed"
            self._record("failed", self.target.version, {
                "crashes": crashes, "window_s": self.policy.window_s, "reason": f"{crashes} crashes within {self.policy.window_s:g} s; last: {reason}",
            })
            log.error("%s failed: circuit open after %d crashes", self.name, crashes)
            return
        self.state = "backoff"
        self._restart_task = asyncio.get_running_loop().create_task(self._restart_after(delay))

    async def _restart_after(self, delay: float) -> None:
        await asyncio.sleep(delay)
        async with self._switch:
            if self.state != "backoff":
                return
            self.restarts += 1
            try:
                handle = await self._spawn(self.target)
            except WorkerStartError as exc:
                self._crashed(f"restart failed: {exc}", record_crash=False)  # a start that fails counts as a crash
                return
            self._serve(handle)
            self._record("loaded", self.target.version, {"pid": handle.pid, "layers": handle.layers, "dev": self.target.dev})

    async def _recycle(self) -> None:
        log.warning("%s: %d calls timed out and may still hold the worker's threads: replacing the worker", self.name, self._abandoned)
        try:
            await self.reload()
        except WorkerStartError as exc:
            log.error("%s: replacing a clogged worker failed: %s", self.name, exc)

    def _cancel_restart(self) -> None:
        if self._restart_task is not None and not self._restart_task.done():
            self._restart_task.cancel()
        self._restart_task = None

    # --- calls ------------------------------------------------------------------------------------------------

    async def invoke(self, action: str, args: dict[str, Any], timeout: float) -> dict[str, Any]:
        started = time.monotonic()
        deadline = started + timeout
        name = action if action in self._action_names else UNKNOWN_ACTION
        reply, worker = await self._invoke(action, args, deadline, timeout)
        elapsed_ms = (time.monotonic() - started) * 1000
        code = reply["error"]["code"] if "error" in reply else None
        self.stats.record(name, elapsed_ms, code)
        if worker is not None:  # a call no worker took (none running in time, circuit open) is in no worker's counts
            self.worker_stats(worker).calls.record(name, elapsed_ms, code)
        return reply

    def worker_stats(self, worker: WorkerHandle) -> WorkerStats:
        stats = self._worker_stats.get(worker)
        if stats is None:
            stats = self._worker_stats[worker] = WorkerStats()
        return stats

    def call_reported(self, pid: int, action: str, cpu_ms: float | None, slow: dict[str, Any] | None, at: str) -> None:
        """What a worker measured of one of its calls (it may arrive after the call timed out here)."""
        worker = next((w for w in self._worker_stats if w.pid == pid), None)
        if worker is None:
            return
        stats = self._worker_stats[worker]
        name = action if action in self._action_names else UNKNOWN_ACTION
        if cpu_ms is not None:
            stats.calls.add_cpu(name, cpu_ms)
        if slow is not None:
            try:
                stats.slow_calls.append(SlowCall(action=name, at=at, **slow))
            except (TypeError, ValueError) as exc:  # pydantic's ValidationError: the worker's own words, not to be trusted
                log.warning("%s: a malformed slow-call report from worker %s dropped: %s", self.name, pid, exc)

    async def _invoke(self, action: str, args: dict[str, Any], deadline: float, timeout: float) -> tuple[dict[str, Any], WorkerHandle | None]:
        """The reply, and the worker that took the call (None when none did)."""
        while True:
            if self.state == "failed":
                return error_reply("failed", f"{self.name} has failed ({self.last_error}); the circuit is open: run 'plugyard load {self.name}' to reset it"), None
            if self.state == "stopped":
                return error_reply("not_loaded", f"{self.name} is not loaded on {self.host}"), None
            worker = self.current
            if worker is not None and worker.exited.is_set():  # dead, and its watcher has not caught up yet
                self._serving.clear()
                worker = None
            if worker is None:  # starting, or backing off after a crash: wait for the worker, within the call's time
                try:
                    await asyncio.wait_for(self._serving.wait(), max(deadline - time.monotonic(), 0))
                except asyncio.TimeoutError:
                    return error_reply("timeout", f"{self.name} had no running worker within {timeout:g} s ({self.state}: {self.last_error})"), None
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return error_reply("timeout", f"{action} did not answer within {timeout:g} s"), None
            token = object()
            in_flight = self._deadlines.setdefault(worker, {})
            in_flight[token] = deadline
            try:
                return {"result": await worker.call(action, args, remaining)}, worker
            except WorkerCallError as exc:
                return error_reply(exc.code, exc.message, exc.details), worker
            except CallTimeout:
                if worker is self.current:
                    self._abandoned += 1
                    if self._abandoned >= ABANDONED_LIMIT and (self._recycling is None or self._recycling.done()):
                        self._recycling = asyncio.get_running_loop().create_task(self._recycle())
                return error_reply("timeout", f"{action} did not answer within {timeout:g} s; the call was abandoned"), worker
            except WorkerGone:
                if worker in self._retired:
                    continue  # a reload retired that worker before it took the call: the call never ran, send it to the new one
                return error_reply("crashed", f"the {self.name} worker died during the call (it will be restarted)"), worker
            finally:
                in_flight.pop(token, None)

    # --- status -----------------------------------------------------------------------------------------------

    def status(self, usage: dict[str, Any] | None = None) -> PluginStatus:
        worker = self.current
        usage = usage or {}
        return PluginStatus(
            name=self.name, version=self.target.version, host=self.host, state=self.state,  # type: ignore[arg-type]
            pid=worker.pid if worker else None,
            uptime_s=round(time.monotonic() - worker.started_at, 1) if worker else None,
            restarts=self.restarts, layers=dict(worker.layers) if worker else {},
            actions=[a["name"] for a in worker.actions] if worker else [],
            cpu_percent=usage.get("cpu_percent"), rss_bytes=usage.get("rss_bytes"),
            calls=self.stats.calls, errors=self.stats.errors, violations=self.violations, dev=self.target.dev, last_error=self.last_error,
        )
