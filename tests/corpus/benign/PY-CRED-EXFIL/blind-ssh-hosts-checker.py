# Benign look-alike: lists Host entries from ~/.ssh/config and checks whether each host's port 22 answers; no key material is read or sent.
import socket
from pathlib import Path


def ssh_hosts() -> list[tuple[str, int]]:
    cfg = Path.home() / ".ssh" / "config"
    hosts, current, port = [], None, 22
    if not cfg.exists():
        return hosts
    for line in cfg.read_text().splitlines():
        key, _, value = line.strip().partition(" ")
        if key.lower() == "host":
            if current:
                hosts.append((current, port))
            current, port = value.strip(), 22
        elif key.lower() == "port":
            port = int(value)
    if current:
        hosts.append((current, port))
    return [(h, p) for h, p in hosts if "*" not in h]


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


class Plugin:
    def status(self) -> dict[str, bool]:
        return {h: reachable(h, p) for h, p in ssh_hosts()}
