# Benign look-alike: daemonizes a worker by pointing stdio at /dev/null with os.dup2 before running it.
import os
import subprocess


def daemonize(command: list[str]) -> None:
    if os.fork():
        return
    os.setsid()
    with open(os.devnull, "rb+") as devnull:
        for fd in (0, 1, 2):
            os.dup2(devnull.fileno(), fd)
    subprocess.run(command)
    os._exit(0)
