"""A plugin in a real worker process, through the host's asyncio handle: calls, errors, logs, crashes, stop."""

from __future__ import annotations

import asyncio
import math
import os
import time
from pathlib import Path

import pytest

from plugyard_worker.host import CallTimeout, WorkerCallError, WorkerGone, WorkerStartError
from plugyard_worker.output import LINES_PER_SECOND
from plugyard_worker.pool import MAX_THREADS

DEMO = """
class Demo(Plugin):
    def setup(self, context):
        self.context = dict(context)

    @action
    def echo(self, text: str, times: int = 1) -> dict:
        "Repeat text."
        return {"text": text * times, "context": self.context}

    @action
    def sleep(self, seconds: float) -> float:
        time.sleep(seconds)
        return seconds

    @action
    def refuse(self) -> None:
        raise PluginError("no quota left", code="quota", details={"left": 0})

    @action
    def explode(self) -> None:
        raise ValueError("boom")

    @action
    def crash(self, after: float = 0.0) -> None:
        time.sleep(after)
        os._exit(3)

    @action
    def chatter(self) -> str:
        log.info("info from the plugin")
        log.warning("warning from the plugin")
        print("printed line")
        print("to stderr", file=sys.stderr)
        return "ok"

    @action
    def flood(self) -> None:
        def forever():
            while True:
                print("spam " * 20)
                os.write(1, b"straight to fd 1\\n")
        threading.Thread(target=forever, daemon=True).start()

    @action
    def host_imports(self) -> dict:
        found = {}
        for name in ("pydantic", "nats", "plugyard_core", "pytest"):
            try:
                __import__(name)
                found[name] = "imported"
            except ImportError as exc:
                found[name] = type(exc).__name__
        return found

    @action
    def bogus_frame(self) -> None:
        os.write(int(sys.argv[3]), (64 << 20).to_bytes(4, "big"))
        time.sleep(5)

    @action
    def write_outside(self, path: str) -> str:
        try:
            with open(path, "w") as f:
                f.write("x")
            return "written"
        except OSError as exc:
            return type(exc).__name__

    @action
    def write_state(self, name: str) -> str:
        with open(os.path.join(os.environ["HOME"], name), "w") as f:
            f.write("ok")
        return "written"

    def teardown(self):
        with open(os.path.join(self.context["state_dir"], "teardown.txt"), "w") as f:
            f.write("done")
"""


async def start_demo(start, tmp_path: Path):
    return await start(DEMO.replace('self.context = dict(context)', f'self.context = dict(context, state_dir={str(tmp_path / "state")!r})'))


async def test_ready_with_actions_and_a_call(start, tmp_path: Path) -> None:
    worker = await start_demo(start, tmp_path)
    assert worker.pid > 0 and worker.returncode is None
    names = {a["name"]: a for a in worker.actions}
    assert {"echo", "sleep", "refuse", "crash"} <= set(names)
    assert names["echo"] == {"name": "echo", "description": "Repeat text.", "parameters": ["text", "times"], "required": ["text"]}
    assert isinstance(worker.layers, dict)
    result = await worker.call("echo", {"text": "ab", "times": 2}, timeout=5)
    assert result["text"] == "abab" and result["context"]["name"] == "demo"
    assert worker.in_flight == 0


async def test_concurrent_calls(start, tmp_path: Path) -> None:
    worker = await start_demo(start, tmp_path)
    nap = 0.4
    began = time.monotonic()
    assert await asyncio.gather(*(worker.call("sleep", {"seconds": nap}, timeout=10) for _ in range(MAX_THREADS))) == [nap] * MAX_THREADS
    assert time.monotonic() - began < 2 * nap  # one pool's worth in about one sleep
    began = time.monotonic()
    await asyncio.gather(*(worker.call("sleep", {"seconds": nap}, timeout=10) for _ in range(50)))
    assert time.monotonic() - began < (math.ceil(50 / MAX_THREADS) + 1) * nap  # 50 calls: four rounds of 16 threads


async def test_typed_errors(start, tmp_path: Path) -> None:
    worker = await start_demo(start, tmp_path)
    with pytest.raises(WorkerCallError) as refused:
        await worker.call("refuse", {}, timeout=5)
    assert (refused.value.code, refused.value.message, refused.value.details) == ("quota", "no quota left", {"left": 0})
    with pytest.raises(WorkerCallError) as unknown:
        await worker.call("nope", {}, timeout=5)
    assert unknown.value.code == "unknown_action"
    with pytest.raises(WorkerCallError) as bad:
        await worker.call("echo", {"wrong": 1}, timeout=5)
    assert bad.value.code == "invalid_arguments" and bad.value.details["required"] == ["text"]
    with pytest.raises(WorkerCallError) as exploded:
        await worker.call("explode", {}, timeout=5)
    assert exploded.value.code == "plugin_error" and exploded.value.message == "ValueError: boom"
    assert "Traceback" not in str(exploded.value.details) and exploded.value.details["traceback"]
    assert await worker.call("echo", {"text": "still"}, timeout=5)


async def test_timeout_then_next_call(start, tmp_path: Path) -> None:
    worker = await start_demo(start, tmp_path)
    with pytest.raises(CallTimeout):
        await worker.call("sleep", {"seconds": 0.6}, timeout=0.1)
    assert worker.in_flight == 0
    assert (await worker.call("echo", {"text": "next"}, timeout=5))["text"] == "next"
    await asyncio.sleep(0.7)  # the late answer arrives and is dropped
    assert (await worker.call("echo", {"text": "after"}, timeout=5))["text"] == "after"


async def test_logs_and_prints_arrive_as_events(start, tmp_path: Path) -> None:
    worker = await start_demo(start, tmp_path)
    assert await worker.call("chatter", {}, timeout=5) == "ok"
    await asyncio.sleep(0.1)
    logs = [(e["level"], e["logger"], e["message"]) for e in worker.events.of("log")]
    assert ("INFO", "plugyard.plugin.demo", "info from the plugin") in logs
    assert ("WARNING", "plugyard.plugin.demo", "warning from the plugin") in logs
    assert ("INFO", "stdout", "printed line") in logs
    assert ("WARNING", "stderr", "to stderr") in logs


async def test_print_flood_does_not_hurt_the_host(start, tmp_path: Path) -> None:
    worker = await start_demo(start, tmp_path)
    flooding = time.monotonic()
    await worker.call("flood", {}, timeout=5)
    await asyncio.sleep(1.5)
    began = time.monotonic()
    assert (await worker.call("echo", {"text": "heard"}, timeout=5))["text"] == "heard"
    assert time.monotonic() - began < 1.0
    logs = worker.events.of("log")
    windows = math.ceil(time.monotonic() - flooding) + 1
    assert len(logs) <= windows * (LINES_PER_SECOND + 1)  # each second: at most the limit, and one "dropped" notice
    assert any("lines dropped" in e["message"] for e in logs)


async def test_crash_fails_calls_in_flight(start, tmp_path: Path) -> None:
    worker = await start_demo(start, tmp_path)
    sleeping = asyncio.create_task(worker.call("sleep", {"seconds": 5}, timeout=10))
    await asyncio.sleep(0.1)
    with pytest.raises(WorkerGone):
        await worker.call("crash", {"after": 0.1}, timeout=5)
    with pytest.raises(WorkerGone):
        await sleeping
    await asyncio.wait_for(worker.exited.wait(), 5)
    assert worker.returncode == 3
    assert worker.events.of("exit") == [{"op": "exit", "returncode": 3}]
    with pytest.raises(WorkerGone):
        await worker.call("echo", {"text": "x"}, timeout=5)


async def test_entry_import_failure(start) -> None:
    with pytest.raises(WorkerStartError, match="cannot import entry 'demo.missing:Demo'.*ModuleNotFoundError"):
        await start("class Demo(Plugin): pass", entry="demo.missing:Demo")
    with pytest.raises(WorkerStartError, match="cannot import entry 'demo:Nope'.*AttributeError"):
        await start("class Demo(Plugin): pass", entry="demo:Nope")


async def test_setup_raising(start) -> None:
    source = """
    class Demo(Plugin):
        def setup(self, context):
            raise RuntimeError("no config file")
    """
    with pytest.raises(WorkerStartError, match="setup failed: RuntimeError: no config file"):
        await start(source)


async def test_start_timeout(start) -> None:
    source = """
    class Demo(Plugin):
        def setup(self, context):
            time.sleep(30)
    """
    began = time.monotonic()
    with pytest.raises(WorkerStartError, match="not ready within 1 s"):
        await start(source, start_timeout=1.0)
    assert time.monotonic() - began < 5


async def test_stop_drains_and_tears_down(start, tmp_path: Path) -> None:
    worker = await start_demo(start, tmp_path)
    in_flight = asyncio.create_task(worker.call("sleep", {"seconds": 0.5}, timeout=5))
    await asyncio.sleep(0.1)
    await worker.stop(drain_timeout=5)
    assert await in_flight == 0.5
    assert worker.returncode == 0
    assert (tmp_path / "state" / "teardown.txt").read_text() == "done"
    with pytest.raises(WorkerGone):
        await worker.call("echo", {"text": "late"}, timeout=1)


async def test_stop_kills_when_the_drain_is_too_slow(start, tmp_path: Path) -> None:
    worker = await start_demo(start, tmp_path)
    in_flight = asyncio.create_task(worker.call("sleep", {"seconds": 30}, timeout=60))
    await asyncio.sleep(0.1)
    began = time.monotonic()
    await worker.stop(drain_timeout=0.5)
    assert time.monotonic() - began < 3 and worker.returncode == -9
    with pytest.raises(WorkerGone):
        await in_flight


async def test_host_packages_are_not_importable(start, tmp_path: Path) -> None:
    worker = await start_demo(start, tmp_path)
    found = await worker.call("host_imports", {}, timeout=10)
    assert found == {name: "ModuleNotFoundError" for name in ("pydantic", "nats", "plugyard_core", "pytest")}


async def test_oversize_frame_from_the_worker(start, tmp_path: Path) -> None:
    worker = await start_demo(start, tmp_path)
    with pytest.raises(WorkerGone):
        await worker.call("bogus_frame", {}, timeout=10)
    await asyncio.wait_for(worker.exited.wait(), 5)
    errors = worker.events.of("protocol_error")
    assert len(errors) == 1 and "over the" in errors[0]["message"]
    assert worker.returncode == -9


async def test_write_outside_state_dir_is_reported(start, tmp_path: Path) -> None:
    worker = await start_demo(start, tmp_path)
    assert await worker.call("write_state", {"name": "fine.txt"}, timeout=5) == "written"
    outside = tmp_path / "outside.txt"
    await worker.call("write_outside", {"path": str(outside)}, timeout=5)
    await asyncio.sleep(0.1)
    violations = worker.events.of("violation")
    assert [(v["permission"], v["target"]) for v in violations] == [("filesystem", str(outside))]


async def test_every_layer_active(start, tmp_path: Path) -> None:
    """As root with a compiled filter, the whole sandbox: a dropped uid, seccomp, Landlock, a network namespace."""
    if os.geteuid() != 0:
        pytest.skip("dropping to a plugin's own uid needs a root host")
    from plugyard_sandbox.errors import SandboxUnavailable
    from plugyard_sandbox.seccomp_filter import compile_filter
    from plugyard_sandbox.spec import LAYERS

    try:
        bpf = compile_filter(subprocess=False)
    except SandboxUnavailable as exc:
        pytest.skip(f"no seccomp filter on this host: {exc}")
    state = tmp_path / "state"
    state.mkdir()
    os.chown(state, 61234, 61234)
    worker = await start(
        DEMO.replace('self.context = dict(context)', f'self.context = dict(context, state_dir={str(state)!r})'),
        drop_uid=61234, drop_gid=61234, seccomp_bpf=bpf, required_layers=LAYERS,
    )
    assert worker.layers == dict.fromkeys(LAYERS, "active")
    nap = 0.3
    began = time.monotonic()
    await asyncio.gather(*(worker.call("sleep", {"seconds": nap}, timeout=10) for _ in range(MAX_THREADS)))
    assert time.monotonic() - began < 2 * nap
    assert await worker.call("write_outside", {"path": str(tmp_path / "outside.txt")}, timeout=5) in ("PermissionError", "OSError")
    assert await worker.call("write_state", {"name": "inside.txt"}, timeout=5) == "written"
    assert await worker.call("chatter", {}, timeout=5) == "ok"
    await worker.stop()
    assert worker.returncode == 0 and (state / "teardown.txt").read_text() == "done"
    assert ("filesystem", str(tmp_path / "outside.txt")) in [(v["permission"], v["target"]) for v in worker.events.of("violation")]


EGRESS = """
import socket

class Demo(Plugin):
    @action
    def fetch(self, port: int) -> str:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"ping")
            return sock.recv(100).decode()

    @action
    def sneak(self, port: int) -> str:
        try:
            socket.create_connection(("10.0.0.1", port), timeout=1)
            return "connected"
        except OSError as exc:
            return type(exc).__name__
"""


async def test_declared_network_goes_through_the_egress_forwarder(start, tmp_path: Path) -> None:
    from plugyard_sandbox.egress_proxy import EgressProxy

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"echo:" + await reader.read(100))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    proxy = EgressProxy(str(tmp_path / "egress.sock"), [f"127.0.0.1:{port}"])
    await proxy.start()
    try:
        worker = await start(EGRESS, network=(f"127.0.0.1:{port}",), egress_socket=proxy.socket_path)
        assert await worker.call("fetch", {"port": port}, timeout=10) == "echo:ping"
        assert worker.events.of("violation") == []
        assert await worker.call("sneak", {"port": 80}, timeout=10) != "connected"
        await asyncio.sleep(0.1)
        assert [(v["permission"], v["target"]) for v in worker.events.of("violation")] == [("network", "10.0.0.1:80")]
    finally:
        await proxy.close()
        server.close()
