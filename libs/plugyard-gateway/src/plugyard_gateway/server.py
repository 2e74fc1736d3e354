"""uvicorn run inside the gateway's own event loop, beside its NATS connection, on a socket bound before anything
else starts (a port that is taken is a one-line error at start, not a crash later)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Generator
from pathlib import Path

import uvicorn

log = logging.getLogger("plugyard.gateway")

HOST_ENV = "PLUGYARD_GATEWAY_HOST"
PORT_ENV = "PLUGYARD_GATEWAY_PORT"
DEFAULT_HOST = "127.0.0.1"


class GatewayConfigError(ValueError):
    """A PLUGYARD_GATEWAY_* setting that cannot be used, or a port that cannot be had."""


def listen_address(environ=None) -> tuple[str, int]:
    env = os.environ if environ is None else environ
    host = env.get(HOST_ENV, "").strip() or DEFAULT_HOST
    text = env.get(PORT_ENV, "").strip() or "0"
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise GatewayConfigError(f"{PORT_ENV} must be a port number (0 picks a free one); got {text!r}")
    return host, int(text)


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise GatewayConfigError(
            f"cannot serve HTTP on {host}:{port}: {exc.strerror or exc}; set {PORT_ENV} to a free port (0 picks one)"
        ) from None
    sock.setblocking(False)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else ("[::1]" if host == "::" else (f"[{host}]" if ":" in host else host))
    return f"http://{shown}:{port}"


def write_url(path: Path, url: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(url + "\n")
    temporary.replace(path)


class EmbeddedServer(uvicorn.Server):
    """uvicorn without its own signal handlers: the process's (the service runtime's) stop it, through `stop`."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


async def serve(app, sock: socket.socket, stop: asyncio.Event) -> None:
    """Serve `app` on `sock` until `stop` is set (or the server fails)."""
    config = uvicorn.Config(
        app, log_config=None, access_log=False, lifespan="off", timeout_graceful_shutdown=5, server_header=False,
        proxy_headers=False,
    )
    server = EmbeddedServer(config)
    running = asyncio.create_task(server.serve(sockets=[sock]), name="gateway-http")
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait({running, stopped}, return_when=asyncio.FIRST_COMPLETED)
    server.should_exit = True
    stopped.cancel()
    await running
    if not server.started:
        raise RuntimeError("the HTTP server did not start (see the log above)")
