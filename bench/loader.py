"""The loader's costs, each beside the limit it is measured against, in one run:

- worker cold start (spawn → sandbox applied → plugin imported → ready) beside a bare `python -c pass`
  (aim: under 3x the bare interpreter);
- invoke round trip through NATS, the loader and the worker's pipe beside a bare nats-py request/reply to an
  echo responder on the same server, and beside an in-process call of the same action (aim: p50 under 2x bare
  NATS request/reply);
- reload switch time: a `reload` RPC (new worker started and checked, calls switched, old one drained);
- the loader's one-off costs: probing the kernel's sandbox layers, compiling a seccomp filter.

The plugin is loaded as a local folder (`plugyard dev`'s path), so no registry is needed.

usage: .venv/bin/python bench/loader.py [--calls N] [--starts N] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import nats

from plugyard_core.embedded_nats import EmbeddedNats, free_port
from plugyard_core.rpc import call
from plugyard_loader.handlers import loader_subject
from plugyard_loader.main import build_service
from plugyard_schemas.loader import LoadRequest, PluginReply, ReloadRequest

HOST = "bench"
ROUNDS = 10
SOURCE = '''
from plugyard_sdk import action


class Plugin:
    @action
    def echo(self, text: str) -> dict:
        return {"text": text}
'''
MANIFEST = '''
[plugin]
name = "bench-echo"
version = "1.0.0"
summary = "Echoes its argument"
authors = ["Bench <bench@example.org>"]
license = "MIT"
entry = "bench_echo:Plugin"
host = ">=1.0,<2"
'''


def write_plugin(root: Path) -> Path:
    folder = root / "bench-echo"
    (folder / "bench_echo").mkdir(parents=True)
    (folder / "bench_echo" / "__init__.py").write_text(textwrap.dedent(SOURCE))
    (folder / "plugin.toml").write_text(textwrap.dedent(MANIFEST))
    return folder


def bare_interpreter_ms(runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * fraction), len(ordered) - 1)]


async def echo_responder(nc) -> None:
    async def echo(msg) -> None:
        await msg.respond(msg.data)

    await nc.subscribe("bench.echo", cb=echo)


async def bare_request_reply(nc, calls: int) -> list[float]:
    times = []
    body = json.dumps({"text": "hello"}).encode()
    for _ in range(calls):
        started = time.perf_counter()
        await nc.request("bench.echo", body, timeout=5)
        times.append((time.perf_counter() - started) * 1000)
    return times


async def invoke_times(nc, calls: int) -> list[float]:
    times = []
    body = json.dumps({"text": "hello"}).encode()
    for _ in range(calls):
        started = time.perf_counter()
        reply = await nc.request("plugyard.rpc.plugin.bench-echo.echo", body, timeout=5)
        times.append((time.perf_counter() - started) * 1000)
        assert b'"result"' in reply.data, reply.data
    return times


def in_process_times(folder: Path, calls: int) -> list[float]:
    sys.path.insert(0, str(folder))
    from bench_echo import Plugin  # noqa: E402 (the plugin folder is only importable now)
    from plugyard_sdk import invoke

    plugin = Plugin()
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        invoke(plugin, "echo", {"text": "hello"})
        times.append((time.perf_counter() - started) * 1000)
    return times


async def measure(calls: int, starts: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="plugyard-bench-loader-") as tmp:
        root = Path(tmp)
        folder = write_plugin(root)
        server = EmbeddedNats(data_dir=root / "nats", port=free_port(), sync_always=False)
        server.start()
        os.environ["PLUGYARD_LOADER_HOST"] = HOST
        stop = asyncio.Event()
        service = build_service(data_dir=root / "data", nats_url=server.url)
        task = asyncio.create_task(service.run(stop))
        nc = await nats.connect(server.url)
        try:
            for _ in range(100):
                try:
                    loaded = await call(nc, loader_subject(HOST, "load"), LoadRequest(name="bench-echo", path=str(folder)), PluginReply, timeout=30)
                    break
                except Exception:
                    await asyncio.sleep(0.1)
            layers = loaded.plugin.layers
            start_ms = []
            for _ in range(starts):
                started = time.perf_counter()
                await call(nc, loader_subject(HOST, "reload"), ReloadRequest(name="bench-echo"), PluginReply, timeout=30)
                start_ms.append((time.perf_counter() - started) * 1000)
            responder = await nats.connect(server.url)
            await echo_responder(responder)
            await invoke_times(nc, 200)  # warm up
            await bare_request_reply(nc, 200)
            # Interleaved rounds, so that the machine's load at any moment weighs on both figures alike.
            invoke_ms, bare_rr_ms = [], []
            for _ in range(ROUNDS):
                invoke_ms += await invoke_times(nc, calls // ROUNDS)
                bare_rr_ms += await bare_request_reply(nc, calls // ROUNDS)
            await responder.close()
            local_ms = in_process_times(folder, calls)
            cold_ms, bare_ms_all = [], []
            for _ in range(ROUNDS):
                cold_ms += await worker_cold_starts(folder, root, max(starts // ROUNDS, 1))
                bare_ms_all.append(bare_interpreter_ms(max(starts // ROUNDS, 1)))
            bare_ms = statistics.median(bare_ms_all)
            probe_ms, compile_ms = host_setup_ms(10)
        finally:
            await nc.close()
            stop.set()
            await task
            server.stop()
    return {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "layers": layers,
        "bare_interpreter_ms": round(bare_ms, 2),
        "worker_cold_start_ms": round(statistics.median(cold_ms), 2),
        "cold_start_ratio": round(statistics.median(cold_ms) / bare_ms, 2),
        "reload_switch_ms_p50": round(statistics.median(start_ms), 2),
        "bare_request_reply_ms_p50": round(statistics.median(bare_rr_ms), 3),
        "invoke_ms_p50": round(statistics.median(invoke_ms), 3),
        "invoke_ms_p99": round(percentile(invoke_ms, 0.99), 3),
        "invoke_ratio_p50": round(statistics.median(invoke_ms) / statistics.median(bare_rr_ms), 2),
        "in_process_call_ms_p50": round(statistics.median(local_ms), 4),
        "probe_layers_ms": round(probe_ms, 2),
        "seccomp_compile_ms": round(compile_ms, 2),
        "calls": calls,
        "starts": starts,
    }


def host_setup_ms(runs: int) -> tuple[float, float]:
    """The loader's own one-off costs: probing the kernel's layers (at start) and compiling a seccomp filter."""
    from plugyard_sandbox.probe import probe_layers
    from plugyard_sandbox.seccomp_filter import compile_filter

    probes, compiles = [], []
    for _ in range(runs):
        started = time.perf_counter()
        probe_layers()
        probes.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        compile_filter(subprocess=False, native=False)
        compiles.append((time.perf_counter() - started) * 1000)
    return statistics.median(probes), statistics.median(compiles)


async def worker_cold_starts(folder: Path, root: Path, starts: int) -> list[float]:
    """Spawn → ready of a worker with every layer the kernel offers, as the loader plans it."""
    from plugyard_loader.cache import PluginCache
    from plugyard_loader.sandbox_plan import plan_worker
    from plugyard_sandbox.seccomp_filter import compile_filter
    from plugyard_worker.host import WorkerHandle
    from plugyard_worker.runtime import runtime_read_dirs, stage_runtime

    cache = PluginCache(root / "cold")
    runtime = [str(stage_runtime(cache.root)), *runtime_read_dirs()]  # staged once: later calls find it in place
    manifest = {"plugin": {"entry": "bench_echo:Plugin"}, "permissions": {}}
    plan = plan_worker(cache, name="bench-echo", version="1.0.0", plugin_dir=folder, deps_dir=None, manifest=manifest,
                       runtime_dirs=runtime, seccomp_bpf=compile_filter(subprocess=False, native=False), egress_socket=None)
    times = []
    for _ in range(starts):
        started = time.perf_counter()
        handle = await WorkerHandle.start(plan.spec, entry=plan.entry, sys_path=[runtime[0]], library_paths=plan.library_paths)
        times.append((time.perf_counter() - started) * 1000)
        await handle.stop()
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--starts", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(measure(args.calls, args.starts))
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"machine: {result['machine']}")
    print(f"sandbox layers: {', '.join(f'{k}={v}' for k, v in result['layers'].items())}")
    print(f"cold start:  worker {result['worker_cold_start_ms']:.1f} ms  vs  python -c pass {result['bare_interpreter_ms']:.1f} ms"
          f"  = {result['cold_start_ratio']:.2f}x (aim < 3x)")
    print(f"invoke p50:  {result['invoke_ms_p50']:.3f} ms  vs  bare NATS request/reply {result['bare_request_reply_ms_p50']:.3f} ms"
          f"  = {result['invoke_ratio_p50']:.2f}x (aim < 2x); p99 {result['invoke_ms_p99']:.3f} ms; in-process call {result['in_process_call_ms_p50']:.4f} ms")
    print(f"reload:      {result['reload_switch_ms_p50']:.1f} ms p50 per reload RPC (start + check + switch + drain)")
    print(f"host setup:  probing the layers {result['probe_layers_ms']:.1f} ms (once at start), compiling a seccomp filter "
          f"{result['seccomp_compile_ms']:.1f} ms (once per subprocess/native pair)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
