"""`plugyard bench` on a loader host: two installed versions of one plugin, each in a temporary worker of its own,
called alternately with the same arguments; what each call took, as the loader measured it.

The calls go in pairs, one call of each version, in an order a seeded random picks for each pair: neither version
always runs first (so neither always meets a cache the other warmed, or a pause the other caused), and the same
request gives the same order. The workers never serve invocations and are stopped at the end, whatever happens.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack

from plugyard_core.rpc import RpcError
from plugyard_schemas.loader import BenchReply, BenchRequest
from plugyard_worker.host import CallTimeout, WorkerCallError, WorkerGone, WorkerHandle

ORDER_SEED = 0xBE7C4
LATENCY_DECIMALS = 3  # a microsecond: finer is noise, and 20,000 latencies must fit in one reply

BenchWorker = Callable[[str], AbstractAsyncContextManager[WorkerHandle]]  # a version → its running worker, stopped on exit


def pair_orders(first: str, second: str, pairs: int, seed: int = ORDER_SEED) -> list[tuple[str, str]]:
    """For each pair, which version is called first."""
    rng = random.Random(seed)
    return [(first, second) if rng.random() < 0.5 else (second, first) for _ in range(pairs)]


async def run_bench(host: str, request: BenchRequest, bench_worker: BenchWorker) -> BenchReply:
    versions = (request.version, request.against)
    latencies: dict[str, list[float]] = {v: [] for v in versions}
    codes: dict[str, dict[str, int]] = {v: {} for v in versions}
    async with AsyncExitStack() as stack:
        workers = {v: await stack.enter_async_context(bench_worker(v)) for v in versions}
        for version, worker in workers.items():
            check_action(request, version, worker)
        for order in pair_orders(*versions, request.calls):
            for version in order:
                elapsed_ms, code = await timed_call(workers[version], request, version)
                if code is None:
                    latencies[version].append(round(elapsed_ms, LATENCY_DECIMALS))
                else:
                    codes[version][code] = codes[version].get(code, 0) + 1
    return BenchReply(
        host=host, name=request.name, version=request.version, against=request.against, action=request.action,
        calls=request.calls, latencies_ms=latencies, errors={v: sum(c.values()) for v, c in codes.items()}, error_codes=codes,
    )


def check_action(request: BenchRequest, version: str, worker: WorkerHandle) -> None:
    actions = sorted(a["name"] for a in worker.actions)
    if request.action not in actions:
        raise RpcError("invalid_request", f"{request.name} {version} has no action {request.action!r} (its actions: {', '.join(actions) or 'none'})")


async def timed_call(worker: WorkerHandle, request: BenchRequest, version: str) -> tuple[float, str | None]:
    """(milliseconds, error code or None), timed around the call as the loader times an invocation."""
    started = time.monotonic()
    code: str | None = None
    try:
        await worker.call(request.action, request.args, request.timeout_s)
    except WorkerCallError as exc:
        code = exc.code
    except CallTimeout:
        code = "timeout"
    except WorkerGone:
        # Every later call would fail at once: a comparison with a dead worker means nothing.
        raise RpcError("refused", f"the bench worker of {request.name} {version} died (exit code {worker.returncode}); the bench stopped") from None
    return (time.monotonic() - started) * 1000, code
