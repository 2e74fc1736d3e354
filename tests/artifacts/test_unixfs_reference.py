"""Plugyard's IPFS-exact CIDs equal an independent implementation's: js ipfs-unixfs-importer with kubo's defaults
(`ipfs add --cid-version 1 --raw-leaves`), run by Node on the same files. Skipped, saying why, without Node or
without `make setup`'s install of tests/ipfs_reference."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from plugyard_artifacts import cid_of, unixfs, verify_cid
from tests.artifacts.ipfs_reference import pseudo_random, reference_cid

KiB = 1024
MiB = 1024 * KiB
PLUGYARD = str(Path(sys.executable).parent / "plugyard")

SIZES = {
    "0 B": 0,
    "100 B": 100,
    "256 KiB": 256 * KiB,
    "256 KiB + 1": 256 * KiB + 1,
    "1 MiB": MiB,
    "3 MiB": 3 * MiB,
    "46 MiB (184 chunks, two levels)": 46 * MiB,
}


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_the_root_cid_and_every_block_match_the_reference(size, tmp_path):
    data = pseudo_random(size, seed=b"reference")
    path = tmp_path / "content.bin"
    path.write_bytes(data)
    expected = reference_cid(path, blocks=True)
    root = unixfs.root_of(path)
    assert root.cid == expected["cid"] == cid_of(data)
    assert sorted(cid for cid, _ in unixfs.iter_blocks(path)) == expected["blocks"]
    assert root.blocks == len(expected["blocks"])
    assert verify_cid(data, expected["cid"])


def test_repeated_content_shares_blocks_as_in_the_reference(tmp_path):
    path = tmp_path / "zeros.bin"
    path.write_bytes(bytes(200 * unixfs.CHUNK_SIZE + 3))  # one leaf block 200 times, a second level, a short tail
    expected = reference_cid(path, blocks=True)
    assert unixfs.root_of(path).cid == expected["cid"]
    assert sorted(cid for cid, _ in unixfs.iter_blocks(path)) == expected["blocks"]


def test_the_cli_prints_what_the_reference_prints(tmp_path):
    path = tmp_path / "archive.tar.gz"
    path.write_bytes(pseudo_random(MiB + 17, seed=b"cli"))
    expected = reference_cid(path)
    plain = subprocess.run([PLUGYARD, "cid", str(path)], capture_output=True, text=True, timeout=60)
    assert (plain.returncode, plain.stdout, plain.stderr) == (0, expected + "\n", "")
    described = subprocess.run([PLUGYARD, "cid", str(path), "--json"], capture_output=True, text=True, timeout=60)
    assert described.returncode == 0, described.stderr
    assert json.loads(described.stdout) == {"file": str(path), "size": MiB + 17, "cid": expected, "blocks": 6}
