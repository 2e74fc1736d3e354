"""Running registries with discovery sources in tests, and serving an export over HTTP with ETags."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import shutil
import sys
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from plugyard_core.connection import connect
from plugyard_core.rpc import RpcError, call
from plugyard_core.streams import rpc_subject
from plugyard_registry.main import build_service
from plugyard_schemas.registry import InfoReply, InfoRequest
from plugyard_schemas.rpc import HealthReply, HealthRequest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "plugins"
PLUGYARD = str(Path(sys.executable).parent / "plugyard")


def copy_example(name: str, into: Path) -> Path:
    return Path(shutil.copytree(EXAMPLES / name, into / name, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache")))


def write_sources(data_dir: Path, text: str) -> None:
    (data_dir / "registry").mkdir(parents=True, exist_ok=True)
    (data_dir / "registry" / "sources.toml").write_text(text)


@contextlib.asynccontextmanager
async def running_registry(nats_url: str, data_dir: Path):
    """The registry service in this process (so its log records reach caplog), ready when this yields a client."""
    stop = asyncio.Event()
    task = asyncio.create_task(build_service(data_dir, nats_url).run(stop))
    client = await connect("tests", nats_url)
    try:
        for _ in range(100):
            try:
                await call(client, rpc_subject("registry", "health"), HealthRequest(), HealthReply, timeout=0.5)
                break
            except RpcError:
                await asyncio.sleep(0.1)
        yield client
    finally:
        await client.close()
        stop.set()
        await asyncio.wait_for(task, 30)


async def info(nc, name: str) -> InfoReply | None:
    try:
        return await call(nc, rpc_subject("registry", "info"), InfoRequest(name=name), InfoReply)
    except RpcError as exc:
        if exc.code == "not_found":
            return None
        raise


async def eventually(check, timeout: float = 15.0, what: str = "condition"):
    """Await `check()` until it returns something truthy; fail naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        await asyncio.sleep(0.2)


async def versions_of(nc, name: str) -> list[str]:
    described = await info(nc, name)
    return sorted(v.version for v in described.versions) if described else []


class _ExportHandler(SimpleHTTPRequestHandler):
    """Static files, with an ETag (and 304 on If-None-Match) for index.json as a web server or CDN would send."""

    def __init__(self, *args, seen: list, **kwargs) -> None:
        self.seen = seen
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:
        if self.path != "/index.json":
            return super().do_GET()
        body = (Path(self.directory) / "index.json").read_bytes()
        etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("ETag", etag)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_request(self, code="-", size="-") -> None:
        self.seen.append((self.path, int(code)))

    def log_message(self, format: str, *args) -> None:
        pass


class ExportServer:
    """`directory` served on a free loopback port from a thread; `seen` lists (path, status) of every request."""

    def __init__(self, directory: Path) -> None:
        self.seen: list[tuple[str, int]] = []
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(_ExportHandler, directory=str(directory), seen=self.seen))
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    def __enter__(self) -> "ExportServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)
