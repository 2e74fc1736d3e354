# Benign look-alike: a security plugin that warns when known cryptominer processes or pool connections are seen on the machine.
import psutil

MINER_NAMES = {"xmrig", "xmr-stak", "cpuminer", "ethminer", "nbminer", "t-rex"}
POOL_HINTS = ("stratum+tcp://", "stratum+ssl://", "--donate-level")


def suspicious_processes():
    hits = []
    for proc in psutil.process_iter(["pid", "name", "cmdline"]):
        name = (proc.info.get("name") or "").lower()
        cmd = " ".join(proc.info.get("cmdline") or [])
        if name in MINER_NAMES or any(h in cmd for h in POOL_HINTS):
            hits.append((proc.info["pid"], name, cmd[:200]))
    return hits


class Plugin:
    def activate(self, host):
        for pid, name, cmd in suspicious_processes():
            host.notify(f"Possible cryptominer running: {name} (pid {pid})")
