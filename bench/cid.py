"""IPFS-exact CIDs (issue 12): throughput of the UnixFS DAG root (`plugyard_artifacts.unixfs`, what
`ipfs add --cid-version 1 --raw-leaves` prints) beside plain `hashlib.sha256` of the same bytes, in the same run.

sha256 of the whole content is the limit: the DAG hashes every byte once (each 256 KiB leaf) plus its dag-pb
nodes (about 40 bytes a leaf), so its rate can only approach sha256's. Measured on a file (read 1 MiB at a time,
from the page cache: the file is read once before timing) and on bytes in memory (what `verify_cid` does to an
archive downloaded from the object store), each `--runs` times, the DAG and sha256 interleaved so that the machine's
load weighs on both alike; the median run is reported. Also: the blocks in CAR order (`iter_blocks`, two passes).

usage: .venv/bin/python bench/cid.py [FILE] [--size-mib N] [--runs N] [--tiny] [--json]
       (without FILE, a file of --size-mib MiB of pseudo-random bytes is made in a temporary directory)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from plugyard_artifacts import unixfs

DEFAULT_SIZE_MIB = 256
DEFAULT_RUNS = 7
TINY = {"size_mib": 4, "runs": 3}


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    buffer = bytearray(unixfs.READ_SIZE)
    view = memoryview(buffer)
    with open(path, "rb") as handle:
        while count := handle.readinto(buffer):
            digest.update(view[:count])
    return digest.hexdigest()


def make_file(directory: Path, size: int) -> Path:
    path = directory / "content.bin"
    with path.open("wb") as out:
        for index in range(0, size, 1 << 20):
            out.write(hashlib.shake_256(index.to_bytes(8, "big")).digest(min(1 << 20, size - index)))
    return path


def timed(function: Callable[[], object]) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def measure(path: Path, runs: int) -> dict:
    size = path.stat().st_size
    data = path.read_bytes()  # also warms the page cache for the file runs
    cases: dict[str, Callable[[], object]] = {
        "cid_file": lambda: unixfs.root_of(path),
        "sha256_file": lambda: sha256_file(path),
        "cid_bytes": lambda: unixfs.root_of(data),
        "sha256_bytes": lambda: hashlib.sha256(data).digest(),
        "blocks_file": lambda: sum(len(block) for _, block in unixfs.iter_blocks(path)),
    }
    seconds: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(runs):
        for name, case in cases.items():
            seconds[name].append(timed(case))
    mb_s = {name: size / 1e6 / statistics.median(times) for name, times in seconds.items()}
    root = unixfs.root_of(path)
    return {
        "file": str(path),
        "size": size,
        "cid": root.cid,
        "blocks": root.blocks,
        "runs": runs,
        "mb_s": {name: round(rate, 1) for name, rate in mb_s.items()},
        "ratio_file": round(mb_s["cid_file"] / mb_s["sha256_file"], 3),
        "ratio_bytes": round(mb_s["cid_bytes"] / mb_s["sha256_bytes"], 3),
        "ratio_blocks": round(mb_s["blocks_file"] / mb_s["sha256_file"], 3),
        "machine": {
            "cpus": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(),
            "openssl": __import__("ssl").OPENSSL_VERSION,
        },
    }


def report(result: dict) -> str:
    rates = result["mb_s"]
    return "\n".join([
        f"{result['file']}: {result['size']:,} bytes, {result['blocks']} blocks, {result['cid']}",
        f"median of {result['runs']} runs, MB/s (1 MB = 10^6 bytes):",
        f"  file   IPFS CID {rates['cid_file']:>8.1f}   sha256 {rates['sha256_file']:>8.1f}   ratio {result['ratio_file']:.3f}",
        f"  bytes  IPFS CID {rates['cid_bytes']:>8.1f}   sha256 {rates['sha256_bytes']:>8.1f}   ratio {result['ratio_bytes']:.3f}",
        f"  file   blocks in CAR order {rates['blocks_file']:>8.1f}   ratio to sha256 {result['ratio_blocks']:.3f}",
        f"machine: {result['machine']['cpus']} CPUs, Python {result['machine']['python']}, {result['machine']['openssl']}",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", nargs="?", type=Path, help="a file to measure (default: pseudo-random bytes)")
    parser.add_argument("--size-mib", type=int, default=None, help=f"size of the generated file (default {DEFAULT_SIZE_MIB})")
    parser.add_argument("--runs", type=int, default=None, help=f"runs of each measure (default {DEFAULT_RUNS})")
    parser.add_argument("--tiny", action="store_true", help="small defaults, for the test: " + ", ".join(f"{k} {v}" for k, v in TINY.items()))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    defaults = TINY if args.tiny else {"size_mib": DEFAULT_SIZE_MIB, "runs": DEFAULT_RUNS}
    size_mib = args.size_mib if args.size_mib is not None else defaults["size_mib"]
    runs = args.runs if args.runs is not None else defaults["runs"]
    if runs < 1 or size_mib < 1:
        parser.error("--runs and --size-mib must be at least 1")
    if args.file is not None:
        if not args.file.is_file():
            parser.error(f"{args.file}: not a file")
        result = measure(args.file, runs)
    else:
        with tempfile.TemporaryDirectory(prefix="plugyard-bench-cid-") as scratch:
            result = measure(make_file(Path(scratch), size_mib << 20), runs)
    sys.stdout.write((json.dumps(result) if args.json else report(result)) + "\n")


if __name__ == "__main__":
    main()
