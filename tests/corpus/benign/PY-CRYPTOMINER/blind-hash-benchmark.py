# Benign look-alike: a benchmark that measures sha256/blake2 hashes per second on all CPU cores and reads GPU temperature with nvidia-smi.
import hashlib
import multiprocessing
import os
import subprocess
import time


def _worker(seconds: float) -> int:
    count, nonce = 0, 0
    deadline = time.perf_counter() + seconds
    header = os.urandom(76)
    while time.perf_counter() < deadline:
        hashlib.sha256(hashlib.sha256(header + nonce.to_bytes(4, "little")).digest()).digest()
        nonce = (nonce + 1) & 0xFFFFFFFF
        count += 1
    return count


def gpu_temperature() -> str:
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=temperature.gpu", "--format=csv,noheader"], capture_output=True, text=True, timeout=5
        )
        return out.stdout.strip() or "n/a"
    except OSError:
        return "n/a"


class Plugin:
    def run(self, seconds: float = 3.0) -> dict:
        with multiprocessing.Pool() as pool:
            counts = pool.map(_worker, [seconds] * (os.cpu_count() or 1))
        return {"hashes_per_second": sum(counts) / seconds, "gpu_temp": gpu_temperature()}
