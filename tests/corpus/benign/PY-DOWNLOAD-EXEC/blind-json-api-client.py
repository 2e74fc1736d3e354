# Benign look-alike: an HTTP client that downloads JSON release metadata, json.loads it and caches it on disk.
import json
import time
from pathlib import Path
from urllib.request import Request, urlopen

API = "https://api.example.com/v1/releases/latest"


class ReleaseClient:
    def __init__(self, cache: Path, ttl: int = 3600):
        self.cache = cache
        self.ttl = ttl

    def _download(self) -> bytes:
        req = Request(API, headers={"Accept": "application/json"})
        with urlopen(req, timeout=10) as resp:
            return resp.read()

    def latest(self) -> dict:
        if self.cache.exists() and time.time() - self.cache.stat().st_mtime < self.ttl:
            return json.loads(self.cache.read_text())
        data = json.loads(self._download())
        self.cache.write_text(json.dumps(data))
        return data


class Plugin:
    def __init__(self, cache_dir: Path):
        self.client = ReleaseClient(cache_dir / "release.json")

    def update_available(self, current: str) -> bool:
        return self.client.latest().get("version", current) != current
