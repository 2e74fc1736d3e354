"""The independent checks, run by the system's Node from tests/ipfs_reference (installed by `make setup`): @ipld/car
and ipfs-unixfs-exporter read a CAR (car.mjs), @helia/verified-fetch fetches from a trustless gateway (fetch.mjs).
Tests that need them skip, saying why, without Node or without the installed packages."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

REFERENCE = Path(__file__).resolve().parents[1] / "ipfs_reference"


def node_or_skip(package: str) -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("no `node` on PATH: the IPFS reference implementations (@ipld/car, @helia/verified-fetch) cannot run")
    if not (REFERENCE / "node_modules" / package).is_dir():
        pytest.skip(f"{REFERENCE / 'node_modules' / package} is not installed: run `make setup` (npm ci --prefix tests/ipfs_reference)")
    return node


def read_car(car: Path, root: str, out: Path) -> dict:
    """@ipld/car's reading of `car`: {version, roots, blocks, size, sha256}, the file reassembled into `out`."""
    done = subprocess.run([node_or_skip("@ipld/car"), str(REFERENCE / "car.mjs"), str(car), root, str(out)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"car.mjs refused {car}: {done.stderr}"
    return json.loads(done.stdout)


def refused_car(car: Path, root: str, out: Path) -> str:
    """The reason car.mjs gives for refusing `car` (the test fails if it accepts it)."""
    done = subprocess.run([node_or_skip("@ipld/car"), str(REFERENCE / "car.mjs"), str(car), root, str(out)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0, f"car.mjs accepted {car}: {done.stdout}"
    return done.stderr


def verified_fetch(gateway_url: str, cid: str, timeout_ms: int = 60000) -> dict:
    """@helia/verified-fetch's fetch of `cid` from the gateway alone: {status, size, sha256, contentType}."""
    done = subprocess.run([node_or_skip("@helia/verified-fetch"), str(REFERENCE / "fetch.mjs"), gateway_url, cid, str(timeout_ms)],
                          capture_output=True, text=True, timeout=timeout_ms / 1000 + 60)
    assert done.returncode == 0, f"fetch.mjs failed: {done.stderr}"
    return json.loads(done.stdout)
