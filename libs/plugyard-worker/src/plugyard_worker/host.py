"""Host side: start a worker for one plugin and talk to it over its two pipes, with asyncio.

Everything the worker sends is untrusted (the plugin runs in that process and can write to the event pipe
itself): frames are checked for size and nesting depth before they are decoded (frames.py: a deep one would
overflow this process's C stack), then validated, and anything malformed ends the worker. The worker's stdout
and stderr are /dev/null: what a plugin prints reaches the host as rate-limited log frames, and output written
straight to fd 1 or 2 costs the host nothing.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from plugyard_sandbox.spec import SandboxSpec
from plugyard_worker.frames import FrameDecoder, FrameError, encode
from plugyard_worker.runtime import BOOTSTRAP, bootstrap_path

log = logging.getLogger(__name__)

EXIT_GRACE = 1.0  # after the process ends, how long its last frames may take to arrive
MAX_STACK_FRAMES = 64  # of a slow call's reported stack
MAX_FRAME_TEXT = 500  # characters of one "file:line function" entry
OnEvent = Callable[[dict[str, Any]], None]


class WorkerStartError(Exception):
    """The worker did not become ready; the message says why (its fatal message, exit code or the timeout)."""


class WorkerCallError(Exception):
    """The call reached the plugin and failed: `code`, `message` and `details` as the plugin (or SDK) gave them."""

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details = details or {}


class CallTimeout(Exception):
    """No answer within the call's time (the worker keeps running; a late answer is dropped)."""


class WorkerGone(Exception):
    """The worker exited (or is stopping) with the call in flight or before it could be sent."""


class _EventPipe(asyncio.Protocol):
    def __init__(self, handle: WorkerHandle) -> None:
        self._handle = handle

    def data_received(self, data: bytes) -> None:
        self._handle._on_data(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self._handle._pipe_closed.set()


class WorkerHandle:
    def __init__(self, process: asyncio.subprocess.Process, on_event: OnEvent | None) -> None:
        self._process = process
        self._on_event = on_event
        self.pid: int = process.pid
        self.started_at = time.monotonic()
        self.spawned_at = time.time()  # wall clock, for telemetry
        self.startup_ms: float | None = None  # spawn to ready, once ready
        self.actions: list[dict[str, Any]] = []
        self.layers: dict[str, str] = {}
        self.returncode: int | None = None
        self.exited = asyncio.Event()
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future] = {}
        self._actions: dict[int, str] = {}  # by call id, until its answer comes (even one that comes after the timeout)
        self._decoder = FrameDecoder()
        self._broken = False
        self._stopping = False
        self._fatal: str | None = None
        self._ready: asyncio.Future = asyncio.get_running_loop().create_future()
        self._ready.add_done_callback(lambda f: f.cancelled() or f.exception())  # retrieved even when nobody waits
        self._pipe_closed = asyncio.Event()
        self._commands: asyncio.WriteTransport | None = None
        self._events: asyncio.ReadTransport | None = None
        self._watcher: asyncio.Task | None = None  # held: the loop keeps only weak references to tasks

    @classmethod
    async def start(
        cls, spec: SandboxSpec, *, entry: str, sys_path: Sequence[str], library_paths: Sequence[str] = (),
        context: dict[str, Any] | None = None, python: str = sys.executable, on_event: OnEvent | None = None,
        start_timeout: float = 15.0, call_budget_ms: float | None = None,
    ) -> WorkerHandle:
        """Spawn the worker, send it the start frame and wait for ready; WorkerStartError if it does not come up.

        A call running past `call_budget_ms` has its stack sampled by the worker, reported in a `call_report` event.
        """
        loop = asyncio.get_running_loop()
        try:
            start_frame = encode({
                "op": "start", "spec": spec.to_dict(), "entry": entry, "library_paths": list(library_paths), "context": context or {},
                **({"call_budget_ms": call_budget_ms} if call_budget_ms is not None else {}),
            })
        except FrameError as exc:
            raise WorkerStartError(f"cannot send the start frame: {exc}") from None
        try:
            path = bootstrap_path(list(sys_path))
        except ValueError as exc:
            raise WorkerStartError(f"cannot start the worker: {exc}") from None
        cmd_read, cmd_write = os.pipe()
        evt_read, evt_write = os.pipe()
        spawning = time.monotonic()
        try:
            process = await asyncio.create_subprocess_exec(
                python, "-I", "-S", "-c", BOOTSTRAP, path, str(cmd_read), str(evt_write),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                pass_fds=(cmd_read, evt_write), env=dict(spec.env), cwd=spec.state_dir, start_new_session=True,
            )
        except OSError as exc:
            os.close(cmd_write)
            os.close(evt_read)
            raise WorkerStartError(f"cannot spawn the worker: {exc}") from None
        finally:
            os.close(cmd_read)
            os.close(evt_write)
        events, commands = os.fdopen(evt_read, "rb", buffering=0), os.fdopen(cmd_write, "wb", buffering=0)
        handle = cls(process, on_event)
        handle._watcher = loop.create_task(handle._watch(), name=f"plugyard-worker-{handle.pid}")
        try:
            handle._events, _ = await loop.connect_read_pipe(lambda: _EventPipe(handle), events)
            handle._commands, _ = await loop.connect_write_pipe(asyncio.BaseProtocol, commands)
            handle._commands.write(start_frame)
            await asyncio.wait_for(asyncio.shield(handle._ready), start_timeout)
            handle.startup_ms = (time.monotonic() - spawning) * 1000
        except asyncio.TimeoutError:
            handle.kill()
            await handle.exited.wait()
            raise WorkerStartError(f"{spec.plugin} {spec.version}: the worker was not ready within {start_timeout:g} s") from None
        except BaseException:  # WorkerStartError, or the caller gave up: leave no worker behind
            handle.kill()
            await asyncio.shield(handle.exited.wait())
            raise
        return handle

    @property
    def in_flight(self) -> int:
        return len(self._pending)

    async def call(self, action: str, args: dict[str, Any], timeout: float) -> Any:
        """The action's result; WorkerCallError (the plugin's typed error), CallTimeout or WorkerGone."""
        if self.returncode is not None or self._stopping or self._commands is None or self._commands.is_closing():
            raise WorkerGone(f"worker {self.pid} is {'stopping' if self.returncode is None else 'gone'}")
        call_id = next(self._ids)
        try:
            frame = encode({"op": "call", "id": call_id, "action": action, "args": args})
        except FrameError as exc:
            raise WorkerCallError("invalid_arguments", f"{action}: arguments {exc}") from None
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._pending[call_id] = future
        self._actions[call_id] = action
        # A timer on the future itself: asyncio.wait_for would wrap every call in more futures and callbacks.
        timer = loop.call_later(timeout, _time_out, future, action, timeout)
        try:
            self._commands.write(frame)
            return await future
        finally:
            timer.cancel()
            self._pending.pop(call_id, None)

    async def stop(self, drain_timeout: float = 5.0) -> None:
        """Ask the worker to finish its calls, run teardown and exit; SIGKILL it if that takes over `drain_timeout`."""
        if self.returncode is None and not self._stopping:
            self._stopping = True
            if self._commands is not None and not self._commands.is_closing():
                self._commands.write(encode({"op": "stop"}))
        try:
            await asyncio.wait_for(asyncio.shield(self.exited.wait()), drain_timeout)
        except asyncio.TimeoutError:
            log.warning("worker %s did not drain within %g s: killing it", self.pid, drain_timeout)
            self.kill()
            await self.exited.wait()

    def kill(self) -> None:
        """SIGKILL the worker and whatever it started in its session."""
        if self._process.returncode is not None:
            return
        try:
            os.killpg(self.pid, signal.SIGKILL)  # start_new_session: its process group id is its pid
        except OSError:
            try:
                self._process.kill()
            except ProcessLookupError:
                pass

    # --- the event pipe ---------------------------------------------------------------------------------------------

    def _on_data(self, data: bytes) -> None:
        if self._broken:
            return
        try:
            for message in self._decoder.feed(data):
                self._dispatch(message)
        except FrameError as exc:
            self._protocol_error(str(exc))

    def _dispatch(self, message: dict[str, Any]) -> None:
        op = message.get("op")
        if op == "result":
            self._on_result(message)
        elif op == "log":
            self._emit({"op": "log", "level": _text(message, "level"), "logger": _text(message, "logger"), "message": _text(message, "message")})
        elif op == "violation":
            self._emit({"op": "violation", "permission": _text(message, "permission"), "target": _text(message, "target"), "detail": _text(message, "detail")})
        elif op == "ready":
            actions, layers = message.get("actions"), message.get("layers")
            if not isinstance(actions, list) or not all(isinstance(a, dict) and isinstance(a.get("name"), str) for a in actions) or not isinstance(layers, dict):
                raise FrameError("malformed ready frame")
            if not self._ready.done():
                self.actions = actions
                self.layers = {str(k): str(v) for k, v in layers.items()}
                self._ready.set_result(None)
        elif op == "fatal":
            self._fatal = _text(message, "message")
            if not self._ready.done():
                self._ready.set_exception(WorkerStartError(self._fatal))
            self._emit({"op": "fatal", "message": self._fatal})
        else:
            raise FrameError(f"unknown op {op!r}")

    def _on_result(self, message: dict[str, Any]) -> None:
        call_id = message.get("id")
        if not isinstance(call_id, int) or not isinstance(message.get("ok"), bool):
            raise FrameError("malformed result frame")
        if message["ok"]:
            outcome: Any = message.get("result")
        else:
            error = message.get("error")
            if not isinstance(error, dict):
                raise FrameError("malformed error in a result frame")
            details = error.get("details")
            outcome = WorkerCallError(_text(error, "code") or "plugin_error", _text(error, "message"), details if isinstance(details, dict) else None)
        action = self._actions.pop(call_id, None)
        if action is not None:
            self._report(action, message)
        future = self._pending.get(call_id)
        if future is None or future.done():
            return  # the call timed out: its late answer has nobody to go to
        if isinstance(outcome, WorkerCallError):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)

    def _report(self, action: str, message: dict[str, Any]) -> None:
        """Emit what the worker measured of the call, when it says anything well-formed (dropped otherwise)."""
        cpu_ms, slow = _number(message.get("cpu_ms")), _slow_call(message.get("slow"))
        if cpu_ms is not None or slow is not None:
            self._emit({"op": "call_report", "pid": self.pid, "action": action, "cpu_ms": cpu_ms, "slow": slow})

    def _protocol_error(self, why: str) -> None:
        self._broken = True
        log.error("worker %s broke the protocol (%s): killing it", self.pid, why)
        self._emit({"op": "protocol_error", "message": why})
        self.kill()

    def _emit(self, event: dict[str, Any]) -> None:
        if self._on_event is None:
            return
        try:
            self._on_event(event)
        except Exception:
            log.exception("on_event failed for %s", event.get("op"))

    # --- exit -------------------------------------------------------------------------------------------------------

    async def _watch(self) -> None:
        returncode = await self._process.wait()
        try:
            await asyncio.wait_for(self._pipe_closed.wait(), EXIT_GRACE)
        except asyncio.TimeoutError:
            pass  # a process it forked holds the pipe open: stop listening anyway
        self.returncode = returncode
        for transport in (self._events, self._commands):
            if transport is not None:
                transport.close()
        gone = f"worker {self.pid} exited with code {returncode}"
        for future in self._pending.values():
            if not future.done():
                future.set_exception(WorkerGone(gone))
        if not self._ready.done():
            self._ready.set_exception(WorkerStartError(self._fatal or f"the worker exited with code {returncode} before it was ready"))
        self.exited.set()
        self._emit({"op": "exit", "returncode": returncode})


def _time_out(future: asyncio.Future, action: str, timeout: float) -> None:
    if not future.done():
        future.set_exception(CallTimeout(f"{action} did not answer within {timeout:g} s"))


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        return None
    return float(value)


def _slow_call(value: Any) -> dict[str, Any] | None:
    """elapsed_ms, budget_ms, stack (strings, innermost last) and samples of a slow call's report, if well-formed."""
    if not isinstance(value, dict):
        return None
    elapsed_ms, budget_ms, stack, samples = _number(value.get("elapsed_ms")), _number(value.get("budget_ms")), value.get("stack"), value.get("samples")
    if elapsed_ms is None or budget_ms is None or not isinstance(stack, list) or not isinstance(samples, int) or isinstance(samples, bool) or samples < 0:
        return None
    if not all(isinstance(entry, str) for entry in stack):
        return None
    return {
        "elapsed_ms": elapsed_ms, "budget_ms": budget_ms, "samples": samples,
        "stack": [entry[:MAX_FRAME_TEXT] for entry in stack[-MAX_STACK_FRAMES:]],
    }


def _text(message: dict[str, Any], key: str) -> str:
    value = message.get(key, "")
    return value if isinstance(value, str) else str(value)
