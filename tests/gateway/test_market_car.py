"""`plugyard market car NAME==VERSION --out FILE`, run as a user would against a real nats-server with the stack's
authorization: a stand-in registry answers `info` (as the registry identity), the archive is in the object store. The
CAR it writes is read by @ipld/car and reassembled by ipfs-unixfs-exporter (tests/ipfs_reference, skipped without
Node), and is byte for byte the gateway's CAR of the same CID."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from plugyard_artifacts import car, unixfs
from plugyard_artifacts.cid import cid_of
from plugyard_core.rpc import error_reply
from plugyard_schemas.registry import InfoReply, InfoRequest, VersionInfo
from tests.artifacts.ipfs_reference import pseudo_random
from tests.gateway.reference import read_car

PLUGYARD = str(Path(sys.executable).parent / "plugyard")
MiB = 1024 * 1024
SIZES = {"100 B": 100, "1 MiB": MiB, "3 MiB": 3 * MiB}
NAME = "acme-tools"


def content(size: int) -> bytes:
    return pseudo_random(size, seed=f"market car {size}".encode())


def version_of(size: int, cid: str | None = None) -> VersionInfo:
    data = content(size)
    return VersionInfo(
        version=f"1.0.{size}", status="cleared", cid=cid or cid_of(data), size=len(data), sha256=hashlib.sha256(data).hexdigest(),
        manifest_sha256="0" * 64, publisher="0x" + "11" * 20, signature="0x00", published_at=datetime.now(UTC), summary="tools",
        host=">=1.0", requires=[], dependencies=[], permissions={}, manifest={},
    )


@pytest.fixture(scope="module")
def registry(bus):
    """A stand-in registry answering `info` for NAME's versions (one per size, and one whose store entry is tampered)."""
    versions = [version_of(size) for size in SIZES.values()]
    forged_for = cid_of(pseudo_random(600 * 1024, seed=b"the real one"))
    versions.append(version_of(600 * 1024, cid=forged_for).model_copy(update={"version": "6.6.6"}))
    for size in SIZES.values():
        asyncio.run(bus.put(cid_of(content(size)), content(size)))
    asyncio.run(bus.put(forged_for, pseudo_random(600 * 1024, seed=b"a forgery")))

    loop = asyncio.new_event_loop()
    ready = asyncio.Event()

    async def serve() -> None:
        nc = await bus.connect("registry")

        async def info(message) -> None:
            request = InfoRequest.model_validate_json(message.data)
            if request.name != NAME:
                await message.respond(json.dumps(error_reply("not_found", f"no plugin {request.name}")).encode())
                return
            chosen = [v for v in versions if request.version in (None, v.version)]
            if not chosen:
                await message.respond(json.dumps(error_reply("not_found", f"{NAME} has no version {request.version}")).encode())
                return
            await message.respond(InfoReply(name=NAME, owners=["0x" + "11" * 20], versions=chosen).model_dump_json().encode())

        await nc.subscribe("plugyard.rpc.registry.info", cb=info)
        await nc.flush()
        ready.set()
        await stop.wait()
        await nc.close()

    stop = asyncio.Event()
    thread = threading.Thread(target=lambda: loop.run_until_complete(serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not ready.is_set() and time.monotonic() < deadline:
        time.sleep(0.05)
    yield versions
    loop.call_soon_threadsafe(stop.set)
    thread.join(10)


def market_car(bus, *args: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLUGYARD_")}
    env.update(PLUGYARD_NATS_URL=bus.url, PLUGYARD_DATA_DIR=str(bus.data_dir))
    done = subprocess.run([PLUGYARD, "market", "car", *args], env=env, capture_output=True, text=True, timeout=120)
    return done.returncode, done.stdout, done.stderr


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_the_car_is_the_archives_dag_and_the_reference_reassembles_it(bus, registry, gateway, size, tmp_path):
    data = content(size)
    cid = cid_of(data)
    out = tmp_path / "archive.car"
    code, stdout, stderr = market_car(bus, f"{NAME}==1.0.{size}", "--out", str(out), "--json")
    assert code == 0, stderr
    blocks = list(unixfs.iter_blocks(data))
    written = out.read_bytes()
    assert written == b"".join(car.iter_car([cid], blocks))
    assert json.loads(stdout) == {"name": NAME, "version": f"1.0.{size}", "cid": cid, "status": "cleared", "out": str(out),
                                  "blocks": len(blocks), "archive_bytes": size, "car_bytes": len(written)}
    assert gateway.request(f"/ipfs/{cid}?format=car").body == written  # the same CAR the gateway serves
    read = read_car(out, cid, tmp_path / "file")
    assert read["roots"] == [cid] and read["blocks"] == [c for c, _ in blocks]
    assert read["sha256"] == hashlib.sha256(data).hexdigest() and (tmp_path / "file").read_bytes() == data


def test_the_text_output_names_the_file_and_the_root(bus, registry, tmp_path):
    out = tmp_path / "small.car"
    code, stdout, stderr = market_car(bus, f"{NAME}==1.0.100", "--out", str(out))
    assert code == 0, stderr
    assert f"wrote {out}" in stdout and cid_of(content(100)) in stdout.replace("\n", "")


def test_a_tampered_store_entry_writes_nothing(bus, registry, tmp_path):
    out = tmp_path / "forged.car"
    code, stdout, stderr = market_car(bus, f"{NAME}==6.6.6", "--out", str(out), "--json")
    assert code == 1 and not out.exists()
    assert json.loads(stdout)["error"]["code"] == "refused"
    assert stderr.count("\n") == 1 and "not the content" in stderr and "Traceback" not in stderr


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        ((f"{NAME}==9.9.9",), 1, "has no version 9.9.9"),
        (("nobody==1.0.0",), 1, "no plugin nobody"),
        ((NAME,), 64, "is not NAME==VERSION"),
        (("==1.0",), 64, "is not NAME==VERSION"),
    ],
)
def test_what_cannot_be_written_is_one_line(bus, registry, tmp_path, args, code, words):
    out = tmp_path / "x.car"
    got, _, stderr = market_car(bus, *args, "--out", str(out))
    assert got == code and words in stderr and stderr.count("\n") == 1 and not out.exists()


def test_out_must_be_a_file(bus, registry, tmp_path):
    got, _, stderr = market_car(bus, f"{NAME}==1.0.100", "--out", str(tmp_path))
    assert got == 64 and "is a directory" in stderr


def test_no_stack_is_exit_69(tmp_path):
    env = {"PATH": os.environ["PATH"], "PLUGYARD_NATS_URL": "nats://127.0.0.1:1", "PLUGYARD_DATA_DIR": str(tmp_path)}
    done = subprocess.run([PLUGYARD, "market", "car", f"{NAME}==1.0.0", "--out", str(tmp_path / "x.car")], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 69 and "cannot reach NATS" in done.stderr
