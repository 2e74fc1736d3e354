"""The escape suite: a plugin that tries to break out, run by the loader in its sandbox. Every attempt is blocked by
a kernel layer (the action reports what the kernel answered), the host stays up and keeps serving another plugin,
and the attempts that cross a permission are recorded as `PermissionViolation` events."""

from __future__ import annotations

import asyncio
import glob
import os
import socket
import sys
import sysconfig
from pathlib import Path

import pytest

from plugyard_schemas.loader import LoadRequest, PluginReply
from tests.loader.conftest import Stack
from tests.loader.support import write_plugin

ESCAPER = r'''
import ctypes, os, signal, socket, subprocess, time
from plugyard_sdk import action


def attempt(job):
    try:
        return {"blocked": False, "value": job()}
    except BaseException as exc:
        return {"blocked": True, "error": f"{type(exc).__name__}: {exc}"}


def write(path, data=b"x"):
    with open(path, "wb") as f:
        f.write(data)
    return path


def read(path):
    with open(path, "rb") as f:
        return f.read(100).decode(errors="replace")


class Plugin:
    @action
    def write_outside(self, path: str) -> dict:
        return attempt(lambda: write(path))

    @action
    def write_own_state(self) -> dict:
        return attempt(lambda: write(os.path.join(os.environ["HOME"], "mine.txt")))

    @action
    def read_file(self, path: str) -> dict:
        return attempt(lambda: read(path))

    @action
    def connect(self, port: int) -> dict:
        return attempt(lambda: socket.create_connection(("127.0.0.1", port), timeout=2).close())

    @action
    def spawn(self) -> dict:
        return attempt(lambda: subprocess.run(["/bin/true"], check=True).returncode)

    @action
    def fork_bomb(self) -> dict:
        return attempt(lambda: [os.fork() for _ in range(1000)])

    @action
    def allocate(self, gib: int) -> dict:
        return attempt(lambda: len(bytearray(gib << 30)))

    @action
    def spin(self) -> dict:
        while True:
            pass

    @action
    def big_file(self, mib: int) -> dict:
        def fill():
            with open(os.path.join(os.environ["HOME"], "big.bin"), "wb") as f:
                for _ in range(mib):
                    f.write(b"\0" * (1 << 20))
        return attempt(fill)

    @action
    def fill_disk(self) -> dict:
        def fill():
            for n in range(1000):
                with open(os.path.join(os.environ["HOME"], f"fill-{n}.bin"), "wb") as f:
                    for _ in range(32):
                        f.write(b"\1" * (1 << 20))
        return attempt(fill)

    @action
    def flood(self, seconds: float) -> dict:
        end = time.monotonic() + seconds
        lines = 0
        while time.monotonic() < end:
            print("flood " * 100)
            os.write(1, b"raw flood\n" * 100)
            os.write(2, b"raw flood\n" * 100)
            lines += 1
        return {"lines": lines}

    @action
    def load_native(self, path: str) -> dict:
        return attempt(lambda: str(ctypes.CDLL(path)))

    @action
    def shellcode(self) -> dict:
        import mmap
        results = {}
        try:
            mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
            results["anonymous_exec"] = "allowed"
        except OSError as exc:
            results["anonymous_exec"] = str(exc)
        try:
            os.memfd_create("code")
            results["memfd"] = "allowed"
        except OSError as exc:
            results["memfd"] = str(exc)
        return results

    @action
    def ptrace(self, pid: int) -> dict:
        libc = ctypes.CDLL(None, use_errno=True)
        result = libc.ptrace(16, pid, None, None)  # PTRACE_ATTACH
        return {"blocked": result != 0, "errno": ctypes.get_errno()}

    @action
    def signal_host(self, pid: int) -> dict:
        return attempt(lambda: os.kill(pid, signal.SIGTERM))

    @action
    def environment(self) -> dict:
        return {"env": dict(os.environ)}

    @action
    def unshare(self) -> dict:
        libc = ctypes.CDLL(None, use_errno=True)
        return {"blocked": libc.unshare(0x10000000) != 0, "errno": ctypes.get_errno()}
'''


async def load_dev(stack: Stack, folder: Path) -> PluginReply:
    from plugyard_core.rpc import call
    from plugyard_loader.handlers import loader_subject
    from tests.loader.conftest import HOST

    name = folder.name.rsplit("-", 1)[0]
    return await call(stack.nc, loader_subject(HOST, "load"), LoadRequest(name=name, path=str(folder)), PluginReply, timeout=60)


@pytest.fixture
async def escaper(stack: Stack, tmp_path: Path, monkeypatch) -> Stack:
    monkeypatch.setenv("PLUGYARD_ESCAPE_SECRET", "host-secret-value")
    await load_dev(stack, write_plugin(tmp_path / "src", "escaper", source=ESCAPER))
    await load_dev(stack, write_plugin(tmp_path / "src", "bystander"))
    return stack


async def call(stack: Stack, action: str, args: dict | None = None, timeout: float = 10) -> dict:
    reply = await stack.invoke("escaper", action, args or {}, timeout=timeout)
    assert "result" in reply, reply
    return reply["result"]


async def bystander_answers(stack: Stack) -> None:
    reply = await stack.invoke("bystander", "hello", {"name": "still here"})
    assert reply["result"]["greeting"] == "Hello, still here"


async def violations(stack: Stack, permission: str, count: int = 1) -> list[dict]:
    for _ in range(100):
        found = [v for v in stack.of_type("PermissionViolation") if v["permission"] == permission and v["name"] == "escaper"]
        if len(found) >= count:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {permission} violation recorded: {stack.of_type('PermissionViolation')}")


async def test_filesystem_escapes(escaper: Stack, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    result = await call(escaper, "write_outside", {"path": str(outside)})
    assert result["blocked"] and not outside.exists()
    assert not (await call(escaper, "write_own_state"))["blocked"]

    secret = tmp_path / "host-secret.txt"
    secret.write_text("the host's secret")
    other_plugin_file = escaper.data_dir / "loader" / "cache" / "state" / "bystander" / "theirs.txt"
    other_plugin_file.parent.mkdir(parents=True, exist_ok=True)
    other_plugin_file.write_text("bystander's data")
    for path in (secret, other_plugin_file, Path("/etc/shadow"), escaper.data_dir / "loader" / "events.sqlite"):
        result = await call(escaper, "read_file", {"path": str(path)})
        assert result["blocked"], (path, result)
    found = await violations(escaper, "filesystem", 2)
    assert any(v["target"] == str(outside) for v in found) and any(v["target"] == str(secret) for v in found)
    await bystander_answers(escaper)


async def test_network_without_permission_is_unreachable(escaper: Stack, nats_server) -> None:
    result = await call(escaper, "connect", {"port": nats_server.port})
    assert result["blocked"], result  # its own network namespace has nothing listening and no way out
    [violation] = await violations(escaper, "network")
    assert violation["target"] == f"127.0.0.1:{nats_server.port}"
    await bystander_answers(escaper)


async def test_processes_fork_bombs_and_namespaces_are_refused(escaper: Stack) -> None:
    assert (await call(escaper, "spawn"))["blocked"]
    bomb = await call(escaper, "fork_bomb")
    assert bomb["blocked"] and "PermissionError" in bomb["error"]
    assert (await call(escaper, "unshare"))["blocked"]
    await violations(escaper, "subprocess")
    await bystander_answers(escaper)


async def test_memory_cpu_and_disk_are_limited(escaper: Stack) -> None:
    allocation = await call(escaper, "allocate", {"gib": 8})
    assert allocation["blocked"] and "MemoryError" in allocation["error"]
    spinning = await escaper.invoke("escaper", "spin", {}, timeout=0.5)
    assert spinning["error"]["code"] == "timeout"
    disk = await call(escaper, "big_file", {"mib": 100}, timeout=30)
    assert disk["blocked"] and "File too large" in disk["error"]
    filled = await call(escaper, "fill_disk", timeout=60)  # many files under the per-file limit: the volume's size stops them
    assert filled["blocked"] and "No space left" in filled["error"], filled
    await bystander_answers(escaper)
    assert (await call(escaper, "write_own_state"))["blocked"] is False  # the escaper itself still serves


async def test_flooding_the_output_does_not_hurt_the_host(escaper: Stack) -> None:
    flood = asyncio.create_task(escaper.invoke("escaper", "flood", {"seconds": 1.5}, timeout=20))
    for _ in range(5):
        await bystander_answers(escaper)
    assert (await flood)["result"]["lines"] > 0


async def test_native_code_ptrace_and_signals_are_blocked(escaper: Stack, tmp_path: Path) -> None:
    library = Path(glob.glob(os.path.join(sysconfig.get_config_var("DESTSHARED"), "_json*.so"))[0])
    plugin_files = Path(escaper.data_dir).parent / "src" / "escaper-1.0.0"
    copied = plugin_files / "native.so"
    copied.write_bytes(library.read_bytes())
    native = await call(escaper, "load_native", {"path": str(copied)})
    assert native["blocked"], native  # the plugin's folder is mounted noexec without the native permission
    await violations(escaper, "native")
    shellcode = await call(escaper, "shellcode")  # machine code copied into memory cannot be made executable either
    assert "allowed" not in shellcode.values(), shellcode

    assert (await call(escaper, "ptrace", {"pid": os.getpid()}))["blocked"]
    signalled = await call(escaper, "signal_host", {"pid": os.getpid()})
    assert signalled["blocked"] and "PermissionError" in signalled["error"]
    await violations(escaper, "signal")
    await bystander_answers(escaper)


async def test_the_host_environment_does_not_reach_the_plugin(escaper: Stack) -> None:
    env = (await call(escaper, "environment"))["env"]
    assert "PLUGYARD_ESCAPE_SECRET" not in env and "PATH" not in env
    assert set(env) <= {"HOME", "TMPDIR", "LANG", "PYTHONDONTWRITEBYTECODE", "MALLOC_ARENA_MAX"} | {k for k in env if k.endswith("_PROXY") or k.endswith("_proxy")}
    environ = await call(escaper, "read_file", {"path": f"/proc/{os.getpid()}/environ"})
    assert environ["blocked"], environ


NETTER = r'''
import socket, urllib.request
from plugyard_sdk import action


class Plugin:
    @action
    def fetch(self, url: str) -> dict:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return {"status": response.status, "body": response.read().decode()}
        except Exception as exc:
            return {"error": f"{type(exc).__name__}: {exc}"}

    @action
    def raw(self, port: int) -> dict:
        try:
            s = socket.socket()
            s.settimeout(2)
            s.connect(("127.0.0.1", port))
            return {"connected": True}
        except OSError as exc:
            return {"connected": False, "error": str(exc)}
'''


async def test_only_declared_hosts_are_reachable(stack: Stack, tmp_path: Path) -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nupstream")
        await writer.drain()
        writer.close()

    allowed = await asyncio.start_server(answer, "127.0.0.1", 0)
    other = await asyncio.start_server(answer, "127.0.0.1", 0)
    allowed_port, other_port = allowed.sockets[0].getsockname()[1], other.sockets[0].getsockname()[1]
    try:
        folder = write_plugin(tmp_path / "src", "netter", source=NETTER, permissions=f'network = ["127.0.0.1:{allowed_port}"]\n')
        await load_dev(stack, folder)
        ok = (await stack.invoke("netter", "fetch", {"url": f"http://127.0.0.1:{allowed_port}/"}))["result"]
        assert ok == {"status": 200, "body": "upstream"}
        refused = (await stack.invoke("netter", "fetch", {"url": f"http://127.0.0.1:{other_port}/"}))["result"]
        assert "403" in refused["error"]
        raw = (await stack.invoke("netter", "raw", {"port": other_port}))["result"]
        assert not raw["connected"]  # past the proxy there is no way out of the namespace
        for _ in range(100):
            found = [v for v in stack.of_type("PermissionViolation") if v["name"] == "netter" and v["permission"] == "network"]
            if any(v["target"] == f"127.0.0.1:{other_port}" for v in found):
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError(f"no network violation for the undeclared port: {stack.of_type('PermissionViolation')}")
    finally:
        allowed.close()
        other.close()
