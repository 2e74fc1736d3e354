# Benign look-alike: decodes a JWT payload (base64url -> json.loads) and an embedded base64 PNG icon; nothing is executed.
import base64
import json
import zlib
from pathlib import Path

ICON_PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


def _b64url(segment: str) -> bytes:
    padding = "=" * (-len(segment) % 4)
    return base64.urlsafe_b64decode(segment + padding)


def jwt_claims(token: str) -> dict:
    """Return the (unverified) claims of a JWT for display in the UI."""
    _header, payload, _sig = token.split(".")
    return json.loads(_b64url(payload))


def write_icon(target: Path) -> Path:
    target.write_bytes(base64.b64decode(ICON_PNG))
    return target


def load_compressed_settings(blob: bytes) -> dict:
    return json.loads(zlib.decompress(base64.b64decode(blob)).decode("utf-8"))


class Plugin:
    def __init__(self, cache_dir: Path):
        self.icon = write_icon(cache_dir / "icon.png")

    def describe(self, token: str) -> str:
        claims = jwt_claims(token)
        return f"{claims.get('sub', '?')} (expires {claims.get('exp', '?')})"
