# Benign look-alike: a security plugin that knows miner names only to find and stop them.
import subprocess

KNOWN_MINERS = ("xmrig", "cpuminer", "ethminer", "nbminer", "t-rex", "lolminer")


def running_miners():
    out = subprocess.run(["ps", "-eo", "pid,comm"], capture_output=True, text=True, check=False).stdout
    found = []
    for line in out.splitlines()[1:]:
        pid, _, name = line.strip().partition(" ")
        if name.strip().lower() in KNOWN_MINERS:
            found.append((int(pid), name.strip()))
    return found


def stop(name):
    subprocess.run(["pkill", "-f", name], check=False)
