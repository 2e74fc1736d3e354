"""The worker: one plugin in one sandboxed process, serving calls from the host over two pipes.

Started by the host as `python -I -S -c BOOTSTRAP <sys.path> <cmd_fd> <evt_fd>` (see runtime.py).
Sequence: start frame → sandbox → audit hook → plugin import and setup → ready → calls until stop.
Imports stay lean (stdlib + plugyard_sdk + plugyard_sandbox): every one is paid on each cold start, so no
typing, json, logging, inspect or re here or in what is imported here (check with `python -I -S -X importtime`);
what only rare paths need is imported there.
"""

from __future__ import annotations

import os
import sys
from time import thread_time

from plugyard_sandbox.spec import SandboxSpec
from plugyard_sdk.actions import cached_actions
from plugyard_sdk.errors import PluginError
from plugyard_sdk.invoke import call_action, check_result
from plugyard_worker.audit import AuditReporter
from plugyard_worker.frames import FrameError, encode, read_frame
from plugyard_worker.output import EventWriter, LogLines, route_output
from plugyard_worker.pool import CallPool
from plugyard_worker.slowcalls import DEFAULT_BUDGET_MS, SlowCallSampler

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NoReturn

TRACEBACK_FRAMES = 5


def fatal(out: EventWriter, message: str) -> NoReturn:
    try:
        out.send({"op": "fatal", "message": message[:4096]})
    finally:
        os._exit(1)


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def apply_sandbox(spec: SandboxSpec, out: EventWriter) -> dict[str, str]:
    try:
        from plugyard_sandbox.apply import apply_sandbox as apply
        from plugyard_sandbox.errors import SandboxRefused
    except ImportError as exc:
        fatal(out, f"the sandbox cannot be applied: plugyard_sandbox is incomplete in the worker runtime ({describe(exc)})")
    try:
        layers = apply(spec)
    except SandboxRefused as exc:
        fatal(out, f"sandbox refused: {exc}")
    except Exception as exc:
        fatal(out, f"sandbox failed: {describe(exc)}")
    return {str(k): str(v) for k, v in (layers or {}).items()}


def load_plugin(entry: str, context: dict[str, Any], out: EventWriter) -> Any:
    module_name, _, attribute = entry.partition(":")
    if not module_name or not attribute:
        fatal(out, f"entry {entry!r} is not 'module:Class'")
    try:
        __import__(module_name)
        target: Any = sys.modules[module_name]
        for part in attribute.split("."):
            target = getattr(target, part)
    except BaseException as exc:  # a plugin module may raise anything while importing, SystemExit included
        fatal(out, f"cannot import entry {entry!r}: {describe(exc)}")
    try:
        plugin = target()
        setup = getattr(plugin, "setup", None)
        if callable(setup):
            setup(context)
    except BaseException as exc:
        fatal(out, f"{entry} setup failed: {describe(exc)}")
    return plugin


def error_reply(call_id: Any, exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, PluginError):
        error = exc.as_dict()
    else:
        frames = []
        tb = exc.__traceback__
        while tb is not None:
            code = tb.tb_frame.f_code
            frames.append(f"{code.co_filename}:{tb.tb_lineno} in {code.co_name}")
            tb = tb.tb_next
        error = {"code": "plugin_error", "message": describe(exc), "details": {"traceback": frames[-TRACEBACK_FRAMES:]}}
    return {"op": "result", "id": call_id, "ok": False, "error": error}


class Worker:
    def __init__(self, plugin: Any, out: EventWriter, lines: LogLines, budget_ms: float = DEFAULT_BUDGET_MS) -> None:
        self.plugin = plugin
        self.out = out
        self.lines = lines
        self.pool = CallPool(self.run_call)
        self.sampler = SlowCallSampler(budget_ms, outermost=Worker.run_call.__code__)

    def run_call(self, item: tuple[Any, str, Any]) -> None:
        call_id, action, args = item
        watched = self.sampler.begin()
        cpu = thread_time()
        try:
            result = call_action(self.plugin, action, args)
            reply = {"op": "result", "id": call_id, "ok": True, "result": result}
        except BaseException as exc:  # SystemExit from an action must not end the call thread silently
            reply = error_reply(call_id, exc)
        # The CPU time of the thread that ran the call: threads or processes the action starts are not in it.
        measured = {"cpu_ms": round((thread_time() - cpu) * 1000, 3)}
        slow = self.sampler.end(watched)
        if slow is not None:
            measured["slow"] = slow
        try:
            frame = encode({**reply, **measured})  # the result is checked to be JSON here, not encoded twice
        except FrameError as exc:
            frame = encode({**error_reply(call_id, self.encode_failure(action, reply, exc)), **measured})
        self.out.send_frame(frame)

    @staticmethod
    def encode_failure(action: str, reply: dict[str, Any], exc: FrameError) -> PluginError:
        """The SDK's InvalidResult when the result is not JSON (as invoke() words it), else the frame's own problem."""
        if reply["ok"]:
            try:
                check_result(action, reply["result"])
            except PluginError as invalid:
                return invalid
            except RecursionError:  # nested too deep for the SDK's check as well: the frame's own words below
                pass
        return PluginError(f"{action}: {exc}", code="invalid_result")

    def serve(self, cmd_fd: int) -> NoReturn:
        while True:
            try:
                message = read_frame(cmd_fd)
            except FrameError as exc:
                fatal(self.out, f"bad frame from the host: {exc}")
            if message is None:  # the host is gone: nobody to drain for
                self.exit(0, drain=False)
            op = message.get("op")
            if op == "call":
                self.pool.submit((message.get("id"), str(message.get("action")), message.get("args")))
            elif op == "stop":
                self.exit(0, drain=True)
            else:
                fatal(self.out, f"unknown op {op!r} from the host")

    def exit(self, code: int, *, drain: bool) -> NoReturn:
        if drain:
            self.pool.drain()
        teardown = getattr(self.plugin, "teardown", None)
        if callable(teardown):
            try:
                teardown()
            except BaseException as exc:
                self.lines.emit("ERROR", "plugyard.worker", f"teardown failed: {describe(exc)}")
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        self.lines.flush()
        # Not sys.exit: a thread the plugin started must not keep the process alive.
        os._exit(code)


def read_start(cmd_fd: int, out: EventWriter) -> tuple[SandboxSpec, str, list[str], dict[str, Any], float]:
    try:
        start = read_frame(cmd_fd)
    except FrameError as exc:
        fatal(out, f"bad start frame: {exc}")
    if start is None:
        os._exit(1)
    try:
        if start.get("op") != "start":
            raise ValueError(f"the first frame is {start.get('op')!r}, not 'start'")
        spec = SandboxSpec.from_dict(start["spec"])
        library_paths = [str(path) for path in start.get("library_paths") or ()]
        context = dict(start.get("context") or {})
        budget_ms = float(start.get("call_budget_ms", DEFAULT_BUDGET_MS))
        return spec, str(start["entry"]), library_paths, context, budget_ms
    except Exception as exc:
        fatal(out, f"bad start frame: {describe(exc)}")


def main() -> NoReturn:
    sys.dont_write_bytecode = True  # -I ignores PYTHONDONTWRITEBYTECODE; the plugin's folders are read-only
    cmd_fd, evt_fd = int(sys.argv[2]), int(sys.argv[3])
    out = EventWriter(evt_fd)
    spec, entry, library_paths, context, budget_ms = read_start(cmd_fd, out)
    layers = apply_sandbox(spec, out)
    reporter = AuditReporter(spec, lambda permission, target, detail: out.send(
        {"op": "violation", "permission": permission, "target": target, "detail": detail}))
    if spec.egress_socket:
        try:
            from plugyard_sandbox import egress_forward

            reporter.allow_local_port(egress_forward.start(spec.egress_socket, spec.network))
        except Exception as exc:
            fatal(out, f"the egress forwarder did not start: {describe(exc)}")
    reporter.install()
    lines = route_output(out)
    for path in [spec.plugin_dir, *library_paths]:  # after the stdlib: a plugin module cannot shadow what the worker imports
        if path not in sys.path:
            sys.path.append(path)
    reporter.arm()
    plugin = load_plugin(entry, context, out)
    try:
        actions = [
            {"name": a.name, "description": a.description, "parameters": list(a.parameters), "required": list(a.required)}
            for a in cached_actions(type(plugin)).values()
        ]
    except ValueError as exc:
        fatal(out, f"{entry}: {exc}")
    out.send({"op": "ready", "pid": os.getpid(), "actions": actions, "layers": layers})
    Worker(plugin, out, lines, budget_ms).serve(cmd_fd)
