# Benign look-alike: an auto-updater that downloads a release manifest and archive, verifies the SHA-256, and stores it for the host to install.
import hashlib
import json
from pathlib import Path

import requests

MANIFEST_URL = "https://releases.example.com/my-plugin/latest.json"


def fetch_manifest() -> dict:
    resp = requests.get(MANIFEST_URL, timeout=10)
    resp.raise_for_status()
    return json.loads(resp.text)


def download_release(cache_dir: Path) -> Path:
    manifest = fetch_manifest()
    resp = requests.get(manifest["url"], timeout=60)
    resp.raise_for_status()
    digest = hashlib.sha256(resp.content).hexdigest()
    if digest != manifest["sha256"]:
        raise RuntimeError("checksum mismatch, refusing update")
    target = cache_dir / f"my-plugin-{manifest['version']}.zip"
    target.write_bytes(resp.content)
    return target


class Plugin:
    def activate(self, host):
        host.register_command("check-update", lambda: download_release(host.cache_dir))
