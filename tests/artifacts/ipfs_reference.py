"""The independent implementation the IPFS-exact CIDs are checked against: js ipfs-unixfs-importer (pinned in
tests/ipfs_reference, installed by `make setup` when npm exists), run by the system's Node. Tests that need it skip,
saying why, when Node or the installed packages are absent. Also: deterministic test content of any size."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

REFERENCE = Path(__file__).resolve().parents[1] / "ipfs_reference"
SCRIPT = REFERENCE / "cid.mjs"


def node_or_skip() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("no `node` on PATH: the IPFS reference (js ipfs-unixfs-importer) cannot run")
    if not (REFERENCE / "node_modules" / "ipfs-unixfs-importer").is_dir():
        pytest.skip(f"{REFERENCE / 'node_modules'} is not installed: run `make setup` (npm ci --prefix tests/ipfs_reference)")
    return node


def reference_cid(path: Path, *, blocks: bool = False) -> str | dict:
    """The root CID js ipfs-unixfs-importer gives (kubo's defaults); with `blocks`, also every distinct block's CID."""
    command = [node_or_skip(), str(SCRIPT), str(path)] + (["--blocks"] if blocks else [])
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if blocks else done.stdout.strip()


def pseudo_random(size: int, seed: bytes = b"plugyard") -> bytes:
    """`size` deterministic, incompressible bytes (SHAKE-256 of the seed), made at hundreds of MB/s."""
    return hashlib.shake_256(seed).digest(size) if size else b""
