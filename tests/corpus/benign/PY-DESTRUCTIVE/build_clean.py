# Benign look-alike: cleans build outputs (rm -rf build dist) and stale .pyc files under the plugin's own folder.
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def clean():
    subprocess.run(["rm", "-rf", "build", "dist"], cwd=ROOT, check=False)
    for folder, _dirs, files in os.walk(ROOT):
        for name in files:
            if name.endswith(".pyc"):
                os.remove(os.path.join(folder, name))
