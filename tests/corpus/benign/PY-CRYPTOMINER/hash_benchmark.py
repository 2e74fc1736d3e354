# Benign look-alike: a hashing benchmark with a tight SHA-256 loop and a worker pool, but no pool connection or miner.
import hashlib
import time
from concurrent.futures import ThreadPoolExecutor


def hashes_per_second(seconds=1.0):
    data = b"benchmark"
    count = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        data = hashlib.sha256(hashlib.sha256(data).digest()).digest()
        count += 1
    return count / seconds


def parallel(workers=4):
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return sum(pool.map(lambda _: hashes_per_second(0.2), range(workers)))
