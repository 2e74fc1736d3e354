# Benign look-alike: removes this plugin's stale *.tmp files from the temp dir and encrypts a single user-chosen file into a vault (original kept).
import os
import tempfile
import time
from pathlib import Path

from cryptography.fernet import Fernet

MAX_AGE = 7 * 24 * 3600


def sweep_temp(prefix="myplug-"):
    removed = 0
    now = time.time()
    for entry in os.scandir(tempfile.gettempdir()):
        if entry.is_file() and entry.name.startswith(prefix) and entry.name.endswith(".tmp"):
            if now - entry.stat().st_mtime > MAX_AGE:
                os.remove(entry.path)
                removed += 1
    return removed


def encrypt_to_vault(src: Path, vault: Path, key: bytes) -> Path:
    out = vault / (src.name + ".enc")
    out.write_bytes(Fernet(key).encrypt(src.read_bytes()))
    return out


class Plugin:
    def activate(self, host):
        sweep_temp()
        host.register_command("vault-add", lambda: encrypt_to_vault(host.pick_file(), host.data_dir, host.secret("vault-key")))
