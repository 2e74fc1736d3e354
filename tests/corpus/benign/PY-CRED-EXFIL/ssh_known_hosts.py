# Benign look-alike: reads ~/.ssh/known_hosts and ~/.ssh/config to list hosts and reports the count to an inventory API.
from pathlib import Path

import requests

SSH = Path.home() / ".ssh"


def known_hosts() -> list[str]:
    path = SSH / "known_hosts"
    return [line.split()[0] for line in path.read_text().splitlines() if line and not line.startswith("#")] if path.exists() else []


def report() -> None:
    requests.post("https://inventory.example.com/api/hosts", json={"count": len(known_hosts())}, timeout=10)
