# Benign look-alike: runs pip to list installed packages (no install from a URL).
import subprocess
import sys


def installed() -> str:
    return subprocess.run([sys.executable, "-m", "pip", "list", "--format=json"], capture_output=True, text=True, check=True).stdout
