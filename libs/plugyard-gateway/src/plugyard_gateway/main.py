"""The gateway process: a bus client as the `gateway` identity (read-only on the archives), its health RPC on the bus
like every service's, and the HTTP app (app.py) served by uvicorn in the same event loop."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from nats.aio.client import Client

from plugyard_core import settings
from plugyard_core.env_numbers import env_number
from plugyard_core.service import Service, run_main
from plugyard_core.services import GATEWAY, GATEWAY_URL_FILE
from plugyard_gateway.app import Counters, build_app
from plugyard_gateway.blocks import DEFAULT_CACHE_BYTES, DEFAULT_INDEX_BLOCKS, ArchiveBlocks
from plugyard_gateway.server import GatewayConfigError, bind, listen_address, serve, url_of, write_url

log = logging.getLogger("plugyard.gateway")

CACHE_ENV = "PLUGYARD_GATEWAY_CACHE_BYTES"
INDEX_ENV = "PLUGYARD_GATEWAY_INDEX_BLOCKS"


def build_service(data_dir: Path | None = None, nats_url: str | None = None, environ=None) -> Service:
    """Raises `GatewayConfigError` naming the variable (or the port) when a setting cannot be used."""
    cache = env_number(CACHE_ENV, DEFAULT_CACHE_BYTES, least=0, most=1 << 40, what="a number of bytes", error=GatewayConfigError,
                       environ=environ, whole=True)
    index = env_number(INDEX_ENV, DEFAULT_INDEX_BLOCKS, least=1, most=1 << 30, what="a number of blocks", error=GatewayConfigError,
                       environ=environ, whole=True)
    sock = bind(*listen_address(environ))
    url = url_of(sock)
    url_file = settings.data_dir(data_dir) / GATEWAY_URL_FILE
    blocks = ArchiveBlocks(cache_bytes=int(cache), index_blocks=int(index))
    counters = Counters()
    state: dict = {"nc": None, "serving": False}

    def connected() -> bool:
        nc = state["nc"]
        return nc is not None and nc.is_connected

    def health() -> dict:
        problems = [] if state["serving"] else ["the HTTP server is not serving"]
        if state["nc"] is not None and not connected():
            problems.append("not connected to NATS: archives cannot be read")
        return {
            "url": url, **blocks.stats(), "bad_entries": counters.bad_entries, "last_bad_entry": counters.last_bad_entry,
            **{f"responses_{status}": count for status, count in sorted(counters.by_status.items())},
            "problems": problems,
        }

    def healthz() -> dict:
        report = health()
        return {"ok": not report["problems"], **report}

    app = build_app(blocks, healthz, counters)

    async def http(nc: Client, stop: asyncio.Event) -> None:
        state["nc"] = nc
        blocks.js = nc.jetstream()
        write_url(url_file, url)
        log.info("IPFS trustless gateway on %s/ipfs/<cid>", url)
        state["serving"] = True
        try:
            await serve(app, sock, stop)
        finally:
            state["serving"] = False
            try:
                if url_file.read_text().strip() == url:
                    url_file.unlink()
            except OSError:
                pass

    return Service(name=GATEWAY, nats_url=nats_url or settings.nats_url(data_dir), loops=[http], health=health,
                   on_stop=[sock.close])


def main(data_dir: Path | None = None, nats_url: str | None = None) -> None:
    run_main(GATEWAY, lambda: build_service(data_dir, nats_url), (GatewayConfigError,))
