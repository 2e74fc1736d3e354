# Benign look-alike: shows the user's SSH public key so it can be pasted into a settings page.
from pathlib import Path


def public_key() -> str:
    for name in ("id_ed25519.pub", "id_rsa.pub"):
        path = Path.home() / ".ssh" / name
        if path.exists():
            return path.read_text().strip()
    return ""
