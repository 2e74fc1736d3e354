"""The scanner killed with SIGKILL while it works: every published version still ends up judged, and judged
once on record (one ScanCompleted per version, scan number 1), because the scan and the consumer position
are saved in one transaction."""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import time
from pathlib import Path

from eth_account import Account

from plugyard_core.rpc import call
from plugyard_core.streams import event_subject, rpc_subject
from plugyard_registry.main import build_service as build_registry
from plugyard_schemas.registry import InfoReply, InfoRequest
from tests.crash.test_crash import Process
from tests.in_process import start_in_process
from tests.registry.support import make_plugin, publish, release_of

VERSIONS = 8


async def statuses(nc, names: list[str]) -> dict[str, str]:
    found = {}
    for name in names:
        reply = await call(nc, rpc_subject("registry", "info"), InfoRequest(name=name), InfoReply)
        found[name] = reply.versions[0].status
    return found


async def test_scanner_killed_mid_scan_judges_every_version_once(nats_server, nc, tmp_path):
    seed = int(os.environ.get("PLUGYARD_CRASH_SEED", time.time_ns() % 1_000_000))
    print(f"crash test seed {seed} (set PLUGYARD_CRASH_SEED to replay)")
    seeded = random.Random(seed)
    data_dir, log = tmp_path / "data", tmp_path / "scanner.log"
    registry = await start_in_process(build_registry(data_dir, nats_server.url))
    env = {**os.environ, "PLUGYARD_NATS_URL": nats_server.url, "PLUGYARD_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}
    scanner = Process("scanner", [sys.executable, "-m", "plugyard_scanner"], env, log)
    alice = Account.create()
    names = [f"crash-kit-{i}" for i in range(VERSIONS)]
    try:
        scanner.start()
        for name in names:
            await publish(nc, release_of(make_plugin(tmp_path, name), tmp_path), alice)
        for _ in range(3):
            await asyncio.sleep(seeded.uniform(0.3, 1.2))
            scanner.kill()
            scanner.start()
        deadline = time.monotonic() + 180
        while set((await statuses(nc, names)).values()) != {"cleared"}:
            assert time.monotonic() < deadline, f"not all judged: {await statuses(nc, names)}\n{log.read_text()[-3000:]}"
            await asyncio.sleep(0.3)
        assert scanner.kills == 3
    finally:
        scanner.stop()
        await registry.close()

    subscription = await nc.jetstream().subscribe(event_subject("scanner", "ScanCompleted"), deliver_policy="all", ordered_consumer=True)
    completed: dict[str, list[int]] = {}
    while sum(len(v) for v in completed.values()) < VERSIONS:
        event = json.loads((await subscription.next_msg(timeout=10)).data)
        completed.setdefault(event["subject"], []).append(event["data"]["scan_no"])
    try:
        extra = await subscription.next_msg(timeout=1)
        raise AssertionError(f"a version was judged twice on record: {extra.data[:200]!r}")
    except asyncio.TimeoutError:
        pass
    assert completed == {f"{name}==1.0.0": [1] for name in names}
