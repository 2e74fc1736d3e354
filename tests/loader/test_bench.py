"""The loader's bench RPC on a real bus with real sandboxed workers: two versions compared in workers of their own,
the serving worker left alone, clear refusals."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import psutil
import pytest
from eth_account import Account

from plugyard_cli.bench_stats import compare
from plugyard_core.rpc import RpcError
from plugyard_loader.bench import pair_orders
from plugyard_schemas.loader import BenchReply, BenchRequest, InstallReply, InstallRequest, LoadRequest, PluginReply, PsReply, PsRequest
from tests.loader.conftest import HOST, Stack
from tests.loader.support import publish_verdict, write_plugin
from tests.loader.test_loader_service import until

# 0.2.0 sleeps 30 ms more per call than 0.1.0.
PACER = '''
import os
import time
from plugyard_sdk import action


class Plugin:
    @action
    def work(self, n: int) -> dict:
        time.sleep(0.002 + (0.030 if VERSION == "0.2.0" else 0.0))
        return {"n": n, "version": VERSION, "pid": os.getpid()}

    @action
    def nap(self, seconds: float) -> dict:
        time.sleep(seconds)
        return {"slept": seconds}
'''


async def two_versions(stack: Stack, tmp_path: Path) -> None:
    publisher = Account.create()
    for version in ("0.1.0", "0.2.0"):
        await publish_verdict(stack.nc, tmp_path, write_plugin(tmp_path / "src", "pacer", version, source=PACER), account=publisher)
    for version in ("0.1.0", "0.2.0"):  # one resolution cannot hold two versions of a plugin
        await stack.rpc("install", InstallRequest(requirements=[f"pacer=={version}"]), InstallReply)


def bench_request(**fields) -> BenchRequest:
    return BenchRequest(**{"name": "pacer", "version": "0.2.0", "against": "0.1.0", "action": "work", "args": {"n": 1}, "calls": 20, **fields})


def workers() -> set[int]:
    """This test process's children: the in-process loader's workers, and the test's nats-server."""
    return {child.pid for child in psutil.Process().children(recursive=False)}


def test_pairs_alternate_in_a_seeded_order_where_neither_always_goes_first() -> None:
    orders = pair_orders("b", "a", 200)
    assert orders == pair_orders("b", "a", 200)  # the same request, the same order
    assert all(sorted(pair) == ["a", "b"] for pair in orders)
    first_b = sum(pair[0] == "b" for pair in orders)
    assert 60 < first_b < 140


async def test_the_slower_version_is_found_slower_and_the_serving_worker_is_left_alone(stack: Stack, tmp_path: Path) -> None:
    await two_versions(stack, tmp_path)
    loaded = await stack.rpc("load", LoadRequest(name="pacer", version="0.1.0"), PluginReply)
    for n in range(3):
        assert (await stack.invoke("pacer", "work", {"n": n}))["result"]["version"] == "0.1.0"
    before = (await stack.rpc("ps", PsRequest(), PsReply)).plugins[0]
    children_before = workers()

    running = asyncio.create_task(stack.rpc("bench", bench_request(), BenchReply))
    await until(lambda: len(workers() - children_before) == 2, what="the two bench workers")
    # The serving worker keeps serving while the bench runs, and a second bench of the same plugin is refused.
    during = await stack.invoke("pacer", "work", {"n": 9})
    assert during["result"]["pid"] == loaded.plugin.pid
    with pytest.raises(RpcError) as second:
        await stack.rpc("bench", bench_request(), BenchReply)
    assert second.value.code == "conflict" and "already running" in second.value.message
    reply = await running

    assert (reply.host, reply.name, reply.version, reply.against, reply.calls) == (HOST, "pacer", "0.2.0", "0.1.0", 20)
    assert {v: len(l) for v, l in reply.latencies_ms.items()} == {"0.2.0": 20, "0.1.0": 20}
    assert reply.errors == {"0.2.0": 0, "0.1.0": 0}
    comparison = compare(reply.version, reply.against, reply.calls, reply.latencies_ms, reply.error_codes)
    assert comparison.low > 1 and "0.2.0 is" in comparison.verdict and "slower than 0.1.0" in comparison.verdict
    assert comparison.version.median_ms - comparison.against.median_ms > 20

    after = (await stack.rpc("ps", PsRequest(), PsReply)).plugins[0]
    assert (after.version, after.pid, after.state) == ("0.1.0", loaded.plugin.pid, "running")
    assert (after.calls, after.errors) == (before.calls + 1, before.errors)  # the call made during the bench, none of its 40
    assert after.violations == before.violations
    await asyncio.sleep(0.5)
    assert workers() == children_before  # both bench workers stopped


async def test_a_bench_needs_no_serving_worker_and_counts_errors_by_code(stack: Stack, tmp_path: Path) -> None:
    await two_versions(stack, tmp_path)
    reply = await stack.rpc("bench", bench_request(action="nap", args={"seconds": 0.5}, calls=2, timeout_s=0.2), BenchReply)
    assert reply.latencies_ms == {"0.2.0": [], "0.1.0": []}
    assert reply.errors == {"0.2.0": 2, "0.1.0": 2}
    assert reply.error_codes == {"0.2.0": {"timeout": 2}, "0.1.0": {"timeout": 2}}
    bad = await stack.rpc("bench", bench_request(args={"m": 1}, calls=3), BenchReply)
    assert bad.error_codes == {"0.2.0": {"invalid_arguments": 3}, "0.1.0": {"invalid_arguments": 3}}
    assert (await stack.rpc("ps", PsRequest(), PsReply)).plugins == []


async def test_missing_versions_bad_arguments_and_unknown_actions_are_refused_clearly(stack: Stack, tmp_path: Path) -> None:
    await two_versions(stack, tmp_path)
    children_before = workers()
    with pytest.raises(RpcError) as missing:
        await stack.rpc("bench", bench_request(against="0.0.9"), BenchReply)
    assert missing.value.code == "invalid_request"
    assert missing.value.message == f"pacer==0.0.9 is not installed on host {HOST}: plugyard install pacer==0.0.9 first"

    with pytest.raises(RpcError) as same:
        await stack.rpc("bench", bench_request(against="0.2.0"), BenchReply)
    assert same.value.code == "invalid_request" and "compares two versions" in same.value.message

    with pytest.raises(RpcError) as unknown:
        await stack.rpc("bench", bench_request(action="nope"), BenchReply)
    assert unknown.value.code == "invalid_request" and "has no action 'nope'" in unknown.value.message and "work" in unknown.value.message

    subject = f"plugyard.rpc.loader.{HOST}.bench"
    for args in ([1, 2], "text", 3):
        body = {**bench_request().model_dump(), "args": args}
        error = json.loads((await stack.nc.request(subject, json.dumps(body).encode(), timeout=10)).data)["error"]
        assert error["code"] == "invalid_request" and "args" in error["message"]
    for field, value in (("calls", 0), ("calls", 10_001), ("timeout_s", 0), ("timeout_s", 301)):
        body = {**bench_request().model_dump(), field: value}
        error = json.loads((await stack.nc.request(subject, json.dumps(body).encode(), timeout=10)).data)["error"]
        assert error["code"] == "invalid_request" and field in error["message"]
    await asyncio.sleep(0.5)
    assert workers() == children_before  # the refused benches left no worker behind


FETCHER = r'''
import urllib.request
from plugyard_sdk import action


class Plugin:
    @action
    def fetch(self, url: str) -> dict:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return {"status": response.status}
        except Exception as exc:
            return {"error": f"{type(exc).__name__}: {exc}"}
'''


async def test_a_networked_plugins_bench_workers_go_out_through_proxies_of_their_own(stack: Stack, tmp_path: Path) -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        await writer.drain()
        writer.close()

    servers = [await asyncio.start_server(answer, "127.0.0.1", 0) for _ in range(2)]
    first, second = (f"127.0.0.1:{s.sockets[0].getsockname()[1]}" for s in servers)
    try:
        publisher = Account.create()
        # 0.2.0 may reach one more host than 0.1.0: one proxy for the plugin would have to allow one set or the other.
        for version, hosts in (("0.1.0", [first]), ("0.2.0", [first, second])):
            folder = write_plugin(tmp_path / "src", "fetcher", version, source=FETCHER, permissions=f"network = {json.dumps(hosts)}\n")
            await publish_verdict(stack.nc, tmp_path, folder, account=publisher)
            await stack.rpc("install", InstallRequest(requirements=[f"fetcher=={version}"]), InstallReply)
        loaded = await stack.rpc("load", LoadRequest(name="fetcher", version="0.1.0"), PluginReply)

        # The baseline's worker starts last: had it taken over the plugin's proxy, the serving worker could reach `second`.
        request = BenchRequest(name="fetcher", version="0.1.0", against="0.2.0", action="fetch", args={"url": f"http://{first}/"}, calls=5)
        reply = await stack.rpc("bench", request, BenchReply)
        assert {v: len(l) for v, l in reply.latencies_ms.items()} == {"0.2.0": 5, "0.1.0": 5} and reply.errors == {"0.2.0": 0, "0.1.0": 0}

        # The serving worker still goes out through its own proxy, which still allows only 0.1.0's host.
        assert (await stack.invoke("fetcher", "fetch", {"url": f"http://{first}/"}))["result"] == {"status": 200}
        refused = (await stack.invoke("fetcher", "fetch", {"url": f"http://{second}/"}))["result"]
        assert "403" in refused["error"]
        status = (await stack.rpc("ps", PsRequest(), PsReply)).plugins[0]
        assert (status.pid, status.state) == (loaded.plugin.pid, "running")
    finally:
        for server in servers:
            server.close()
